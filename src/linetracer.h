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
 * code-object extra slot; no hashing per event (tracer.h).  GIL required
 * everywhere.  Callbacks never raise: a failure records a sticky PK_E*
 * code in `error` (the first one wins), which module.c reports from
 * disable() and from the stats.
 *
 * Several tracers at once, as line_profiler allows since 4.2: up to
 * PK_LINE_MAX_ON time-mode tracers can be enabled together, and one code
 * object can be registered with several; each counts its own code, on its
 * own stacks, while it is enabled.  They share one hook (one sys.monitoring
 * tool id, or the legacy hook's installs counted in legacy.c); each holds
 * its own code-object slot from a small pool, so that their registrations
 * never overwrite each other.  With one tracer enabled, the hot path is
 * what it was with one allowed; with more, each event goes to each.  A
 * memory-mode tracer runs alone: its RSS reading and allocation hooks are
 * process-wide (linemem.c, alloctrack.c).
 *
 * Beside other tools: on the legacy hook a thread's previous trace function
 * (coverage, a debugger) is chained and given back (legacy.h); the Python
 * object's attributes `wrap_trace` (default true) and
 * `set_frame_local_trace` (default false), read at enable(), choose
 * PK_HOOK_CHAIN and PK_HOOK_LOCAL.  On sys.monitoring other tools have
 * their own tool ids, which the tracer never touches.
 *
 * Memory mode (`memory` flags, for `profkit mem`): memory_profiler's
 * events instead, on the same stacks; linemem.h describes them.
 *   PK_LINEMEM_RSS    increment of RSS, and the largest RSS after the line;
 *   PK_LINEMEM_ALLOC  bytes this thread allocated, its net change of live
 *                     bytes, and the highest live bytes above the line's
 *                     start while it ran. */
#ifndef PROFKIT_LINETRACER_H
#define PROFKIT_LINETRACER_H

#include "compat.h"
#include "module.h"
#include "tracer.h"

enum { PK_LINEMEM_RSS = 1, PK_LINEMEM_ALLOC = 2 };

/* How many line tracers can be enabled at once (each event goes to each), and
 * how many can hold registered code at once (each holds a code-object
 * slot; CPython has 255 for every extension of the process). */
#define PK_LINE_MAX_ON 8
#define PK_LINE_MAX_SLOTS 32

typedef struct {
    PyObject *code;   /* strong */
    int first_line;   /* co_firstlineno */
    int n_lines;      /* lines first_line .. first_line + n_lines - 1 */
    /* per line, each array n_lines long; one allocation holds them all,
     * starting at `hits` */
    int64_t *hits;    /* hits, or occurrences in memory mode */
    int64_t *ticks;
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

/* A thread's stack, kept across sessions (found again by thread ident). */
typedef struct PkLineThread {
    PkThreadLink link;    /* first: the tracer's list of threads (tracer.h) */
    PkLineFrame *frames;
    size_t depth, cap;
    uint32_t session;     /* the tracer's session the stack belongs to */
    int here;             /* all_threads == 0: enable() calls of this thread still open */
    /* memory mode: the values at the last attribution to a line */
    int64_t last_rss, last_alloc, last_live;
} PkLineThread;

typedef struct {
    PkLineCode **codes; /* registered code objects, in registration order */
    size_t n_codes, cap_codes;
    uint32_t gen;       /* stamps code-object extra slots */
    Py_ssize_t slot;    /* the code-object extra slot it stamps */
    int slot_i;         /* its place in the slot pool, or -1 while it holds none */
    int enabled;
    int all_threads;
    int thread_enables; /* all_threads == 0: enable() calls still open, over all threads */
    int pos;            /* while enabled: its place among the enabled tracers */
    uint32_t session;   /* while enabled: its session, which stamps its threads' stacks */
    int hook_flags;     /* PK_HOOK_* read at enable (legacy.h) */
    unsigned int hook_tag; /* the version tag of the type they were read from */
    int error;          /* sticky PK_E* code a callback met, or PK_OK */
    int memory;         /* PK_LINEMEM_* flags; 0: time mode */
    PyObject *jump_disable;   /* borrowed from mod while enabled: sys.monitoring.DISABLE */
    PK_TRACER_TAIL      /* threads: the PkLineThread stacks */
} PkLineTracer;

/* Process-level setup, once: requests the code-object extra index.
 * Returns 0, or -1 with an exception set. */
int pk_linetracer_module_init(void);

/* Initialises lt (zeroed memory inside its Python object `self`, made by
 * the module whose state is `mod`). */
void pk_linetracer_init(PkLineTracer *lt, PyObject *self, const PkModuleState *mod);

/* Registers `code` (a code object) whose lines end at last_line.  Returns 1
 * when added, 0 when it was registered already, -1 with an exception (also
 * when PK_LINE_MAX_SLOTS tracers hold code already). */
int pk_linetracer_add(PkLineTracer *lt, PyObject *code, int last_line);

/* Starts and stops recording.  Lines still open at disable() are not
 * counted, as in line_profiler.  0, or -1 with an exception (disable()
 * then stops all the same): enable() refuses a ninth tracer, and a memory
 * tracer beside another one.  A sticky error stays in lt->error for the
 * caller to report.
 * With all_threads == 0 each call acts on the calling thread only (on the
 * legacy hook; sys.monitoring sees every thread), and the calls nest
 * across threads: the first enable() starts the tracer, later ones add
 * their thread, each disable() removes its thread, and the last one stops
 * the tracer.  That is cheap (no walk over threads, no threading hook),
 * which the decorator's per-call switching needs. */
int pk_linetracer_enable(PkLineTracer *lt);
int pk_linetracer_disable(PkLineTracer *lt);

/* Zeroes every counter; the registrations stay. */
void pk_linetracer_reset(PkLineTracer *lt);

/* Frees everything and hands its code-object slot back to the pool; lt
 * must be disabled.  A teardown: the caller saves any exception in flight
 * around it (releasing may run Python code). */
void pk_linetracer_dealloc(PkLineTracer *lt);

/* Slow path of pk_linetracer_push(): t's stack is full. */
PkLineFrame *pk_linetracer_push_slow(PkLineTracer *lt, PkLineThread *t);

/* Pushes a frame of `lc` on t's stack with no line open: what both modes
 * do when a frame starts.  The frame, or NULL when out of memory (recorded
 * in lt->error).  For linetracer.c and linemem.c only. */
PK_INLINE PkLineFrame *pk_linetracer_push(PkLineTracer *lt, PkLineThread *t, PkLineCode *lc)
{
    PkLineFrame *fr = PK_LIKELY(t->depth < t->cap) ? &t->frames[t->depth++]
                                                   : pk_linetracer_push_slow(lt, t);
    if (fr != NULL) {
        fr->lc = lc;
        fr->line = -1;
        fr->t0 = 0;
    }
    return fr;
}

#endif /* PROFKIT_LINETRACER_H */
