# SPDX-License-Identifier: GPL-2.0
#
# debroot.sh: sourced by the scripts that bootstrap a private Debian root
# (fresh-root.sh, deb-check.sh, k612-build.sh, vm/kroot.sh). Nothing here
# touches this machine's own apt configuration.
#
#   debroot_repos RELEASE FILE
#       the repositories this machine's apt uses for its own release,
#       bookworm or trixie (read with `apt-get indextargets`, never a host
#       name of ours), renamed for RELEASE (bookworm, trixie:
#       "bookworm-updates" -> "trixie-updates", same mirror), one "URI
#       SUITE COMPONENT" a line into FILE; sets DEBROOT_MIRROR to the URI
#       of the main suite. Returns 1 if this machine's apt has neither
#       (a Debian 13 machine, or a fresh trixie root, works as well).
#   debroot_bootstrap ROOT RELEASE REPOS LOG
#       remove ROOT (refusing if anything is mounted under it), then
#       debootstrap --variant=minbase RELEASE ROOT from DEBROOT_MIRROR, and
#       give the root REPOS as its sources.list, this machine's proxy and
#       validity settings (apt-config dump) and resolv.conf. Returns 1
#       with a message on stderr.
#   debroot_in ROOT COMMAND
#       sh -c COMMAND chrooted into ROOT with /proc mounted, in a mount
#       namespace of its own (gone when it ends; inside a chroot that is
#       itself in a private namespace, as CI's fresh root, "/" cannot be
#       made private and is left as it is). DEBIAN_FRONTEND=noninteractive.

debroot_repos() {
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' 2>/dev/null |
		awk -v rel="$1" '$4 == "Packages" && $2 ~ /^(bookworm|trixie)(-updates|-security)?$/ {
			s = $2; sub(/^(bookworm|trixie)/, rel, s); print $1, s, $3 }' |
		sort -u >"$2"
	DEBROOT_MIRROR=$(awk -v rel="$1" '$2 == rel { print $1; exit }' "$2")
	if [ -z "$DEBROOT_MIRROR" ]; then
		echo "this machine's apt has no bookworm or trixie repository (apt-get indextargets)" >&2
		return 1
	fi
}

debroot_bootstrap() {
	local root=$1 rel=$2 repos=$3 log=$4
	if [ -e "$root" ]; then
		if grep -q " $(readlink -f "$root")/" /proc/self/mounts; then
			echo "something is mounted under $root; unmount it first" >&2
			return 1
		fi
		rm -rf --one-file-system "$root" || { echo "cannot remove $root" >&2; return 1; }
	fi
	mkdir -p "$root"
	if ! debootstrap --variant=minbase "$rel" "$root" "$DEBROOT_MIRROR" >"$log" 2>&1; then
		echo "debootstrap $rel failed; last lines of $log: $(tail -n 3 "$log")" >&2
		return 1
	fi
	awk '{ print "deb", $1, $2, $3 }' "$repos" >"$root/etc/apt/sources.list"
	apt-config dump 2>/dev/null |
		grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date) ' \
		>"$root/etc/apt/apt.conf.d/90ckvm-host" || true
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

debroot_in() {
	local prop=private
	unshare -m true 2>/dev/null || prop=unchanged
	unshare -m --propagation "$prop" sh -c '
		mount -t proc proc "$1/proc" || exit 1
		DEBIAN_FRONTEND=noninteractive chroot "$1" sh -c "$2"
	' sh "$1" "$2"
}
