/* callsites.c: switching off the CALL events of sites that call a global
 * Python function, and back on when the global changes (see callsites.h).
 *
 * Must never: switch off a site that could call a builtin without a watch
 * that turns it back on first, raise from a callback or a dict watcher, or
 * leave a site off after the session (the next session may get the same
 * tool id). */
#include "callsites.h"

#if PK_HAVE_MONITORING

#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define VOLATILE 8 /* restarts a name may cause before it is no longer trusted */

struct PkSites {
    PyObject *globals, *builtins; /* strong: where its sites were switched off, or NULL */
    PyObject *names;              /* strong: {offset: global name} from the analyser */
    uint32_t off_epoch;           /* s.epoch when one of its sites was last switched off */
    int unsafe;                   /* met other namespaces: every site stays on */
    Py_ssize_t n;                 /* code units; state[] has one byte each */
    uint8_t state[];              /* 1 where a CALL always calls one global name */
};

/* The session; process-wide, as only one function profiler runs at a time. */
static struct {
    int watcher;         /* the dict watcher id, -1 until first needed */
    int on;              /* a session is running and may switch sites off */
    uint32_t epoch;      /* +1 at each restart: sites switched off before are on again */
    int any_off;         /* a site was switched off since the last restart */
    PyObject *analyser;  /* strong: profkit.callsites.global_callees */
    PyObject *restart;   /* strong: sys.monitoring.restart_events */
    PkPtrMap dicts;      /* watched dict -> {name: restarts it caused} (strong), or NULL */
    PyObject **watched;  /* the watched dicts (borrowed; NULL once deallocated) */
    size_t n_watched, cap_watched;
    PkPtrMap before;     /* code objects running when the session began -> (void *)1 */
    long n_off, n_restarts; /* this session's switch-offs and restarts (for tests) */
} s = {.watcher = -1, .epoch = 1};

/* Every site switched off comes back on. */
static void restart(void)
{
    PyObject *r;

    if (!s.any_off)
        return;
    s.any_off = 0;
    s.epoch++;
    s.n_restarts++;
    r = PyObject_CallNoArgs(s.restart);
    if (r == NULL)
        PyErr_WriteUnraisable(s.restart);
    Py_XDECREF(r);
}

static void forget_dict(PyObject *d)
{
    PyObject *names = pk_map_get(&s.dicts, (uintptr_t)d, 0);
    size_t i;

    if (names == NULL)
        return;
    pk_map_put(&s.dicts, (uintptr_t)d, 0, NULL); /* the key exists: cannot fail */
    for (i = 0; i < s.n_watched; i++)
        if (s.watched[i] == d)
            s.watched[i] = NULL;
    Py_DECREF(names);
}

/* A watched name changed: restart unless it is still a Python function. */
static void name_changed(PyObject *names, PyObject *key, PyObject *new_value)
{
    PyObject *count, *more;

    if (new_value != NULL && PyFunction_Check(new_value))
        return; /* a Python function still: its calls are still seen by PY_START */
    count = PyDict_GetItemWithError(names, key);
    if (count == NULL) {
        PyErr_Clear();
        return; /* not a name any site depends on */
    }
    more = PyLong_FromLong(PyLong_AsLong(count) + 1);
    if (more == NULL || PyDict_SetItem(names, key, more) < 0)
        PyErr_Clear();
    Py_XDECREF(more);
    restart();
}

static int on_dict_event(PyDict_WatchEvent ev, PyObject *d, PyObject *key, PyObject *new_value)
{
    PyObject *names = pk_map_get(&s.dicts, (uintptr_t)d, 0);
    PkSavedError saved;

    if (names == NULL)
        return 0;
    pk_error_save(&saved);
    switch (ev) {
    case PyDict_EVENT_ADDED:
    case PyDict_EVENT_MODIFIED:
    case PyDict_EVENT_DELETED:
        name_changed(names, key, new_value);
        break;
    case PyDict_EVENT_DEALLOCATED:
        forget_dict(d);
        restart();
        break;
    default: /* cleared, or filled from another dict at once */
        restart();
        break;
    }
    pk_error_restore(&saved);
    return 0;
}

/* The names watched in dict d, watching it first if need be; borrowed,
 * or NULL with an exception set. */
static PyObject *watch(PyObject *d)
{
    PyObject *names = pk_map_get(&s.dicts, (uintptr_t)d, 0);

    if (names != NULL)
        return names;
    if (s.n_watched == s.cap_watched) {
        size_t cap = s.cap_watched ? 2 * s.cap_watched : 16;
        PyObject **w = realloc(s.watched, cap * sizeof *w);
        if (w == NULL)
            return PyErr_NoMemory();
        s.watched = w;
        s.cap_watched = cap;
    }
    names = PyDict_New();
    if (names == NULL)
        return NULL;
    if (pk_map_put(&s.dicts, (uintptr_t)d, 0, names) != PK_OK) {
        Py_DECREF(names);
        return PyErr_NoMemory();
    }
    if (PyDict_Watch(s.watcher, d) < 0) {
        forget_dict(d);
        return NULL;
    }
    s.watched[s.n_watched++] = d;
    return names;
}

