# SPDX-License-Identifier: GPL-2.0
# Included after the selftests' Makefile by run.sh: print the x86_64 tests.
ckvm-print-tests:
	@echo $(TEST_GEN_PROGS_x86_64)
