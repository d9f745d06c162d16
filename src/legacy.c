/* legacy.c: C profile/trace functions on every thread, as a guest beside
 * the other tools that hook Python (see legacy.h).
 *
 * Concern: PyEval_SetProfile/SetTrace on each thread state, threading's
 * settrace/setprofile hook for threads not started yet, the per-thread
 * hook objects, and the functions they displaced: kept to be given back,
 * and (trace kind) called on every event.  GIL held throughout.
 * Setup-time code that calls Python freely, but pk_legacy_chain (per event,
 * only while another tracer is chained) and the hook objects' calls (once
 * per new thread, once per sys.settrace(saved)).
 * Must never: remove or replace a hook that is not ours, let a thread
 * state's hook object die while it is being switched (CPython drops the
 * old object before taking the new one), or leave an exception of its own
 * set after a step that others follow.
 *
 * As line_profiler's c_trace_callbacks.c (call_callback, set_local_trace),
 * but a chained function that replaces itself is followed rather than
 * called on, a thread's hook is given back on every thread, and threading's
 * hooks are left as they were found. */
#include "legacy.h"
#include "module.h"

#include <string.h>

/* What a PkHook is. */
enum {
    ROLE_THREAD,    /* installed on `ts` as its hook of `kind` */
    ROLE_THREADING, /* threading's settrace/setprofile hook: hooks a new thread at its first event */
    ROLE_NOLINES,   /* a frame's f_trace wrapper: prev_obj gets every event but line events */
    ROLE_SYNC,      /* 3.13: another thread's profile hook that sets its trace hook there */
};

/* ---- process-wide state ------------------------------------------------
 * Process-wide like the hooks themselves: every thread state of the
 * process has one profile and one trace function, and threading's hooks
 * are global.  `hook_type` is made at the first install and kept for the
 * life of the process, as the hook objects it makes may outlive any
 * module object (a thread state, or a program's saved sys.gettrace(),
 * holds them). */
static PyTypeObject *hook_type;
static struct {
    Py_tracefunc fast, slow;  /* profkit's functions, for the hooks made from now on */
    int flags;                /* their options (PK_HOOK_*) */
    int all;                  /* open all-threads installs */
    PkHook *threading_hook;   /* in threading while all > 0 (strong) */
    PyObject *threading_prev; /* threading's hook before it (strong, maybe None) */
} kinds[2];

#if !PK_HAVE_SET_OTHER_TRACE
static int arm_sync(PyThreadState *ts);
static int lift_sync(PyThreadState *ts);
static int sync_event(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);
#endif

/* ---- hook objects ------------------------------------------------------ */

static Py_tracefunc cur_fn(PyThreadState *ts, int kind)
{
    return kind == PK_HOOK_PROFILE ? ts->c_profilefunc : ts->c_tracefunc;
}

static PyObject *cur_obj(PyThreadState *ts, int kind)
{
    return kind == PK_HOOK_PROFILE ? ts->c_profileobj : ts->c_traceobj;
}

static int is_hook(PyObject *o)
{
    return o != NULL && hook_type != NULL && Py_TYPE(o) == hook_type;
}

/* ts's hook of `kind` when it is one of ours (borrowed), else NULL. */
static PkHook *ours(PyThreadState *ts, int kind)
{
    PyObject *o = cur_obj(ts, kind);
    PkHook *h = (PkHook *)o;

    if (!is_hook(o) || h->role != ROLE_THREAD || h->kind != kind || cur_fn(ts, kind) != h->fn)
        return NULL;
    return h;
}

/* A new hook object (new reference), or NULL with an exception set. */
static PkHook *hook_new(int kind, int role)
{
    PkHook *h = PyObject_New(PkHook, hook_type);

    if (h == NULL)
        return NULL;
    h->kind = kind;
    h->role = role;
    h->flags = 0;
    h->here = 0;
    h->fn = h->fast = h->slow = NULL;
    h->prev_fn = NULL;
    h->prev_obj = NULL;
    h->ts = NULL;
    return h;
}

