/* legacy.c: C profile/trace functions on every thread (see legacy.h).
 * Setup-time code: never runs per event. */
#include "legacy.h"

static PyObject *thread_hook_obj = NULL;

/* What new threads must get: per kind, the function and its object
 * (borrowed: the installer keeps obj alive while installed). */
static struct {
    Py_tracefunc fn;
    PyObject *obj;
} pending[2];

void pk_legacy_set_thread_hook(PyObject *hook)
{
    Py_XINCREF(hook);
    Py_XSETREF(thread_hook_obj, hook);
}

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

#if PY_VERSION_HEX < 0x030C0000
static int set_on(PyThreadState *ts, PkHookKind kind, Py_tracefunc fn, PyObject *obj)
{
    return kind == PK_HOOK_PROFILE ? _PyEval_SetProfile(ts, fn, obj) : _PyEval_SetTrace(ts, fn, obj);
}
#endif

int pk_legacy_install(PkHookKind kind, Py_tracefunc fn, PyObject *obj, int all_threads)
{
    if (!all_threads) {
        set_here(kind, fn, obj);
        return 0;
    }
    if (thread_hook_obj == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "profkit._engine thread hook missing");
        return -1;
    }
    pending[kind].fn = fn;
    pending[kind].obj = obj;
    /* threading first: importing it must not run under the hook. */
    if (threading_set(kind, thread_hook_obj) < 0) {
        pending[kind].fn = NULL;
        pending[kind].obj = NULL;
        return -1;
    }
#if PY_VERSION_HEX >= 0x030C0000
    if (kind == PK_HOOK_PROFILE)
        PyEval_SetProfileAllThreads(fn, obj);
    else
        PyEval_SetTraceAllThreads(fn, obj);
#else
    {
        PyThreadState *ts = PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(PyThreadState_Get()));
        for (; ts != NULL; ts = PyThreadState_Next(ts)) {
            if (set_on(ts, kind, fn, obj) < 0)
                return -1;
        }
    }
#endif
    return 0;
}

int pk_legacy_remove(PkHookKind kind, Py_tracefunc fn, int all_threads)
{
    int rc = 0;

    if (!all_threads) {
        set_here(kind, NULL, NULL);
        return 0;
    }
    pending[kind].fn = NULL;
    pending[kind].obj = NULL;
#if PY_VERSION_HEX >= 0x030C0000
    (void)fn;
    if (kind == PK_HOOK_PROFILE)
        PyEval_SetProfileAllThreads(NULL, NULL);
    else
        PyEval_SetTraceAllThreads(NULL, NULL);
#else
    {
        PyThreadState *ts = PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(PyThreadState_Get()));
        for (; ts != NULL; ts = PyThreadState_Next(ts)) {
            Py_tracefunc cur = kind == PK_HOOK_PROFILE ? ts->c_profilefunc : ts->c_tracefunc;
            if (cur == fn && set_on(ts, kind, NULL, NULL) < 0)
                rc = -1;
        }
    }
#endif
    if (threading_set(kind, Py_None) < 0)
        rc = -1;
    return rc;
}
