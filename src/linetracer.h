/* linetracer.h: line hits and times for registered code objects, with
 * line_profiler's semantics.
 *
 * A line's interval runs from its line event to the next event in the same
 * frame (the next line, a return, a yield, an unwind); when the interval
 * ends the line gets one hit and the elapsed ticks, callees included.  Time
 * while a generator or coroutine is suspended is charged to no line.
 *
 * Hooks: on 3.12+ sys.monitoring, with LINE, PY_START, PY_RESUME, PY_RETURN
 * and PY_YIELD enabled only on the registered code objects (local events),
 * and PY_UNWIND and PY_THROW globally (they cannot be local; they are rare);
 * everything else runs at full speed.  On 3.9-3.11, PyEval_SetTrace: a call
 * of an unregistered function switches off line events for its frame
 * (f_trace_lines) at once, which is the cheapest filter the hook allows.
 *
 * The per-line counters of a code object are reached by index from its
 * code-object extra slot; no hashing per event.  GIL required everywhere.
 * One line tracer can be enabled at a time.
 *
 * Memory mode (`memory` flags, for `profkit mem`): memory_profiler's events
 * instead.  A frame opens a line as soon as it starts (its first line, or
 * the line it resumes at) and each line event or exit closes it; a close
 * counts one occurrence.  Every change of memory in a thread goes to exactly
 * one line: the open line of the innermost registered frame (so a line's
 * figures include unregistered callees, and registered callees keep their
 * own).  Changes between registered calls, outside any registered frame,
 * go to no line.
 *   PK_LINEMEM_RSS    increment of RSS, and the largest RSS after the line;
 *   PK_LINEMEM_ALLOC  bytes this thread allocated, its net change of live
 *                     bytes, and the highest live bytes above the line's
 *                     start while it ran (this one includes every callee). */
#ifndef PROFKIT_LINETRACER_H
#define PROFKIT_LINETRACER_H

#include "compat.h"

enum { PK_LINEMEM_RSS = 1, PK_LINEMEM_ALLOC = 2 };

typedef struct {
    PyObject *code;   /* strong */
    int first_line;   /* co_firstlineno */
    int n_lines;      /* lines first_line .. first_line + n_lines - 1 */
    int64_t *hits;    /* per line: hits, or occurrences in memory mode */
    int64_t *ticks;   /* per line */
    /* memory mode, per line, in bytes (NULL otherwise) */
    int64_t *inc;     /* sum of RSS increments */
    int64_t *rss;     /* largest RSS after the line */
    int64_t *alloc;   /* bytes allocated */
    int64_t *net;     /* change of live bytes */
    int64_t *peak;    /* highest live bytes above the line's start */
    PyObject *caller; /* memory mode: code of the first unprofiled caller (strong) */
    int caller_line;
    /* memory mode, 3.12+: the last same-line backward jump seen (JUMP), so
     * that a loop repeating it skips two line-table walks per turn */
    long jump_from;   /* its source offset; 0 for none (a backward jump never starts at 0) */
    int jump_line;
} PkLineCode;

typedef struct {
    PkLineCode *lc;
    int line;         /* index of the line whose interval is open, or -1 */
    int64_t t0;       /* ticks when it opened */
    /* memory mode */
    int64_t live0;      /* the thread's live bytes when the line opened */
    int64_t seg_high;   /* highest live bytes in the line, before a callee frame */
    int64_t frame_high; /* highest live bytes over the frame's life */
} PkLineFrame;

typedef struct PkLineThread {
    PkLineFrame *frames;
    size_t depth, cap;
    unsigned long ident;  /* the thread's PyThread ident */
    /* memory mode: the values at the last attribution to a line */
    int64_t last_rss, last_alloc, last_live;
    struct PkLineThread *next;
} PkLineThread;

typedef struct {
    PkLineCode **codes; /* registered code objects, in registration order */
    size_t n_codes, cap_codes;
    uint32_t gen;       /* stamps code-object extra slots */
    int enabled;
    int all_threads;
    int thread_enables; /* all_threads == 0: threads that hold the hook */
    int backend;        /* 1 legacy, 2 monitoring, while enabled */
    int tool_id;
    int nomemory;
    int memory;         /* PK_LINEMEM_* flags; 0: time mode */
    PkLineThread *threads;
    PyObject *self;     /* borrowed: the Python object embedding this */
} PkLineTracer;

/* Module-level setup (code-extra index).  0, or -1 with an exception. */
int pk_linetracer_module_init(void);

void pk_linetracer_init(PkLineTracer *lt, PyObject *self);

/* Registers `code` (a code object) whose lines end at last_line.  Returns 1
 * when added, 0 when it was registered already, -1 with an exception. */
int pk_linetracer_add(PkLineTracer *lt, PyObject *code, int last_line);

/* Starts and stops recording.  Lines still open at disable() are not
 * counted, as in line_profiler.  0, or -1 with an exception.
 * With all_threads == 0 on the legacy hook, each call acts on the calling
 * thread only, and the calls nest across threads: the first enable()
 * starts the tracer, later ones add their thread, each disable() removes
 * its thread, and the last one stops the tracer.  That is cheap (no
 * walk over threads, no threading hook), which the decorator's per-call
 * switching needs. */
int pk_linetracer_enable(PkLineTracer *lt);
int pk_linetracer_disable(PkLineTracer *lt);

/* Memory mode: frames of this file (profkit's wrappers) are never named as
 * the caller of a profiled function. */
void pk_linetracer_hide_caller_file(PyObject *filename);

/* Zeroes every counter; the registrations stay. */
void pk_linetracer_reset(PkLineTracer *lt);

/* Frees everything; lt must be disabled. */
void pk_linetracer_dealloc(PkLineTracer *lt);

#endif /* PROFKIT_LINETRACER_H */