/* Sets what h displaced (obj borrowed, kept strong), and with it the
 * function h goes with: the slow one while there is a function to chain
 * (the caller installs it). */
static void hook_set_prev(PkHook *h, Py_tracefunc fn, PyObject *obj)
{
    PyObject *old = h->prev_obj;

    h->prev_fn = fn;
    h->prev_obj = obj;
    Py_XINCREF(obj);
    h->fn = ((h->flags & PK_HOOK_CHAIN) && fn != NULL) || (h->flags & PK_HOOK_LOCAL) ? h->slow
                                                                                    : h->fast;
    Py_XDECREF(old);
}

/* Makes fn(obj) ts's hook of `kind`.  CPython drops the old object before
 * it takes the new one, and the old one (a hook of ours) may hold the only
 * other reference to the new one: obj is kept alive across. */
static int set_on(PyThreadState *ts, int kind, Py_tracefunc fn, PyObject *obj)
{
    int rc = 0;

    Py_XINCREF(obj);
    if (kind == PK_HOOK_PROFILE)
        rc = _PyEval_SetProfile(ts, fn, obj);
#if PK_HAVE_SET_OTHER_TRACE
    else
        rc = _PyEval_SetTrace(ts, fn, obj);
#else
    else if (ts == PyThreadState_Get())
        PyEval_SetTrace(fn, obj); /* reports its own failure as unraisable */
    else
        rc = arm_sync(ts);        /* the thread sets it itself */
#endif
    Py_XDECREF(obj);
    return rc;
}

/* ts's previous function comes back, in place of our hook h. */
static int give_back(PyThreadState *ts, PkHook *h)
{
    PyObject *prev = h->prev_obj;
    int rc;

    Py_INCREF(h);
    Py_XINCREF(prev);
    rc = set_on(ts, h->kind, h->prev_fn, prev);
    Py_XDECREF(prev);
    Py_DECREF(h);
    return rc;
}

/* Puts a hook of `kind` on ts unless it has one of ours; `here`: one more
 * install for ts alone. */
static int hook_thread(PyThreadState *ts, int kind, int here)
{
    PkHook *h = ours(ts, kind);
    PyObject *cur = cur_obj(ts, kind);
    int rc;

    if (h != NULL) {
        h->here += here;
        return 0;
    }
    if (is_hook(cur) && ((PkHook *)cur)->role == ROLE_THREADING)
        return 0; /* a thread starting: threading's hook does it at its first event */
#if !PK_HAVE_SET_OTHER_TRACE
    if (kind == PK_HOOK_TRACE && ts != PyThreadState_Get())
        return arm_sync(ts); /* `here` is only ever for the calling thread */
    if (kind == PK_HOOK_PROFILE && ts->c_profilefunc == sync_event) {
        /* a pending sync keeps the profile function: hook under it */
        if (lift_sync(ts) < 0 || hook_thread(ts, kind, here) < 0)
            return -1;
        return arm_sync(ts);
    }
#endif
    h = hook_new(kind, ROLE_THREAD);
    if (h == NULL)
        return -1;
    h->ts = ts;
    h->fast = kinds[kind].fast;
    h->slow = kinds[kind].slow;
    h->flags = kinds[kind].flags;
    h->here = here;
    hook_set_prev(h, cur_fn(ts, kind), cur_obj(ts, kind));
    rc = set_on(ts, kind, h->fn, (PyObject *)h);
    Py_DECREF(h); /* the thread state holds it */
    return rc;
}

/* Undoes one install on ts (`here`: one for ts alone): once no install
 * wants ts's hook, ts gets back what it had.  A thread whose hook is not
 * ours any more (removed, or replaced by another tool) is left alone. */
