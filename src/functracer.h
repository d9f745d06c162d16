/* functracer.h: deterministic function-level profiling, cProfile's model.
 *
 * The tracer turns call and return events into PkStats updates with
 * exactly cProfile's arithmetic (see docs/how-it-works.md): each thread
 * keeps its own stack of PkFrame records; a return charges its elapsed
 * ticks to the function's inline time, to its total time when the function
 * is not still on the stack further down, and to the caller/callee edge.
 * With `tree` on, each call is also charged, with the same arithmetic, to
 * its node of the thread's call tree (calltree.h), found from the node
 * its caller's frame holds.
 *
 * Backends: sys.monitoring with C-implemented callbacks on 3.12 and later;
 * PyEval_SetProfile on 3.9 to 3.11 (or when PROFKIT_BACKEND=legacy).
 *
 * GIL: every function here needs it.  One profkit profiler can be active
 * in the process at a time; pk_functracer_enable() refuses a second one.
 * Callbacks never raise: a failure records a sticky PK_E* code in `error`
 * (the first one wins), which module.c reports from disable() and from
 * the stats, and clears once reported. */
#ifndef PROFKIT_FUNCTRACER_H
#define PROFKIT_FUNCTRACER_H

#include "calltree.h"
#include "compat.h"
#include "module.h"
#include "monitor.h"
#include "stats.h"
#include "tracer.h"

/* PkFrame.priv: which recursion levels this call counted in its thread's
 * own table rather than on the entry or edge (see PkThread.priv). */
#define PK_PRIV_ENTRY 1
#define PK_PRIV_EDGE 2

typedef struct {
    int64_t t0;   /* ticks at entry */
    int64_t subt; /* ticks spent in callees that have returned */
    PkEntry *entry;
    PkEdge *edge; /* caller -> entry, when subcalls are recorded */
    int priv;     /* PK_PRIV_* bits; 0 on the common path */
    PkNode *node; /* this call's node of the call tree; read only when the
                     profiler keeps a tree (NULL then if it could not be made) */
} PkFrame;

/* One thread's call stack.  Recursion levels are per thread: an entry or
 * edge counts the calls of its owner thread in its own `level`; a thread
 * that calls a function while another thread owns it (both have it on
 * their stacks at once) counts its level in `priv`, keyed by the entry or
 * edge.  That table is touched only while threads overlap in the same
 * function, so a single-threaded program never reads it. */
typedef struct PkThread {
    PkThreadLink link; /* first: the profiler's list of threads (tracer.h) */
    PkFrame *frames;
    size_t depth, cap;
    PkPtrMap priv;   /* (entry or edge, 0) -> level as intptr_t */
    size_t n_priv;   /* how many of its levels are not zero */
    PkTree *tree;    /* borrowed from PkProfiler.trees: this thread's call tree,
                        found at its first call of the session; NULL until then */
    PkNode *root;    /* tree's root, or NULL (the hot path's parent of a first frame) */
} PkThread;

typedef struct {
    PkStats stats;
    uint32_t gen;       /* stamps code-object extra slots; new on clear */
    int subcalls;       /* record caller -> callee edges */
    int tree;           /* keep the call tree (fixed while enabled) */
    uint32_t tree_depth;/* the tree's depth cap (calltree.h) */
    PkTree *trees;      /* owned: the call trees, one per thread, newest first */
    int builtins;       /* profile C functions */
    int sites;          /* CALL events may be switched off at sites (callsites.h) */
    int all_threads;    /* 0: only the thread that called enable() */
    int enabled;
    int error;          /* sticky PK_E* code a callback met, or PK_OK */
    int backend;        /* PK_BACKEND_* in use while enabled */
    int tool_id;        /* sys.monitoring tool id while enabled */
    unsigned long owner;/* thread ident of the enabling thread */
    PyObject *timer;    /* strong: custom timer callable, or NULL */
    double timeunit;    /* seconds per custom-timer unit, 0 = seconds */
    PyObject *missing;  /* borrowed from mod while enabled: sys.monitoring.MISSING */
    PK_TRACER_TAIL      /* threads: the PkThread stacks of this session */
} PkProfiler;


/* Process-level setup, once: requests the code-object extra index.
 * Returns 0, or -1 with an exception set. */
int pk_functracer_module_init(void);

/* Initialises p (which is zeroed memory inside its Python object `self`,
 * made by the module whose state is `mod`). */
void pk_functracer_init(PkProfiler *p, PyObject *self, const PkModuleState *mod);

/* Starts profiling.  Returns 0, or -1 with ValueError when another profkit
 * profiler or every sys.monitoring tool id is in use. */
int pk_functracer_enable(PkProfiler *p);

/* Stops profiling and completes every call still open, as cProfile does.
 * Returns 0, or -1 with an exception set when a hook could not be removed
 * (the profiler is disabled all the same).  A sticky error stays in
 * p->error for the caller to report. */
int pk_functracer_disable(PkProfiler *p);

/* Stops (pause=1) or restarts (pause=0) recording events of the calling
 * thread only, keeping its stack: profkit's own bookkeeping between the
 * program's end and disable() (waiting for its threads) stays out of the
 * profile.  No-op when p is not enabled. */
void pk_functracer_pause(PkProfiler *p, int pause);

/* Drops all statistics and call trees (the profiler may stay enabled). */
void pk_functracer_clear(PkProfiler *p);

/* Releases everything; p must be disabled.  A teardown: the caller saves
 * any exception in flight around it (releasing may run Python code). */
void pk_functracer_dealloc(PkProfiler *p);

/* The backend the next enable() will use: "monitoring" or "legacy". */
const char *pk_functracer_backend_name(void);

/* Seconds per stored tick for p: the custom timer's unit, 1e-9 for a
 * custom timer without one, or the engine clock's calibration. */
double pk_functracer_factor(const PkProfiler *p);

#endif /* PROFKIT_FUNCTRACER_H */
