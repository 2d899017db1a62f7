#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-payload.sh [-k KVER] [-r ROOT] OUTDIR
#
# What a test machine needs to run Debian's own QEMU inside it (the
# svm-qemu machines, "make run", "make bench"): OUTDIR/tree is merged into
# the machine's initramfs (mkinitramfs.sh -t) and holds
#
#   /qemu/bin/qemu-system-x86_64   this system's QEMU, unmodified
#   /qemu/lib/                     the libraries ldd names for it
#   /lib64/ld-linux-x86-64.so.2    its loader
#   /qemu/share/                   the firmware of the pc and q35 machines
#                                  (SeaBIOS, the option ROMs; QEMU's -L)
#   /qemu/vmlinuz                  the guest kernel: /boot/vmlinuz-KVER
#   /qemu/guest.cpio.gz            the guest's initramfs: busybox,
#                                  qemu-guest-init, the virtio-blk and ext4
#                                  (which mounts the disk's ext2) modules
#                                  of KVER
#   /qemu/boot-test                qemu-boot-test (runs one configuration)
#
# and OUTDIR/tests holds one program per QEMU boot configuration (copies
# of qemu-boot-test named after it; see that script), which check.sh runs
# as the test programs of the QEMU machines.
#
# -r ROOT: the QEMU, its libraries, loader and firmware come from the
# Debian root ROOT instead of this system (the *-q10-qemu machines: Debian
# 13's QEMU 10 from qemu-trixie.sh's root, on a Debian 12 host); the
# libraries are those ROOT's own loader resolves in ROOT.
set -euo pipefail
# The whole script is one block, so bash reads it all before running it.
{

here=$(cd "$(dirname "$0")" && pwd)
kver=""
qroot=""
while getopts "k:r:" o; do
	case $o in
	k) kver=$OPTARG ;;
	r) qroot=$(cd "$OPTARG" && pwd) || exit 1 ;;
	*) echo "usage: $0 [-k KVER] [-r ROOT] OUTDIR" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-k KVER] [-r ROOT] OUTDIR" >&2; exit 2; }
out=$1
if [ -n "$kver" ]; then
	kernel=/boot/vmlinuz-$kver
	moddir=/lib/modules/$kver
else
	# kver.sh's kernel: this machine's, or KVER's from its kernel root.
	kernel=$("$here/kver.sh" --kernel) || exit 1
	moddir=$("$here/kver.sh" --moddir) || exit 1
fi
qemu=$(command -v qemu-system-x86_64 || true)
fw=/usr/share/seabios/bios-256k.bin

"$here/deps.sh" --need qemu-system-x86_64 busybox cpio "$fw" \
	/usr/share/qemu/kvmvapic.bin /usr/share/qemu/linuxboot_dma.bin || exit 1
[ -r "$kernel" ] || { echo "ckvm: $kernel is not installed" >&2; exit 1; }

# rootfile PATH: PATH (absolute, as installed) in ROOT, its symbolic links
# followed inside ROOT (Debian's firmware links are absolute).
rootfile() {
	local f=$qroot$1 t i
	for i in 1 2 3 4 5 6 7 8; do
		[ -L "$f" ] || break
		t=$(readlink "$f")
		case $t in
		/*) f=$qroot$t ;;
		*) f=$(dirname "$f")/$t ;;
		esac
	done
	echo "$f"
}
ldlist() {	# the libraries of $qemu, as "ldd" prints them
	if [ -n "$qroot" ]; then
		"$qroot/usr/lib64/ld-linux-x86-64.so.2" --library-path \
			"$qroot/usr/lib/x86_64-linux-gnu:$qroot/lib/x86_64-linux-gnu" --list "$qemu"
	else
		ldd "$qemu"
	fi
}
if [ -n "$qroot" ]; then
	qemu=$qroot/usr/bin/qemu-system-x86_64
	[ -x "$qemu" ] || { echo "ckvm: no QEMU in $qroot" >&2; exit 1; }
fi

rm -rf "$out/tree" "$out/tests" "$out/guest"
mkdir -p "$out/tree/qemu/bin" "$out/tree/qemu/lib" "$out/tree/qemu/share" \
	"$out/tree/lib64" "$out/tests" "$out/guest"
tree=$out/tree

# QEMU and what its loader needs.
cp "$qemu" "$tree/qemu/bin/qemu-system-x86_64"
ldlist | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	while read -r lib; do
		case "$lib" in
		*/ld-linux-x86-64.so.2)
			# ROOT's loader, not the one the program names.
			[ -n "$qroot" ] && lib=$(rootfile /usr/lib64/ld-linux-x86-64.so.2)
			cp -L "$lib" "$tree/lib64/ld-linux-x86-64.so.2" ;;
		*) cp -L "$lib" "$tree/qemu/lib/" ;;
		esac
	done