static int unhook_thread(PyThreadState *ts, int kind, int here)
{
    PkHook *h = ours(ts, kind);

#if !PK_HAVE_SET_OTHER_TRACE
    if (kind == PK_HOOK_PROFILE && ts->c_profilefunc == sync_event) {
        if (lift_sync(ts) < 0 || unhook_thread(ts, kind, here) < 0)
            return -1;
        return arm_sync(ts);
    }
    if (h == NULL && kind == PK_HOOK_TRACE && ts->c_profilefunc == sync_event)
        return lift_sync(ts); /* a sync not done yet: no longer wanted */
#endif
    if (h == NULL)
        return 0;
    if (here && h->here > 0)
        h->here--;
    if (h->here > 0 || kinds[kind].all > 0)
        return 0;
    return give_back(ts, h);
}

/* ---- threading's hooks ------------------------------------------------- */

static const char *const SETTERS[2] = {"setprofile", "settrace"};
static const char *const SAVED[2] = {"_profile_hook", "_trace_hook"};

/* threading's present hook of `kind` (new reference; None when unset). */
static PyObject *threading_get(int kind)
{
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *hook;

    if (threading == NULL)
        return NULL;
    hook = PyObject_GetAttrString(threading, SAVED[kind]);
    Py_DECREF(threading);
    if (hook == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        hook = pk_newref(Py_None);
    }
    return hook;
}

