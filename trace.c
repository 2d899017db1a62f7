// SPDX-License-Identifier: GPL-2.0
/*
 * Instantiates ckvm's tracepoints (include/trace.h): the event structures,
 * their tracefs files and the static keys behind each call site.
 */
#define CREATE_TRACE_POINTS
#include "trace.h"
