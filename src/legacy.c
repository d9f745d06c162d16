/* legacy.c: C profile/trace functions on every thread (see legacy.h).
 *
 * Concern: PyEval_SetProfile/SetTrace on each thread state, and
 * threading.setprofile/settrace for threads not started yet.  GIL held
 * throughout.  Setup-time code: it calls Python freely and never runs per
 * event.  Must never: remove a hook that is not ours, or leave an
 * exception of its own set after a teardown step that others follow. */
#include "legacy.h"

/* ---- process-wide state ------------------------------------------------
 * What threads started later must get: per kind, the function and its
 * object (borrowed: the installer keeps obj alive while installed).
 * Process-wide like the hooks themselves: every thread state of the
 * process has one profile and one trace function, and threading's hook is
 * global. */
static struct {
    Py_tracefunc fn;
    PyObject *obj;
} pending[2];

static void set_here(PkHookKind kind, Py_tracefunc fn, PyObject *obj)
{
    if (kind == PK_HOOK_PROFILE)
        PyEval_SetProfile(fn, obj);
    else
        PyEval_SetTrace(fn, obj);
}

PyObject *pk_legacy_thread_hook(PyObject *mod, PyObject *args)
{
    int k;
    (void)mod;
    (void)args;
    /* threading installed this function through sys.setprofile/settrace;
     * replace that Python-level trampoline with the C functions. */
    for (k = 0; k < 2; k++)
        set_here((PkHookKind)k, pending[k].fn, pending[k].obj);
    Py_RETURN_NONE;
}

/* threading.setprofile(hook) or threading.settrace(hook). */
static int threading_set(PkHookKind kind, PyObject *hook)
{
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *r;

    if (threading == NULL)
        return -1;
    r = PyObject_CallMethod(threading, kind == PK_HOOK_PROFILE ? "setprofile" : "settrace", "O", hook);
    Py_DECREF(threading);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Puts fn(obj) (or, with fn NULL, nothing) as kind on every thread that
 * has `only` as its function, or on every thread when `only` is NULL. */
static int set_everywhere(PkHookKind kind, Py_tracefunc fn, PyObject *obj, Py_tracefunc only)
{
#if PK_HAVE_SET_ALL_THREADS
    /* 3.12 has the call; its hooks are switched as one, so `only` cannot
     * apply (disable() removes only a hook it installed itself). */
    (void)only;
    if (kind == PK_HOOK_PROFILE)
        PyEval_SetProfileAllThreads(fn, obj);
    else
        PyEval_SetTraceAllThreads(fn, obj);
    return 0;
#else
    PkFirstError fe = {.failed = 0};
    PyThreadState *ts = PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(PyThreadState_Get()));

    for (; ts != NULL; ts = PyThreadState_Next(ts)) {
        Py_tracefunc cur = kind == PK_HOOK_PROFILE ? ts->c_profilefunc : ts->c_tracefunc;
        if (only != NULL && cur != only)
            continue;
        pk_first_error_note(&fe, kind == PK_HOOK_PROFILE ? _PyEval_SetProfile(ts, fn, obj)
                                                         : _PyEval_SetTrace(ts, fn, obj));
        if (fe.failed && fn != NULL)
            break; /* installing: stop at the first failure */
    }
    return pk_first_error_end(&fe);
#endif
}

int pk_legacy_install(PkHookKind kind, Py_tracefunc fn, PyObject *obj, int all_threads,
                      PyObject *thread_hook)
{
    if (!all_threads) {
        set_here(kind, fn, obj);
        return 0;
    }
    if (thread_hook == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "profkit._engine thread hook missing");
        return -1;
    }
    pending[kind].fn = fn;
    pending[kind].obj = obj;
    /* threading first: importing it must not run under the hook. */
    if (threading_set(kind, thread_hook) < 0) {
        pending[kind].fn = NULL;
        pending[kind].obj = NULL;
        return -1;
    }
    return set_everywhere(kind, fn, obj, NULL);
}

int pk_legacy_remove(PkHookKind kind, Py_tracefunc fn, int all_threads)
{
    PkFirstError fe = {.failed = 0};

    if (!all_threads) {
        set_here(kind, NULL, NULL);
        return 0;
    }
    pending[kind].fn = NULL;
    pending[kind].obj = NULL;
    pk_first_error_note(&fe, set_everywhere(kind, NULL, NULL, fn));
    pk_first_error_note(&fe, threading_set(kind, Py_None));
    return pk_first_error_end(&fe);
}