/* `module`.setprofile(hook) or .settrace(hook), module "threading" or "sys". */
static int call_setter(const char *module, int kind, PyObject *hook)
{
    PyObject *m = PyImport_ImportModule(module);
    PyObject *r;

    if (m == NULL)
        return -1;
    r = PyObject_CallMethod(m, SETTERS[kind], "O", hook);
    Py_DECREF(m);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* The threading hook, called by a new thread's first event: the thread
 * gets, as the function its hook displaces, what threading's previous
 * hook would have given it, then our hook, which takes the event. */
static PyObject *threading_call(PkHook *th, PyFrameObject *frame, int what, PyObject *arg)
{
    PyThreadState *ts = PyThreadState_Get();
    PyObject *prev;
    PkHook *h;
    int rc;

    Py_INCREF(th);
    /* A thread made before profkit went (its hook is stale) starts as
     * threading's present hook would start it. */
    prev = kinds[th->kind].threading_hook == th ? pk_newref(kinds[th->kind].threading_prev)
                                                : threading_get(th->kind);
    if (prev != NULL && prev != Py_None && !is_hook(prev))
        rc = call_setter("sys", th->kind, prev);
    else
        rc = prev == NULL ? -1 : set_on(ts, th->kind, NULL, NULL);
    Py_XDECREF(prev);
    if (rc == 0 && kinds[th->kind].all > 0)
        rc = hook_thread(ts, th->kind, 0);
    Py_DECREF(th);
    if (rc < 0)
        return NULL;
    h = ours(ts, th->kind);
    if (h != NULL && h->fn((PyObject *)h, frame, what, arg) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static int install_all(int kind)
{
    PkHook *th;
    PyObject *prev;
    PyThreadState *ts;

    if (kinds[kind].all++ > 0)
        return 0; /* on every thread already */
    /* threading first: importing it must not run under the hook */
    prev = threading_get(kind);
    th = prev == NULL ? NULL : hook_new(kind, ROLE_THREADING);
    if (th == NULL || call_setter("threading", kind, (PyObject *)th) < 0) {
        Py_XDECREF(prev);
        Py_XDECREF(th);
        kinds[kind].all--;
        return -1;
    }
    kinds[kind].threading_hook = th;
    kinds[kind].threading_prev = prev;
    for (ts = PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(PyThreadState_Get()));
         ts != NULL; ts = PyThreadState_Next(ts)) {
        if (hook_thread(ts, kind, 0) < 0) {
            PkSavedError saved;
            pk_error_save(&saved);
            if (pk_legacy_remove((PkHookKind)kind, kinds[kind].fast, 1) < 0)
                PyErr_Clear();
            pk_error_restore(&saved);
            return -1;
        }
    }
    return 0;
}

static int remove_all(int kind)
{
    PkFirstError fe = {.failed = 0};
    PyThreadState *ts;
    PkHook *th = kinds[kind].threading_hook;
    PyObject *prev = kinds[kind].threading_prev;

    if (kinds[kind].all == 0 || --kinds[kind].all > 0)
        return 0;
    for (ts = PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(PyThreadState_Get()));
         ts != NULL; ts = PyThreadState_Next(ts))
        pk_first_error_note(&fe, unhook_thread(ts, kind, 0));
    kinds[kind].threading_hook = NULL;
    kinds[kind].threading_prev = NULL;
    if (th != NULL) {
        /* threading gets its hook back, unless someone replaced ours */
        PyObject *now = threading_get(kind);
        pk_first_error_note(&fe, now == NULL ? -1 : 0);
        if (now == (PyObject *)th)
            pk_first_error_note(&fe, call_setter("threading", kind, prev));
        Py_XDECREF(now);
    }
    Py_XDECREF(th);
    Py_XDECREF(prev);
    return pk_first_error_end(&fe);
}

/* ---- 3.13: another thread's trace hook, set by that thread -------------- */

#if !PK_HAVE_SET_OTHER_TRACE

/* Arms ts (another thread) to bring its trace hook in line with the open
 * installs at its next event: a profile hook (which can be set from here)
 * does it, then gives the thread its profile function back and hands it
 * the event. */
static int arm_sync(PyThreadState *ts)
{
    PkHook *s;
    int rc;

    if (ts->c_profilefunc == sync_event)
        return 0;
    s = hook_new(PK_HOOK_PROFILE, ROLE_SYNC);
    if (s == NULL)
        return -1;
    s->ts = ts;
    s->fast = s->slow = sync_event;
    hook_set_prev(s, ts->c_profilefunc, ts->c_profileobj);
    rc = set_on(ts, PK_HOOK_PROFILE, sync_event, (PyObject *)s);
    Py_DECREF(s);
    return rc;
}

/* Takes ts's sync hook off, its profile function back on. */
static int lift_sync(PyThreadState *ts)
{
    if (ts->c_profilefunc != sync_event)
        return 0;
    return give_back(ts, (PkHook *)ts->c_profileobj);
}

static int sync_event(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    PyThreadState *ts = PyThreadState_Get();
    PkHook *s = (PkHook *)obj;
    Py_tracefunc pf = s->prev_fn;
    PyObject *po = s->prev_obj;
    PkSavedError saved;
    int rc;

    Py_INCREF(s);
    Py_XINCREF(po);
    pk_error_save(&saved);
    rc = lift_sync(ts);
    if (rc == 0)
        rc = kinds[PK_HOOK_TRACE].all > 0 ? hook_thread(ts, PK_HOOK_TRACE, 0)
                                          : unhook_thread(ts, PK_HOOK_TRACE, 0);
    if (rc < 0)
        PyErr_Clear(); /* nowhere to report it: the thread goes on unhooked */
    pk_error_restore(&saved);
    rc = pf != NULL ? pf(po, frame, what, arg) : 0;
    Py_XDECREF(po);
    Py_DECREF(s);
    return rc;
}

#endif /* !PK_HAVE_SET_OTHER_TRACE */

/* ---- chaining ---------------------------------------------------------- */

/* A wrapper of a frame's local trace function f that passes it every
 * event but line events (new reference). */
static PyObject *nolines_new(PyObject *f)
{
    PkHook *w = hook_new(PK_HOOK_TRACE, ROLE_NOLINES);

    if (w != NULL)
        hook_set_prev(w, NULL, f);
    return (PyObject *)w;
}

static PyObject *nolines_call(PkHook *w, PyObject *frame, PyObject *event, int what, PyObject *arg)
{
    PyObject *r;

    if (what == PyTrace_LINE)
        return pk_newref((PyObject *)w);
    Py_INCREF(w); /* the call may replace the frame's f_trace, our only holder */
    r = PyObject_CallFunctionObjArgs(w->prev_obj, frame, event, arg, NULL);
    if (r != NULL && r != Py_None) {
        if (r == w->prev_obj)
            Py_SETREF(r, pk_newref((PyObject *)w));
        else
            Py_SETREF(r, nolines_new(r)); /* another local function: wrapped too */
    }
    Py_DECREF(w);
    return r;
}

/* The chained function switched line events off in a frame that is
 * profiled: they go back on, and its own local function no longer sees
 * them.  Failures are dropped: the frame's lines are then also the
 * chained function's. */
static void keep_lines(PyFrameObject *frame)
{
    PyObject *local, *wrapped;

    pk_frame_set_trace_lines(frame, 1);
    local = PyObject_GetAttrString((PyObject *)frame, "f_trace");
    if (local != NULL && local != Py_None && !is_hook(local)) {
        wrapped = nolines_new(local);
        if (wrapped == NULL || PyObject_SetAttrString((PyObject *)frame, "f_trace", wrapped) < 0)
            PyErr_Clear();
        Py_XDECREF(wrapped);
    }
    Py_XDECREF(local);
    PyErr_Clear();
}

/* PK_HOOK_LOCAL: a frame with no local trace function gets h, so that
 * sys.settrace(saved) inside it resumes line events at once. */
static void set_local(PkHook *h, PyFrameObject *frame)
{
    PyObject *local = PyObject_GetAttrString((PyObject *)frame, "f_trace");

    if (local == Py_None && PyObject_SetAttrString((PyObject *)frame, "f_trace", (PyObject *)h) < 0)
        PyErr_Clear();
    Py_XDECREF(local);
    PyErr_Clear();
}

int pk_legacy_chain(PkHook *h, PyFrameObject *frame, int what, PyObject *arg, int profiled)
{
    PyThreadState *ts = PyThreadState_Get();
    int lines = pk_frame_trace_lines(frame), rc = 0;
    Py_tracefunc was = h->fn;
    PkSavedError saved;

    Py_INCREF(h); /* whatever the chained function does to the thread's hook */
    if ((h->flags & PK_HOOK_CHAIN) && h->prev_fn != NULL) {
        PyObject *prev = h->prev_obj;
        Py_XINCREF(prev);
        rc = h->prev_fn(prev, frame, what, arg);
        Py_XDECREF(prev);
        if (ts->c_tracefunc != was || ts->c_traceobj != (PyObject *)h) {
            /* It replaced itself (coverage's start-up trace with its C
             * tracer, say) or removed itself (sys.settrace(None), or an
             * error in a Python trace function): that is the chain from now
             * on, and our hook goes back on.  A hook of ours put back
             * through Python (sys.settrace(sys.gettrace())) changes nothing. */
            if (!is_hook(ts->c_traceobj))
                hook_set_prev(h, ts->c_tracefunc, ts->c_traceobj);
            pk_error_save(&saved);
            if (set_on(ts, PK_HOOK_TRACE, h->fn, (PyObject *)h) < 0)
                PyErr_Clear();
            pk_error_restore(&saved);
        }
    }
    pk_error_save(&saved);
    if (profiled && lines && !pk_frame_trace_lines(frame))
        keep_lines(frame);
    if ((h->flags & PK_HOOK_LOCAL) && what == PyTrace_CALL)
        set_local(h, frame);
    pk_error_restore(&saved);
    Py_DECREF(h);
    return rc;
}

/* ---- the hook type ----------------------------------------------------- */

/* sys.settrace's event names, at their PyTrace_* index. */
static const char *const EVENTS[] = {"call",        "exception", "line",     "return",
                                     "c_call",      "c_exception", "c_return", "opcode"};

/* A hook of ours called as a Python trace function: put back with
 * sys.settrace(saved) (the C hook goes back on and takes the event), or a
 * frame's f_trace (PK_HOOK_LOCAL: it stays, and does nothing while the C
 * hook is on). */
static PyObject *thread_call(PkHook *h, PyFrameObject *frame, int what, PyObject *arg)
{
    PyThreadState *ts = PyThreadState_Get();
    int local = h->flags & PK_HOOK_LOCAL, rc;

    if (h->ts != ts)
        Py_RETURN_NONE; /* another thread's hook */
    if (ours(ts, h->kind) == h)
        return pk_newref((PyObject *)h);
    if (cur_obj(ts, h->kind) != (PyObject *)h)
        Py_RETURN_NONE; /* a stale f_trace, called under another tracer */
    Py_INCREF(h);
    rc = set_on(ts, h->kind, h->fn, (PyObject *)h);
    if (rc == 0)
        rc = h->fn((PyObject *)h, frame, what, arg);
    Py_DECREF(h);
    if (rc < 0)
        return NULL;
    if (local)
        return pk_newref((PyObject *)h);
    Py_RETURN_NONE;
}

static PyObject *hook_call(PyObject *self, PyObject *args, PyObject *kwds)
{
    PkHook *h = (PkHook *)self;
    PyObject *frame, *event, *arg;
    int what;

    if (kwds != NULL && PyDict_GET_SIZE(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "a trace hook takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!UO:hook", &PyFrame_Type, &frame, &event, &arg))
        return NULL;
    for (what = 0; what < (int)(sizeof EVENTS / sizeof EVENTS[0]); what++) {
        if (PyUnicode_CompareWithASCIIString(event, EVENTS[what]) == 0)
            break;
    }
    if (what == (int)(sizeof EVENTS / sizeof EVENTS[0])) {
        PyErr_Format(PyExc_ValueError, "unknown trace event %R", event);
        return NULL;
    }
    switch (h->role) {
    case ROLE_THREADING:
        return threading_call(h, (PyFrameObject *)frame, what, arg);
    case ROLE_NOLINES:
        return nolines_call(h, frame, event, what, arg);
    case ROLE_THREAD:
        return thread_call(h, (PyFrameObject *)frame, what, arg);
    default:
        Py_RETURN_NONE;
    }
}

static PyObject *hook_repr(PyObject *self)
{
    static const char *const roles[] = {"thread", "threading", "nolines", "sync"};
    PkHook *h = (PkHook *)self;

    return PyUnicode_FromFormat("<profkit %s hook (%s)>", h->kind == PK_HOOK_PROFILE ? "profile" : "trace",
                                roles[h->role]);
}

static void hook_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    Py_CLEAR(((PkHook *)self)->prev_obj);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *hook_refuse_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    PyErr_Format(PyExc_TypeError, "cannot create '%s' instances", type->tp_name);
    return NULL;
}

