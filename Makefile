# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree entry point. Kbuild (beside this file) describes the module;
# this file finds a kernel build tree and drives the test machines.
#
#   make            build ckvm.ko against KDIR
#   make check      install what is missing, build, sparse, run every test
#   make run        boot the emulated machine; Debian's QEMU inside it boots
#                   Linux on ckvm.ko (MODULE=kvm: on the distro's kvm)
#   make run-vmm    the same machine running tools/vmm's demo guest
#   make check-fresh  make run + make check in a freshly bootstrapped
#                   Debian 12 root (what CI runs; needs root)
#   make deb        the DKMS package, build/deb/ckvm-dkms_<version>_all.deb
#   make check-6.12  W=1, sparse, DKMS and the svm-612 machines on 6.12 (root)
#   make deb-check  install it in a fresh Debian 12 root, test the module
#                   DKMS built there (needs root)
#   make debug-kernel  the debug guest kernel (KASAN, lockdep, kmemleak...)
#   make bench      ckvm against the distro's KVM, Documentation/performance.rst
#   make profile    perf profile of one bench workload (PROFILE_WORKLOAD)
#   make fuzz       kvmfuzz on ckvm on the debug kernel, svm and vmx
#                   (FUZZ_SECONDS, default 1800; FUZZ_SEED; MACHINES)
#   make fuzz-compare  the same kvmfuzz programs on ckvm and on the distro's
#                   KVM, errno by errno (FUZZ_SEED, FUZZ_PROGRAMS, MACHINES)
#   make conformance  the upstream KVM selftests on ckvm (all of them)
#   make check-6.12   W=1, sparse and DKMS against Debian's 6.12, and the
#                   6.12 test machines (needs root)
#   make deps, selftests, vmm, sparse, clean
#   make help       this list
#
# KDIR defaults to the running kernel's build tree, else the newest
# installed Debian linux-headers-*-amd64. KVER=6.12 makes check, run,
# bench and conformance boot Debian's 6.12 kernel (tools/testing/vm/kroot.sh).

KDIR ?= $(shell d=/lib/modules/$$(uname -r)/build; \
	if [ -d $$d ]; then echo $$d; else \
	ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1; fi)
VENDOR ?= svm
export KDIR VENDOR

.PHONY: all module sparse clean deps selftests vmm check run run-vmm conformance bench \
	check-fresh deb deb-check check-6.12 debug-kernel fuzz fuzz-compare profile help

all: module

help:
	@sed -n '/^#   make/,/^#   make help/p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# //'

module:
	@test -n "$(KDIR)" || { echo "ckvm: no kernel headers; run 'make deps' as root" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# C=2 re-checks every file whether or not it was rebuilt.
sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 modules

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf build
	-$(MAKE) -C tools/testing/selftests/ckvm clean
	-$(MAKE) -C tools/vmm clean

deps:
	tools/testing/vm/deps.sh

selftests:
	$(MAKE) -C tools/testing/selftests/ckvm

vmm:
	$(MAKE) -C tools/vmm

check: deps
	tools/testing/vm/check.sh

check-fresh:
	tools/testing/fresh-root.sh

run: deps
	tools/testing/vm/run.sh

run-vmm: deps
	RUN_JOB=vmm tools/testing/vm/run.sh

conformance: deps
	tools/testing/conformance/run.sh

bench: deps module
	tools/bench/run.sh

# where one workload's time goes, by symbol, on both modules (perf in the
# machine; PROFILE_WORKLOAD, default mmiofd)
profile: deps module
	tools/bench/profile.sh

# build/deb/ckvm-dkms_<version>_all.deb (tools/packaging/mkdeb.sh)
deb:
	tools/packaging/mkdeb.sh

# install it in a fresh Debian 12 root, test its DKMS-built ckvm.ko
deb-check: deps
	tools/testing/deb-check.sh

# W=1, sparse, the DKMS package and the svm-612 machines on Debian's 6.12 kernel (in a root)
check-6.12: deps
	tools/testing/k612-build.sh

debug-kernel: deps
	tools/testing/vm/debug-kernel.sh

fuzz: deps
	tools/testing/fuzz/run.sh

fuzz-compare: deps
	tools/testing/fuzz/compare.sh