[ -f "$tree/lib64/ld-linux-x86-64.so.2" ] ||
	{ echo "ckvm: ldd named no loader for $qemu" >&2; exit 1; }
# Firmware of pc and q35 with -kernel: SeaBIOS, the Linux loader ROM and
# the TPR-patching ROM QEMU loads with an in-kernel APIC.
for f in "$fw" /usr/share/qemu/kvmvapic.bin /usr/share/qemu/linuxboot_dma.bin \
	 /usr/share/qemu/linuxboot.bin; do
	src=$f
	[ -n "$qroot" ] && src=$(rootfile "$f")
	cp -L "$src" "$tree/qemu/share/$(basename "$f")" ||
		{ echo "ckvm: no $src" >&2; exit 1; }
done
cp "$kernel" "$tree/qemu/vmlinuz"
cp "$here/qemu-boot-test" "$tree/qemu/boot-test"
chmod 755 "$tree/qemu/boot-test"

# The guest's initramfs.
g=$out/guest
mkdir -p "$g/bin" "$g/dev" "$g/lib/modules"
bb=""
for c in $(command -v busybox || true) /bin/busybox /usr/bin/busybox; do
	if file -b "$c" 2>/dev/null | grep -q statically; then bb=$c; break; fi
done
[ -n "$bb" ] || { echo "ckvm: no static busybox (busybox-static)" >&2; exit 1; }
cp "$bb" "$g/bin/busybox"
ln -s busybox "$g/bin/sh"
cp "$here/qemu-guest-init" "$g/init"
chmod 755 "$g/init"
mknod -m 600 "$g/dev/console" c 5 1 2>/dev/null || true
# Modules in load order, each after what modules.dep says it needs.
order=""
add_mod() {	# path relative to $moddir
	local rel=$1 dep name
	# 6.12's modules are xz-compressed (kernel roots of kroot.sh).
	[ -f "$moddir/$rel" ] || [ ! -f "$moddir/$rel.xz" ] || rel=$rel.xz
	name=$(basename "${rel%.xz}" .ko)
	case " $order " in *" $name "*) return 0 ;; esac
	for dep in $(awk -v m="$rel:" '$1 == m { $1 = ""; print }' "$moddir/modules.dep"); do
		add_mod "$dep"
	done
	if [ ! -f "$moddir/$rel" ]; then
		# Built into this kernel (Debian 13's has virtio_pci so).
		grep -qx "${rel%.xz}" "$moddir/modules.builtin" 2>/dev/null && return 0
		echo "ckvm: $moddir/$rel not found" >&2
		exit 1
	fi
	case "$rel" in
	*.xz) xz -dc "$moddir/$rel" >"$g/lib/modules/$name.ko" ;;
	*) cp "$moddir/$rel" "$g/lib/modules/$name.ko" ;;
	esac
	order="$order $name"
}
for m in kernel/drivers/virtio/virtio_pci.ko kernel/drivers/block/virtio_blk.ko \
	 kernel/crypto/crc32c_generic.ko kernel/fs/ext4/ext4.ko; do
	add_mod "$m"
done
echo "$order" >"$g/lib/modules/order"
(cd "$g" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
	gzip -1 >"$tree/qemu/guest.cpio.gz"

# One test program per configuration: qemu_<machine>_<irqchip>_<cpu>_<vcpus>
# [_migrate]: the whole product of issue 11's axes (pc and q35,
# kernel-irqchip on and split, -cpu host and a named model, 1 and 2
# vCPUs), and one save and restore.
for mach in pc q35; do
	for chip in on split; do
		for cpu in host model; do
			for n in 1 2; do
				t=qemu_${mach}_${chip}_${cpu}_$n
				cp "$here/qemu-boot-test" "$out/tests/$t"
				chmod 755 "$out/tests/$t"
			done
		done
	done
done
cp "$here/qemu-boot-test" "$out/tests/qemu_pc_on_host_2_migrate"
chmod 755 "$out/tests/qemu_pc_on_host_2_migrate"
exit 0
}
