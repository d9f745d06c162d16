/* linemem.h: the memory mode of the line tracer (`profkit mem`), with
 * memory_profiler's semantics, on the line tracer's own stacks.
 *
 * A frame opens a line as soon as it starts (its first line, or the line
 * it resumes at) and each line event or exit closes it; a close counts one
 * occurrence.  Every change of memory in a thread goes to exactly one line:
 * the open line of the innermost registered frame (so a line's figures
 * include unregistered callees, and registered callees keep their own).
 * Changes between registered calls, outside any registered frame, go to no
 * line.  The figures (PkLineCode's memory arrays, linetracer.h):
 *   PK_LINEMEM_RSS    the sum of RSS increments, and the largest RSS after
 *                     the line;
 *   PK_LINEMEM_ALLOC  bytes this thread allocated, its net change of live
 *                     bytes, and the highest live bytes above the line's
 *                     start while it ran (this one includes every callee).
 * The first time a registered function is called from outside the profiled
 * code, its caller is noted (PkLineCode.caller) for the report's hint about
 * where returned memory is held.
 *
 * GIL required.  linetracer.c calls these only when lt->memory is set.
 * RSS comes from one pread of a kept descriptor, and only when the
 * allocation hooks (alloctrack.h) say it may have moved; allocation
 * counters come from TLS.  Must never: call Python per event (only the
 * caller note does, once per function, keeping the exception in flight),
 * or raise (a failure records lt->error). */
#ifndef PROFKIT_LINEMEM_H
#define PROFKIT_LINEMEM_H

#include "linetracer.h"

/* At enable: installs the allocation hooks for lt's flags and starts the
 * RSS reading afresh.  0, or -1 with an exception set. */
int pk_linemem_start(PkLineTracer *lt);

/* At disable (or a failed enable): removes the allocation hooks. */
void pk_linemem_stop(PkLineTracer *lt);

/* A frame of `lc` starts, or resumes, at `lineno` (-1: unknown): what
 * happened so far goes to the line below, and lineno opens at once. */
void pk_linemem_start_frame(PkLineTracer *lt, PkLineThread *t, PkLineCode *lc, int lineno);

/* A line event of `lc` at `lineno`: the open line closes, lineno opens. */
void pk_linemem_line(PkLineTracer *lt, PkLineThread *t, PkLineCode *lc, int lineno);

/* The top frame of t (a frame of a registered code object) returns,
 * yields or unwinds: its line closes and the frame goes. */
void pk_linemem_leave(PkLineTracer *lt, PkLineThread *t);

#endif /* PROFKIT_LINEMEM_H */
