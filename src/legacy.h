/* legacy.h: installing a C profile or trace function (PyEval_SetProfile /
 * PyEval_SetTrace) on one thread or on all of them, including threads
 * started later, as a guest beside the other tools that hook Python.  The
 * hook for 3.9-3.11, and the PROFKIT_BACKEND=legacy choice on 3.12+.
 *
 * A guest's rules, which the rest of the engine relies on:
 *   - only the kinds in use are touched: installing a profile function
 *     never changes a thread's trace function, nor threading's trace hook;
 *   - removal takes off only profkit's own hooks, and gives each thread
 *     the function it had before (threads started meanwhile: what
 *     threading's previous hook would have given them), and threading
 *     its previous settrace/setprofile hook, unless someone replaced them
 *     since;
 *   - a trace hook can chain (PK_HOOK_CHAIN): the thread's previous trace
 *     function (coverage, a debugger, sys.settrace(f)) still gets every
 *     event, with the frame-local f_trace protocol kept; what it does to
 *     its own installation (replace or remove itself) is respected.
 *
 * Installations are counted per kind: several line tracers share the trace
 * hook, and each thread's hook stays while any of them wants it.
 *
 * Each hooked thread gets its own hook object (PkHook), passed as the
 * hook's `obj`, so that the callback finds the thread's chain without a
 * lookup; sys.gettrace()/getprofile() return it, and calling it (as
 * sys.settrace(saved) then does) puts the C hook back.
 *
 * GIL required.  Returns 0, or -1 with an exception set.  Setup-time code,
 * but pk_legacy_chain(), which a trace callback calls on its slow path. */
#ifndef PROFKIT_LEGACY_H
#define PROFKIT_LEGACY_H

#include "compat.h"

typedef enum { PK_HOOK_PROFILE = 0, PK_HOOK_TRACE = 1 } PkHookKind;

/* Options of the hooks an install makes (trace kind only). */
enum {
    PK_HOOK_CHAIN = 1, /* call the thread's previous trace function on every event */
    PK_HOOK_LOCAL = 2, /* on each call, make the hook the frame's f_trace when it has none
                          (line_profiler's set_frame_local_trace) */
};

/* The hook object of one thread (legacy.c owns the type).  It is installed
 * with one of two functions: `fast`, the callback's own work and nothing
 * else, or, while the hook chains a function or sets frame-local hooks,
 * `slow`, which also calls pk_legacy_chain.  So the hot path tests
 * nothing for the guest's sake, and the cost is paid only where another
 * tracer is there. */
typedef struct {
    PyObject_HEAD
    int kind;             /* PkHookKind */
    int role;             /* legacy.c's ROLE_* */
    int flags;            /* PK_HOOK_* */
    int here;             /* installs for this thread alone, still open */
    Py_tracefunc fn;      /* the function installed with it: fast or slow */
    Py_tracefunc fast, slow;
    Py_tracefunc prev_fn; /* the function the thread had before, or NULL */
    PyObject *prev_obj;   /* its object (strong), or NULL */
    PyThreadState *ts;    /* the thread it belongs to (NULL: threading's hook) */
} PkHook;

/* Installs `fast` as `kind` (`slow` where a hook chains or sets local
 * hooks, see PkHook) with hooks made with `flags`: on the calling thread
 * only, or on every thread, where threads started later through
 * `threading` get it too (threading.setprofile/settrace, the previous
 * hook kept aside).  Nested installs of one kind share the hooks; each is
 * undone by one pk_legacy_remove with the same all_threads. */
int pk_legacy_install_ex(PkHookKind kind, Py_tracefunc fast, Py_tracefunc slow, int flags,
                         int all_threads);

/* The same with no options, for the function profiler. */
int pk_legacy_install(PkHookKind kind, Py_tracefunc fn, int all_threads);

/* Undoes one install: when no install wants a thread any more, its hook
 * goes and its previous function comes back; when no all-threads install
 * is left, threading gets its previous hook back.  A teardown: every step
 * runs, and the first failure is the one reported. */
int pk_legacy_remove(PkHookKind kind, Py_tracefunc fn, int all_threads);

/* The slow function of a trace hook (obj is the thread's PkHook): after
 * the callback has done its own work
 * on the event, sets the frame-local hook (PK_HOOK_LOCAL) and calls the
 * chained trace function.  `profiled`: the frame's code is profiled, so
 * its line events must go on (a chained function that switches them off
 * keeps its own f_trace from seeing them instead).  Returns what the
 * chained function returned: -1 with its exception set, which the
 * callback returns so that it propagates as Python would. */
int pk_legacy_chain(PkHook *h, PyFrameObject *frame, int what, PyObject *arg, int profiled);


#endif /* PROFKIT_LEGACY_H */
