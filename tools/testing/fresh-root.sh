#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fresh-root.sh: what `make check-fresh` and .ci/run do. Proves the README
# on a machine nobody prepared: builds a minimal Debian 12 root from
# scratch (debootstrap --variant=minbase bookworm, from the package
# mirror this machine's apt is configured with; RELEASE=trixie: Debian
# 13, the run made once per release), and inside it, as a new user would
# on a fresh machine:
#
#   1. the README's one apt-get line (the line of README.md that starts
#      with "apt-get update && apt-get install"),
#   2. git clone of this repository's HEAD (committed work only),
#   3. make run  (passes only if QEMU's Linux guest inside the machine
#      finished its script: its "@@G done" line and no failed check),
#   4. make check.
#
# Everything runs in a private mount namespace (unshare -m), so nothing
# stays mounted when this ends, however it ends. The last line of the
# output is make check's total with make run added as one more test
# ("N passed, N failed[, N skipped]"); the exit status is 0 iff both
# passed. A failure before make check (debootstrap, apt-get, clone) is
# one failure.
#
# Needs root (debootstrap, chroot, mounts) and debootstrap (installed
# with apt-get when missing). Environment:
#   FRESH_DIR    where the root is built (default build/fresh/root; it is
#                deleted first, and again at the end unless FRESH_KEEP=1)
#   FRESH_KEEP=1 keep the root afterwards (logs and all: chroot into it)
#   FRESH_TARGETS  make targets to run inside, in order (default "run check")
#   RELEASE      bookworm (default) or trixie: the Debian release of the root
#   MACHINES, TESTS, TEST_TIMEOUT, CONFORMANCE, ...  passed on to make
# Logs: build/fresh/*.log, and the root's build/ tree copied to
# build/fresh/build/ at the end.
set -uo pipefail
# The whole script is one block, so bash reads it all before running it:
# editing it while a run is under way cannot derail that run.
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/build/fresh
root=${FRESH_DIR:-$out/root}
targets=${FRESH_TARGETS:-run check}
release=${RELEASE:-bookworm}
case "$release" in
bookworm | trixie) ;;
*) echo "ckvm: RELEASE=$release: bookworm (Debian 12, the default) or trixie (Debian 13)" >&2
   exit 2 ;;
esac
t0=$(date +%s)

say() { echo "== fresh root: $*"; }
# die MESSAGE: a setup step failed; that is one failure.
die() {
	echo "FAIL: fresh root: $*"
	echo "0 passed, 1 failed"
	exit 1
}
elapsed() { echo "$(($(date +%s) - $1))s"; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts)"
command -v git >/dev/null || die "git is missing on this machine (apt-get install git)"
commit=$(git -C "$repo" rev-parse HEAD) || die "$repo is not a git checkout"
# The object store, also for a worktree (whose .git is only a pointer).
gitdir=$(cd "$repo" && cd "$(git rev-parse --git-common-dir)" && pwd) ||
	die "cannot find the git directory of $repo"
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
	echo "ckvm: note: uncommitted changes are not tested; the root gets HEAD ($commit)"
fi
readme_line=$(grep -m1 '^ *apt-get update && apt-get install' "$repo/README.md" | sed 's/^ *//')
[ -n "$readme_line" ] ||
	die "README.md has no line starting with 'apt-get update && apt-get install'"

if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap on this machine"
	{ apt-get update && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends debootstrap; } >"$out.debootstrap-install.log" 2>&1 ||
		die "apt-get install debootstrap failed ($out.debootstrap-install.log)"
fi

# The mirror: the repositories this machine's apt uses for bookworm, read
# from its own configuration, never a host name of ours (debroot.sh), for
# RELEASE.
mkdir -p "$out"
# shellcheck source=debroot.sh
. "$here/debroot.sh"
debroot_repos "$release" "$out/repos" 2>"$out.repos.err" || die "$(cat "$out.repos.err")"

# One fresh root per tree at a time: they share build/fresh.
exec 8>"$out.lock"
if ! flock -n 8; then
	say "waiting for another fresh-root run in this tree ($out.lock)"
	flock 8
fi

