# SPDX-License-Identifier: GPL-2.0
#
# Shared by tools/testing/conformance/{run,check}.sh and tools/bench/run.sh:
# build an initramfs around vm-init and a plan, boot it, watch it, and
# restart it past a step that hung or killed the machine.
#
#   conf_init                       set CONF_* defaults (kernel, modules)
#                                   CONF_VENDOR: svm (QEMU, the default)
#                                   or vmx (Bochs); set it after conf_init
#   conf_mkinitramfs OUT PLAN [SRC:DEST]...  (SRC a file, or a directory
#                                        whose contents go to DEST)
#   conf_run_plan INITRD NSTEPS LOGDIR   -> LOGDIR/results (one line a step)
#
# A plan line is "MODULE NAME COMMAND..." (see vm-init). conf_run_plan
# writes LOGDIR/results, one line per step in plan order:
#   INDEX MODULE NAME STATUS RC SECS
# STATUS: pass (rc 0), skip (rc 4, KSFT_SKIP), fail, timeout (killed after
# the per-step limit), killed (SIGKILL before the limit: the OOM killer), hang (machine stopped responding: restarted),
# crash (machine died: restarted), notloaded (module set failed to load).
# The raw serial logs of every boot stay in LOGDIR.

CONF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF_REPO=$(cd "$CONF_DIR/../../.." && pwd)

# conf_series: the kernel series whose selftests to build and list to
# use: KVER's of a kernel root (kver.sh --series: 6.12), else this
# machine's linux-source (6.1 on Debian 12, 6.12 on Debian 13).
conf_series() {
	local s t
	s=$("$CONF_REPO/tools/testing/vm/kver.sh" --series 2>/dev/null || true)
	if [ -z "$s" ]; then
		t=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
		[ -n "$t" ] || t=$(ls /usr/src/linux-source-*.tar.* 2>/dev/null | sort -V | tail -n 1)
		s=6.1
		[ -n "$t" ] && s=$(basename "$t" | sed 's/^linux-source-//; s/\.tar\..*//')
	fi
	echo "$s"
}

# conf_list: the expected-pass list of conf_series (expected-pass for 6.1,
# else expected-pass-SERIES).
conf_list() {
	local s
	s=$(conf_series)
	if [ "$s" = 6.1 ]; then echo "$CONF_DIR/expected-pass"; else echo "$CONF_DIR/expected-pass-$s"; fi
}

conf_init() {
	local kv=$CONF_REPO/tools/testing/vm/kver.sh
	# KVER (kver.sh): this machine's kernel, or a Debian series of a
	# kernel root (6.12): its kernel, its kvm modules, a ckvm.ko built
	# for it there, and the selftests of its linux-source (build.sh).
	CONF_SERIES=$("$kv" --series) || return 1
	if [ -n "$CONF_SERIES" ]; then
		"$CONF_REPO/tools/testing/vm/kroot.sh" "$CONF_SERIES" >/dev/null || return 1
		export CONF_SERIES
	fi
	CONF_KVER=$("$kv" 2>/dev/null || true)
	[ -n "$CONF_KVER" ] || CONF_KVER=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n1 | sed 's|/boot/vmlinuz-||')
	CONF_KERNEL=${GUEST_KERNEL:-${CKVM_KERNEL:-$("$kv" --kernel 2>/dev/null || echo "/boot/vmlinuz-$CONF_KVER")}}
	CONF_MODDIR=$("$kv" --moddir 2>/dev/null || echo "/lib/modules/$CONF_KVER")
	if [ -z "${CKVM_KO:-}" ] && [ -n "$CONF_SERIES" ]; then
		CKVM_KO=$("$CONF_REPO/tools/testing/vm/kroot.sh" "$CONF_SERIES" --module) || return 1
	fi
	CONF_CKVM_KO=${CKVM_KO:-$CONF_REPO/ckvm.ko}
	CONF_TEST_TIMEOUT=${TEST_TIMEOUT:-120}
	CONF_CPUFLAGS=${CPUFLAGS:-}
	CONF_VENDOR=svm
	# The SVM emulator: Debian 13's QEMU 10 when it can be had (built once
	# by qemu-trixie.sh, as root), because Debian 12's QEMU 7.2 drops the
	# guest's STI shadow on VMRUN, and a guest idling with sti; hlt then
	# halts for good now and then, on kvm_amd as on ckvm (xapic_ipi_test
	# did; Documentation/testing.rst, "Interrupt shadows").
	# CONF_QEMU=system keeps QEMU 7.2; any other value is the binary.
	case ${CONF_QEMU:-} in
	system) CONF_QEMU=qemu-system-x86_64 ;;
	"") CONF_QEMU=$("$CONF_REPO/tools/testing/vm/qemu-trixie.sh" --print 2>/dev/null) ||
		CONF_QEMU=qemu-system-x86_64 ;;
	esac
	[ -r "$CONF_KERNEL" ] || { echo "conformance: guest kernel $CONF_KERNEL missing" >&2; return 1; }
}

