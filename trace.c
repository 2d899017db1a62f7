// SPDX-License-Identifier: GPL-2.0
/*
 * Instantiates ckvm's tracepoints (include/trace.h): the event structures,
 * their tracefs files and the static keys behind each call site.
 */
#include "ckvm.h"
#include "x86_ops.h"

/* After every other header, so that only ckvm's events are instantiated. */
#define CREATE_TRACE_POINTS
#include "trace.h"