/* Watches `name` in d.  1 when it may be trusted, 0 when it has changed
 * too often, -1 with an exception set. */
static int watch_name(PyObject *d, PyObject *name)
{
    static PyObject *zero;
    PyObject *names = watch(d), *count;

    if (names == NULL)
        return -1;
    if (zero == NULL && (zero = PyLong_FromLong(0)) == NULL)
        return -1;
    count = PyDict_SetDefault(names, name, zero);
    if (count == NULL)
        return -1;
    return PyLong_AsLong(count) < VOLATILE;
}

/* Records the code objects of every frame running now, on every thread. */
static int note_running_code(void)
{
    PyThreadState *ts = PyInterpreterState_ThreadHead(PyInterpreterState_Get());

    for (; ts != NULL; ts = PyThreadState_Next(ts)) {
        PyFrameObject *f = PyThreadState_GetFrame(ts);
        while (f != NULL) {
            PyCodeObject *code = PyFrame_GetCode(f);
            PyFrameObject *back = PyFrame_GetBack(f);
            int rc = pk_map_put(&s.before, (uintptr_t)code, 0, (void *)1);
            Py_DECREF(code);
            Py_DECREF(f);
            f = back;
            if (rc != PK_OK) {
                Py_XDECREF(f);
                return -1;
            }
        }
    }
    return 0;
}

/* Whether every frame of `code` now on a thread's stack runs with these
 * namespaces.  A frame that started before the code's sites were first
 * switched off was never checked at its start (pk_sites_start). */
static int frames_agree(PyObject *code, PyObject *globals, PyObject *builtins)
{
    PyThreadState *ts = PyInterpreterState_ThreadHead(PyInterpreterState_Get());
    int agree = 1;

    for (; ts != NULL && agree; ts = PyThreadState_Next(ts)) {
        PyFrameObject *f = PyThreadState_GetFrame(ts);
        while (f != NULL) {
            PyCodeObject *c = PyFrame_GetCode(f);
            PyFrameObject *back;
            if ((PyObject *)c == code) {
                PyObject *fg = PyFrame_GetGlobals(f), *fb = PyFrame_GetBuiltins(f);
                agree = fg == globals && fb == builtins;
                Py_XDECREF(fg);
                Py_XDECREF(fb);
            }
            Py_DECREF(c);
            back = agree ? PyFrame_GetBack(f) : NULL;
            Py_DECREF(f);
            f = back;
        }
    }
    return agree;
}

static PyObject *import_attr(const char *module, const char *attr)
{
    PyObject *m = PyImport_ImportModule(module), *a;

    if (m == NULL)
        return NULL;
    a = PyObject_GetAttrString(m, attr);
    Py_DECREF(m);
    return a;
}

int pk_sites_begin(void)
{
    const char *env = getenv("PROFKIT_CALL_EVENTS");
    PkSavedError saved;

    s.n_off = s.n_restarts = 0;
    if (env != NULL && strcmp(env, "all") == 0)
        return 0;
    pk_error_save(&saved);
    if (s.watcher < 0)
        s.watcher = PyDict_AddWatcher(on_dict_event);
    if (s.watcher >= 0 && s.analyser == NULL)
        s.analyser = import_attr("profkit.callsites", "global_callees");
    if (s.analyser != NULL && s.restart == NULL) {
        PyObject *mon = import_attr("sys", "monitoring");
        if (mon != NULL) {
            s.restart = PyObject_GetAttrString(mon, "restart_events");
            Py_DECREF(mon);
        }
    }
    s.on = s.watcher >= 0 && s.analyser != NULL && s.restart != NULL && note_running_code() == 0;
    PyErr_Clear(); /* without it, every site stays on: slower, still exact */
    pk_error_restore(&saved);
    return s.on;
}

void pk_sites_restart(void)
{
    PkSavedError saved;

    pk_error_save(&saved);
    restart();
    pk_error_restore(&saved);
}

void pk_sites_end(void)
{
    PkSavedError saved;
    size_t i;

    pk_error_save(&saved);
    restart();
    for (i = 0; i < s.n_watched; i++) {
        PyObject *d = s.watched[i];
        if (d == NULL)
            continue;
        if (PyDict_Unwatch(s.watcher, d) < 0)
            PyErr_WriteUnraisable(NULL);
        Py_XDECREF((PyObject *)pk_map_get(&s.dicts, (uintptr_t)d, 0));
    }
    free(s.watched);
    s.watched = NULL;
    s.n_watched = s.cap_watched = 0;
    pk_map_free(&s.dicts);
    pk_map_free(&s.before);
    s.on = 0;
    pk_error_restore(&saved);
}