conf_mkinitramfs() {
	local out=$1 plan=$2 stage bb m f a
	shift 2
	"$CONF_REPO/tools/testing/vm/deps.sh" --need file cpio busybox || return 1
	stage=$(mktemp -d "${TMPDIR:-/tmp}/ckvm-conf.XXXXXX")
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,modules,tests}
	bb=/bin/busybox
	file -b "$bb" 2>/dev/null | grep -q static || bb=/usr/bin/busybox
	cp "$bb" "$stage/bin/busybox"
	cp "$CONF_DIR/vm-init" "$stage/init"
	chmod 755 "$stage/init"
	cp "$plan" "$stage/plan"
	echo "T=$CONF_TEST_TIMEOUT" >"$stage/conf"
	for m in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm \
		 arch/x86/kvm/kvm-amd arch/x86/kvm/kvm-intel; do
		for f in "$CONF_MODDIR/kernel/$m.ko" "$CONF_MODDIR/kernel/$m.ko.xz" "$CONF_MODDIR/kernel/$m.ko.zst"; do
			[ -f "$f" ] || continue
			case $f in
			*.xz) xz -dc "$f" >"$stage/modules/${m##*/}.ko" ;;
			*.zst) zstd -qdc "$f" >"$stage/modules/${m##*/}.ko" ;;
			*) cp "$f" "$stage/modules/${m##*/}.ko" ;;
			esac
			break
		done
	done
	[ -f "$CONF_CKVM_KO" ] && cp "$CONF_CKVM_KO" "$stage/modules/ckvm.ko"
	for a in "$@"; do
		if [ -d "${a%%:*}" ]; then
			# A directory: its contents merged in at DEST.
			mkdir -p "$stage${a#*:}"
			cp -a "${a%%:*}/." "$stage${a#*:}"
			continue
		fi
		mkdir -p "$stage$(dirname "${a#*:}")"
		cp "${a%%:*}" "$stage${a#*:}"
	done
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$out"
	rm -rf "$stage"
}

# conf_boot INITRD CONSOLE RESULTS START HARD_TIMEOUT: boot in the
# background (own process group), echo its pid.
conf_boot() {
	local initrd=$1 console=$2 results=$3 start=$4 tmo=$5
	local boot=$CONF_REPO/tools/testing/vm/boot-qemu.sh
	if [ "$CONF_VENDOR" = vmx ]; then
		BOCHS_MEM=${BOCHS_MEM:-2048} KCMDLINE_EXTRA="ckvm_start=$start" setsid \
			"$CONF_REPO/tools/testing/vm/boot-bochs.sh" "$CONF_KERNEL" \
			"$initrd" "$console" "$results" "$tmo" </dev/null >/dev/null 2>&1 &
	elif [ -x "$boot" ]; then
		QEMU=$CONF_QEMU KCMDLINE_EXTRA="ckvm_start=$start" setsid "$boot" "$CONF_KERNEL" "$initrd" \
			"$console" "$results" "$tmo" "$CONF_CPUFLAGS" </dev/null >/dev/null 2>&1 &
	else
		: >"$results"
		setsid timeout -k 10 "$tmo" qemu-system-x86_64 -accel tcg,thread=single \
			-cpu "max$CONF_CPUFLAGS" -smp 2 -m 2048 -nic none -display none \
			-vga none -monitor none -no-reboot -nodefaults -no-user-config \
			-kernel "$CONF_KERNEL" -initrd "$initrd" \
			-append "console=ttyS0 tsc=reliable panic=-1 oops=panic quiet ckvm_start=$start" \
			-serial "file:$console" -serial "file:$results" </dev/null >/dev/null 2>&1 &
	fi
	echo $!
}

# Kill everything in the session that conf_boot started (boot-qemu.sh,
# timeout, qemu: timeout runs qemu in its own process group).
conf_kill_session() {
	local sid=$1 p
	for sig in TERM KILL; do
		for p in $(ps -eo pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }'); do
			kill -$sig "$p" 2>/dev/null
		done
		[ $sig = TERM ] && sleep 3
	done
}

conf_status() { # rc secs -> status
	case $1 in
	0) echo pass ;;
	4) echo skip ;;
	124 | 137)
		# SIGKILL before the limit: something else killed it (the OOM killer).
		if awk -v s="$2" -v t="$CONF_TEST_TIMEOUT" 'BEGIN { exit !(s >= t - 1) }'; then
			echo timeout
		else
			echo killed
		fi ;;
	*) echo fail ;;
	esac
}

