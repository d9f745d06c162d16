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
 * One line tracer can be enabled at a time. */
#ifndef PROFKIT_LINETRACER_H
#define PROFKIT_LINETRACER_H

#include "compat.h"

typedef struct {
    PyObject *code;   /* strong */
    int first_line;   /* co_firstlineno */
    int n_lines;      /* lines first_line .. first_line + n_lines - 1 */
    int64_t *hits;    /* per line */
    int64_t *ticks;   /* per line */
} PkLineCode;

typedef struct {
    PkLineCode *lc;
    int line;         /* index of the line whose interval is open, or -1 */
    int64_t t0;       /* ticks when it opened */
} PkLineFrame;

typedef struct PkLineThread {
    PkLineFrame *frames;
    size_t depth, cap;
    unsigned long ident;  /* the thread's PyThread ident */
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

/* Zeroes every counter; the registrations stay. */
void pk_linetracer_reset(PkLineTracer *lt);

/* Frees everything; lt must be disabled. */
void pk_linetracer_dealloc(PkLineTracer *lt);

#endif /* PROFKIT_LINETRACER_H */