# A root left by an earlier run: its mounts lived in a namespace that is
# gone, so removing it cannot reach outside it; --one-file-system anyway.
rm -rf "$out/build" "$out"/*.log

# The root's apt: the same repositories and the same network settings
# (proxy, validity checks of a snapshot mirror) as this machine's.
say "debootstrap --variant=minbase $release $root $DEBROOT_MIRROR"
t=$(date +%s)
debroot_bootstrap "$root" "$release" "$out/repos" "$out/debootstrap.log" 2>"$out.repos.err" ||
	die "$(cat "$out.repos.err")"
say "root built in $(elapsed "$t")"

# What runs inside, as root of the new machine.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	echo "#!/bin/bash"
	echo "set -uo pipefail"
	echo "export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root"
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for v in MACHINES TESTS QEMU_TESTS KVER TEST_TIMEOUT CONFORMANCE MAX_BOOTS MACHINE_TIMEOUT STALL_GRACE \
		 SKIP_HOST DEB_TESTS; do
		[ -n "${!v:-}" ] && echo "export $v=$(q "${!v}")"
	done
	echo "targets=$(q "$targets")"
	echo "README_LINE=$(q "$readme_line")"
	echo "commit=$commit"
	cat <<'EOF'
ok=0 fail=0 skip=0 checked=0
echo "== fresh root: the README's line: $README_LINE"
if ! bash -c "$README_LINE" >/ckvm-out/readme-apt.log 2>&1; then
	echo "FAIL: fresh root: the README's apt-get line failed:"
	tail -n 20 /ckvm-out/readme-apt.log | sed 's/^/    | /'
	echo "0 passed, 1 failed"
	exit 1
fi
cd /root || exit 1
if ! git clone -q /ckvm-src ckvm || ! git -C ckvm checkout -q "$commit"; then
	echo "FAIL: fresh root: git clone of $commit failed"
	echo "0 passed, 1 failed"
	exit 1
fi
cd ckvm || exit 1
rc_all=0
for target in $targets; do
	t=$(date +%s)
	echo "== fresh root: make $target"
	case $target in
	run)
		make run </dev/null 2>&1 | tee /ckvm-out/make-run.log
		rc=${PIPESTATUS[0]}
		if [ "$rc" -eq 0 ] && grep -aq '^@@G done' /ckvm-out/make-run.log &&
		   ! grep -aq '^not ok' /ckvm-out/make-run.log; then
			ok=$((ok + 1))
		else
			echo "FAIL: fresh root: make run exited $rc, or QEMU's guest did not finish its script"
			fail=$((fail + 1)) rc_all=1
		fi ;;
	check)
		checked=1
		make check </dev/null 2>&1 | tee /ckvm-out/make-check.log |
			grep --line-buffered -v '^make\(\[[0-9]*\]\)\{0,1\}: \*\*\* \[[^]]*\] Error [0-9]*$'
		rc=${PIPESTATUS[0]}
		last=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' /ckvm-out/make-check.log | tail -n 1)
		if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
			ok=$((ok + BASH_REMATCH[1])) fail=$((fail + BASH_REMATCH[2]))
			skip=$((skip + ${BASH_REMATCH[4]:-0}))
		else
			echo "FAIL: fresh root: make check printed no total"
			fail=$((fail + 1))
		fi
		if [ "$rc" -ne 0 ]; then
			rc_all=1
			[[ $last =~ \ 0\ failed ]] && { echo "FAIL: fresh root: make check exited $rc"; fail=$((fail + 1)); }
		fi ;;
	*)
		make "$target" </dev/null 2>&1 | tee "/ckvm-out/make-$target.log"
		if [ "${PIPESTATUS[0]}" -eq 0 ]; then ok=$((ok + 1)); else
			echo "FAIL: fresh root: make $target"
			fail=$((fail + 1)) rc_all=1
		fi ;;
	esac
	echo "== fresh root: make $target took $(($(date +%s) - t))s"
done
cp -a build /ckvm-out/build 2>/dev/null
if [ $skip -gt 0 ]; then
	echo "$ok passed, $fail failed, $skip skipped"
else
	echo "$ok passed, $fail failed"
fi
exit $rc_all
EOF
} >"$root/ckvm-fresh.sh"
chmod 755 "$root/ckvm-fresh.sh"
mkdir -p "$root/ckvm-src" "$root/ckvm-out"

# Private mount namespace: the mounts below vanish with it. The git
# directory is bind-mounted read-only for git clone; outputs come back through
# /ckvm-out (bind-mounted build/fresh).
say "entering the root (private mount namespace)"
unshare --mount --propagation private -- /bin/bash -c '
	set -e
	root=$1 gitdir=$2 out=$3
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs tmpfs "$root/tmp"
	mount --bind "$gitdir" "$root/ckvm-src"
	mount -o remount,bind,ro "$root/ckvm-src"
	mount --bind "$out" "$root/ckvm-out"
	exec /usr/sbin/chroot "$root" /usr/bin/env -i TERM=dumb /ckvm-fresh.sh
' fresh-root "$root" "$gitdir" "$out" </dev/null | tee "$out/fresh.log"
rc=${PIPESTATUS[0]}

last=$(tail -n 1 "$out/fresh.log")
if [ "${FRESH_KEEP:-0}" != 1 ]; then
	rm -rf --one-file-system "$root"
fi
echo "== fresh root: everything took $(elapsed "$t0"); logs in $out/"
# The total stays the last line.
if [[ $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed(,\ [0-9]+\ skipped)?$ ]]; then
	echo "$last"
else
	echo "FAIL: fresh root: the run inside ended without a total (exit $rc)"
	echo "0 passed, 1 failed"
	[ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
}