/* Not GC-tracked: a hook holds only trace functions, and none holds it. */
static PyType_Slot Hook_slots[] = {
    {Py_tp_dealloc, (void *)hook_dealloc},
    {Py_tp_call, (void *)hook_call},
    {Py_tp_repr, (void *)hook_repr},
    {Py_tp_new, (void *)hook_refuse_new},
    {Py_tp_doc, (void *)"A thread's profkit hook: what sys.gettrace()/getprofile() return while "
                        "profkit's C hook is on.  sys.settrace(it) puts the C hook back."},
    {0, NULL},
};
PK_TYPE_SPEC(Hook, PkHook, 0);

/* ---- the API ----------------------------------------------------------- */

int pk_legacy_install_ex(PkHookKind kind, Py_tracefunc fast, Py_tracefunc slow, int flags,
                         int all_threads)
{
    if (hook_type == NULL) {
        hook_type = (PyTypeObject *)PyType_FromSpec(&Hook_spec);
        if (hook_type == NULL)
            return -1;
    }
    kinds[kind].fast = fast;
    kinds[kind].slow = slow;
    kinds[kind].flags = kind == PK_HOOK_TRACE ? flags : 0; /* the profile callback never chains */
    if (!all_threads)
        return hook_thread(PyThreadState_Get(), kind, 1);
    return install_all(kind);
}

int pk_legacy_install(PkHookKind kind, Py_tracefunc fn, int all_threads)
{
    return pk_legacy_install_ex(kind, fn, fn, 0, all_threads);
}

int pk_legacy_remove(PkHookKind kind, Py_tracefunc fn, int all_threads)
{
    (void)fn; /* ours are known by their hook objects */
    if (hook_type == NULL)
        return 0;
    if (!all_threads)
        return unhook_thread(PyThreadState_Get(), kind, 1);
    return remove_all(kind);
}
