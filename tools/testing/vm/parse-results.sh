#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# parse-results.sh RESULTS_LOG
#
# Read the results port log of one machine (see Documentation/testing.rst)
# and print every failure (its name, and for a failed program the tail of
# its output), then, as the last line:
#   COUNTS <passed> <failed> <skipped> <done>
# where <done> is 1 if the machine reached "@@CKVM-DONE". If the log ends
# inside a block (the machine died in it), "OPEN <name>" comes just before.
#
# Counting, per block:
#  - pseudo-tests ("module load", "module unload", "dmesg clean", "run"):
#    one point, rc 0 = pass;
#  - a program that printed kselftest TAP points ("ok N", "not ok N",
#    "ok N ... # SKIP"): those points; plus one extra failure named after
#    the program if it exited non-zero (and not 4, KSFT_SKIP) without
#    printing any "not ok";
#  - a program without TAP points: rc 0 pass, 4 skip, else fail;
#  - a block without an end marker (the machine died in it): one failure.
# TAIL (env, default 25) is how many output lines to show for a failure.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 RESULTS_LOG" >&2; exit 2; }

awk -v TAIL="${TAIL:-25}" '
function reset() { n = 0; tp = 0; tf = 0; ts = 0; plan = 0; tfail_names = "" }
function tail_out(   i, s) {
	s = n - TAIL + 1
	if (s < 1) s = 1
	if (n == 0) { print "    (no output)"; return }
	if (s > 1) print "    ..."
	for (i = s; i <= n; i++) print "    | " out[i]
}
function why(rc) {
	if (rc == 124 || rc == 137) return "timeout (rc=" rc ")"
	if (rc > 128) return "killed by signal " (rc - 128) " (rc=" rc ")"
	return "exit status " rc
}
function finish(name, rc,   pseudo) {
	pseudo = (name == "module load" || name == "module unload" ||
		  name == "dmesg clean" || name == "run")
	if (pseudo || tp + tf + ts == 0) {
		if (rc == 0) pass++
		else if (rc == 4 && !pseudo) skip++
		else {
			fail++
			pl = (plan > 0) ? ", 0 of " plan " planned points reported" : ""
			print "FAIL: " name " (" why(rc) pl ")"
			tail_out()
		}
		return
	}
	pass += tp; skip += ts; fail += tf
	if (tf > 0) printf "%s", tfail_names
	if (rc != 0 && rc != 4 && tf == 0) {
		fail++
		pl = ""
		if (plan > 0 && tp + ts < plan)
			pl = ", " (tp + ts) " of " plan " planned points reported"
		print "FAIL: " name " (" why(rc) ", no \"not ok\" printed" pl ")"
	}
	if (tf > 0 || (rc != 0 && rc != 4)) tail_out()
}
BEGIN { pass = 0; fail = 0; skip = 0; done = 0; inblk = 0; reset() }
{ sub(/\r+$/, "") }
/^@@CKVM-BEGIN / {
	if (inblk) {
		fail++
		print "FAIL: " cur " (no end marker: the machine died or hung while running it)"
		tail_out()
	}
	cur = substr($0, 14); inblk = 1; reset(); next
}
/^@@CKVM-END / {
	line = substr($0, 12)
	p = match(line, / rc=-?[0-9]+$/)
	if (p) { name = substr(line, 1, p - 1); rc = substr(line, p + 4) + 0 }
	else { name = line; rc = 1 }
	if (!inblk) name = name " (end marker without begin)"
	finish(name, rc); inblk = 0; next
}
/^@@CKVM-DONE/ { done = 1; next }
/^@@CKVM-NOTE/ {	# check.sh: a new boot starts here
	if (inblk) {
		fail++
		print "FAIL: " cur " (no end marker: the machine died or hung while running it)"
		tail_out()
		inblk = 0
	}
	next
}
inblk {
	out[++n] = $0
	if (match($0, /^[ \t]*1\.\.[0-9]+/)) { t = $0; sub(/^[ \t]*1\.\./, "", t); plan = t + 0 }
	if (match($0, /^[ \t]*not ok [0-9]+/)) {
		if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) { ts++; next }
		tf++
		t = $0; sub(/^[ \t]*not ok [0-9]+[ \t-]*/, "", t)
		tfail_names = tfail_names "FAIL: " cur ": " t "\n"
	} else if (match($0, /^[ \t]*ok [0-9]+/)) {
		if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) ts++
		else tp++
	}
}
END {
	if (inblk) {
		fail++
		print "FAIL: " cur " (no end marker: the machine died or hung while running it)"
		tail_out()
		print "OPEN " cur
	}
	print "COUNTS " pass " " fail " " skip " " done
}
' "$1"
