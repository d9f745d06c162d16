/* legacy.h: installing a C profile or trace function (PyEval_SetProfile /
 * PyEval_SetTrace) on one thread or on all of them, including threads
 * started later.  The hook for 3.9-3.11, and the PROFKIT_BACKEND=legacy
 * choice on 3.12+.  GIL required; returns 0, or -1 with an exception set.
 * Setup-time code: never runs per event. */
#ifndef PROFKIT_LEGACY_H
#define PROFKIT_LEGACY_H

#include "compat.h"

typedef enum { PK_HOOK_PROFILE = 0, PK_HOOK_TRACE = 1 } PkHookKind;

/* Installs fn(obj) as kind, on the calling thread or on every thread.  For
 * every thread, threads started later through `threading` get it too:
 * `thread_hook` (the module's _thread_hook, borrowed; NULL once the module
 * is cleared, which fails here) is passed to threading.setprofile/settrace
 * and installs fn on its first event. */
int pk_legacy_install(PkHookKind kind, Py_tracefunc fn, PyObject *obj, int all_threads,
                      PyObject *thread_hook);

/* Removes fn from the calling thread or from every thread that has it, and
 * the threading hook.  A teardown: every step runs, and the first failure
 * is the one reported. */
int pk_legacy_remove(PkHookKind kind, Py_tracefunc fn, int all_threads);

/* The body of _thread_hook: installs, on the calling thread, every hook
 * that pk_legacy_install put on all threads and that is still in place. */
PyObject *pk_legacy_thread_hook(PyObject *mod, PyObject *args);

#endif /* PROFKIT_LEGACY_H */