# conf_run_plan INITRD PLAN LOGDIR
conf_run_plan() {
	local initrd=$1 plan=$2 logdir=$3
	local n start boot pid res con t0 cur_b cur_b_since killed line idx
	local boot_grace=${BOOT_GRACE:-240} step_grace=${STEP_GRACE:-60}
	# A Bochs boot takes 2-3 minutes more than a QEMU one.
	[ "$CONF_VENDOR" = vmx ] && boot_grace=$((boot_grace + 300))
	local hard=$(( ${HARD_TIMEOUT:-36000} ))
	n=$(grep -c . "$plan")
	mkdir -p "$logdir"
	: >"$logdir/steps"
	start=0 boot=0
	while [ "$start" -lt "$n" ]; do
		boot=$((boot + 1))
		res=$logdir/results.$boot con=$logdir/console.$boot
		echo "conformance: boot $boot, from step $start of $n" >&2
		pid=$(conf_boot "$initrd" "$con" "$res" "$start" "$hard")
		t0=$(date +%s) cur_b="" cur_b_since=0 killed=""
		while kill -0 "$pid" 2>/dev/null; do
			sleep 2
			local now b e
			now=$(date +%s)
			b=$(grep -a '^@@B ' "$res" 2>/dev/null | tail -n1 | cut -d' ' -f2)
			e=$(grep -a '^@@E ' "$res" 2>/dev/null | tail -n1 | cut -d' ' -f2)
			if [ -n "$b" ] && [ "$b" != "$e" ]; then
				[ "$b" != "$cur_b" ] && { cur_b=$b; cur_b_since=$now; }
				if [ $((now - cur_b_since)) -gt $((CONF_TEST_TIMEOUT + step_grace)) ]; then
					killed=hang
				fi
			elif [ -n "$b" ]; then
				# Between steps (module load/unload): allow the boot grace.
				[ "$cur_b" != "done$e" ] && { cur_b=done$e; cur_b_since=$now; }
				[ $((now - cur_b_since)) -gt "$boot_grace" ] && killed=hang
			elif [ $((now - t0)) -gt "$boot_grace" ]; then
				killed=hang
			fi
			if [ -n "$killed" ]; then
				echo "conformance: machine stopped responding, restarting" >&2
				conf_kill_session "$pid"
				break
			fi
		done
		wait "$pid" 2>/dev/null
		# Collect finished steps.
		grep -a '^@@E ' "$res" | while read -r _ idx mod name rc secs; do
			rc=${rc#rc=} secs=${secs#secs=}
			echo "$idx $mod $name $(conf_status "$rc" "$secs") $rc $secs"
		done >>"$logdir/steps"
		# Steps skipped because their module set did not load.
		local lmod lidx
		while read -r _ lmod lidx; do
			if grep -aq "^@@LOAD $lmod rc=[1-9]" "$res"; then
				awk -v m="$lmod" -v s="$lidx" 'NR-1 >= s && $1 == m { print NR-1, $1, $2, "notloaded", "-", 0; next } NR-1 >= s && $1 != m { exit }' "$plan" >>"$logdir/steps"
			fi
		done < <(grep -a '^@@L ' "$res")
		if grep -aq '^@@DONE' "$res"; then
			break
		fi
		# The machine died or hung: blame the step in progress, or (no step
		# in progress) the module load/unload, and go on after it.
		local last_b last_e last_l next
		last_b=$(grep -a '^@@B ' "$res" | tail -n1 | cut -d' ' -f2)
		last_e=$(grep -a '^@@E ' "$res" | tail -n1 | cut -d' ' -f2)
		line=$(grep -a '^@@[LB] \|^@@LOAD \|^@@E ' "$res" | tail -n1)
		case $line in
		"@@B "*)
			local why=${killed:-crash}
			set -- $line
			echo "$2 $3 $4 $why - $(( $(date +%s) - cur_b_since ))" >>"$logdir/steps"
			next=$(($2 + 1)) ;;
		"@@L "*)
			set -- $line
			awk -v m="$2" -v s="$3" 'NR-1 >= s && $1 == m { print NR-1, $1, $2, "crash", "-", 0; next } NR-1 >= s && $1 != m { exit }' "$plan" >>"$logdir/steps"
			next=$(awk -v m="$2" -v s="$3" 'NR-1 >= s && $1 != m { print NR-1; f=1; exit } END { if (!f) print NR }' "$plan") ;;
		*)
			next=$(sort -n "$logdir/steps" | tail -n1 | cut -d' ' -f1)
			next=$(( ${next:--1} + 1 )) ;;
		esac
		if [ "$next" -le "$start" ]; then
			# No progress at all (did not boot?): give up on this step.
			echo "$start $(sed -n "$((start + 1))p" "$plan" | cut -d' ' -f1-2) ${killed:-crash} - 0" >>"$logdir/steps"
			next=$((start + 1))
		fi
		start=$next
	done
	sort -n -u -k1,1 "$logdir/steps" >"$logdir/results"
}