/* The sites of `code`, from the analyser; NULL with an exception set. */
static PkSites *make_sites(PyObject *code)
{
    PyObject *res = PyObject_CallOneArg(s.analyser, code), *key, *name;
    Py_ssize_t n, pos = 0;
    PkSites *st = NULL;

    if (res == NULL)
        return NULL;
    if (!PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2 ||
        !PyDict_Check(PyTuple_GET_ITEM(res, 1))) {
        PyErr_SetString(PyExc_TypeError, "global_callees() must return (int, dict)");
        goto done;
    }
    n = PyLong_AsSsize_t(PyTuple_GET_ITEM(res, 0));
    if (n < 0)
        goto done;
    st = calloc(1, sizeof *st + (size_t)n);
    if (st == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    st->n = n;
    st->names = pk_newref(PyTuple_GET_ITEM(res, 1));
    while (PyDict_Next(st->names, &pos, &key, &name)) {
        Py_ssize_t off = PyLong_AsSsize_t(key);
        if (off >= 0 && off / 2 < n && PyUnicode_Check(name))
            st->state[off / 2] = 1;
        PyErr_Clear();
    }
done:
    Py_DECREF(res);
    return st;
}

/* A frame of s's code runs with other namespaces than its sites were
 * switched off in: they all stay on from now on. */
static void unsafe(PkSites *st)
{
    st->unsafe = 1;
    if (st->off_epoch == s.epoch)
        restart();
}

PyObject *pk_sites_call(PkSites **slot, PyObject *code, PyObject *offset, PyObject *disable)
{
    PkSites *st = *slot;
    PyObject *globals, *builtins, *name;
    Py_ssize_t off;
    PkSavedError saved;
    int ok;

    if (!s.on)
        return Py_None;
    if (PK_UNLIKELY(st == NULL)) {
        pk_error_save(&saved);
        st = *slot = make_sites(code);
        if (st == NULL)
            PyErr_Clear(); /* asked again at the next call: slower, still exact */
        pk_error_restore(&saved);
        if (st == NULL)
            return Py_None;
    }
    off = PyLong_AsSsize_t(offset);
    if (off < 0 || off / 2 >= st->n || !st->state[off / 2] || st->unsafe) {
        if (off < 0)
            PyErr_Clear();
        return Py_None;
    }
    if (pk_map_get(&s.before, (uintptr_t)code, 0) != NULL) {
        st->unsafe = 1; /* it was running before: some frame may have other namespaces */
        return Py_None;
    }
    globals = PyEval_GetGlobals();
    builtins = PyEval_GetBuiltins();
    if (globals == NULL || builtins == NULL || !PyDict_CheckExact(globals) ||
        !PyDict_CheckExact(builtins))
        return Py_None; /* a dict subclass may answer a lookup without changing */
    if (st->globals == NULL) {
        st->globals = pk_newref(globals);
        st->builtins = pk_newref(builtins);
    }
    else if (st->globals != globals || st->builtins != builtins) {
        unsafe(st);
        return Py_None;
    }
    if (st->off_epoch != s.epoch && !frames_agree(code, globals, builtins)) {
        st->unsafe = 1; /* a frame already running has other namespaces */
        return Py_None;
    }
    pk_error_save(&saved);
    name = PyDict_GetItemWithError(st->names, offset); /* borrowed */
    ok = name != NULL && watch_name(globals, name) == 1 && watch_name(builtins, name) == 1;
    if (!ok) {
        PyErr_Clear();
        st->state[off / 2] = 0; /* changes too often, or cannot be watched: stays on */
    }
    pk_error_restore(&saved);
    if (!ok)
        return Py_None;
    st->off_epoch = s.epoch;
    s.any_off = 1;
    s.n_off++;
    return disable;
}

int pk_sites_any_off(const PkSites *st)
{
    return st->off_epoch == s.epoch && !st->unsafe;
}

void pk_sites_start(PkSites *st)
{
    if (!pk_sites_any_off(st))
        return;
    if (PyEval_GetGlobals() == st->globals && PyEval_GetBuiltins() == st->builtins)
        return;
    unsafe(st);
}

void pk_sites_counts(long *off, long *restarts)
{
    *off = s.n_off;
    *restarts = s.n_restarts;
}

void pk_sites_free(PkSites *st)
{
    if (st == NULL)
        return;
    Py_XDECREF(st->globals);
    Py_XDECREF(st->builtins);
    Py_XDECREF(st->names);
    free(st);
}

#endif /* PK_HAVE_MONITORING */
