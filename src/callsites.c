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
    PkPtrMap untrusted;  /* dicts that had a key other than an exact str -> (void *)1 */
    PyObject *current_frames; /* strong: sys._current_frames */
    long n_off, n_restarts; /* this session's switch-offs and restarts (for tests) */
} s = {.watcher = -1, .epoch = 1};

/* Every site switched off comes back on. */
static void restart(void)
{
    PyObject *r;

    if (!s.any_off)
        return;
    r = PyObject_CallNoArgs(s.restart);
    if (r == NULL) {
        /* Sites may stay off: say so, and switch no more off. */
        PyErr_WriteUnraisable(s.restart);
        s.on = 0;
        return;
    }
    Py_DECREF(r);
    s.any_off = 0;
    s.epoch++;
    s.n_restarts++;
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
        if (PyUnicode_CheckExact(key)) {
            name_changed(names, key, new_value);
            break;
        }
        /* A key whose __eq__ may answer differently later: a lookup of a
         * watched name could change without another event. */
        if (pk_map_put(&s.untrusted, (uintptr_t)d, 0, (void *)1) != PK_OK)
            s.on = 0;
        restart();
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

/* Whether every key of d is an exact str: only then does a lookup of a
 * name compare strings alone, with no __eq__ of the program's. */
static int str_keys_only(PyObject *d)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;

    while (PyDict_Next(d, &pos, &key, &value))
        if (!PyUnicode_CheckExact(key))
            return 0;
    return 1;
}

/* The names watched in dict d, watching it first if need be; borrowed,
 * or NULL with an exception set. */
static PyObject *watch(PyObject *d)
{
    PyObject *names = pk_map_get(&s.dicts, (uintptr_t)d, 0);

    if (names != NULL)
        return names;
    if (pk_map_get(&s.untrusted, (uintptr_t)d, 0) != NULL || !str_keys_only(d)) {
        PyErr_SetString(PyExc_ValueError, "a namespace with a key other than a str");
        return NULL;
    }
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

/* Calls visit(frame, arg) for every frame on every thread's stack, from
 * sys._current_frames() (which reads the threads under the runtime's lock),
 * until visit returns 0.  Returns 1 when every frame was visited and
 * accepted, 0 when visit stopped the walk, -1 with an exception set. */
static int each_frame(int (*visit)(PyFrameObject *f, void *arg), void *arg)
{
    PyObject *frames, *key, *top;
    Py_ssize_t pos = 0;
    int rc = 1;

    frames = s.current_frames != NULL ? PyObject_CallNoArgs(s.current_frames) : NULL;
    if (frames == NULL || !PyDict_Check(frames)) {
        if (frames != NULL)
            PyErr_SetString(PyExc_TypeError, "sys._current_frames() did not give a dict");
        Py_XDECREF(frames);
        return -1;
    }
    while (rc == 1 && PyDict_Next(frames, &pos, &key, &top)) {
        PyFrameObject *f = (PyFrameObject *)pk_newref(top);
        while (f != NULL && rc == 1) {
            PyFrameObject *back;
            rc = visit(f, arg);
            back = PyFrame_GetBack(f);
            Py_DECREF(f);
            f = back;
        }
        Py_XDECREF(f);
    }
    Py_DECREF(frames);
    if (rc == 1 && PyErr_Occurred())
        rc = -1;
    return rc;
}

static int note_code(PyFrameObject *f, void *unused)
{
    PyCodeObject *code = PyFrame_GetCode(f);
    int rc = pk_map_put(&s.before, (uintptr_t)code, 0, (void *)1);

    Py_DECREF(code);
    if (rc != PK_OK) {
        PyErr_NoMemory();
        return -1;
    }
    return 1;
}

typedef struct {
    PyObject *code, *globals, *builtins;
} Namespaces;

static int same_namespaces(PyFrameObject *f, void *arg)
{
    const Namespaces *ns = arg;
    PyCodeObject *code = PyFrame_GetCode(f);
    int agree = 1;

    if ((PyObject *)code == ns->code) {
        PyObject *fg = PyFrame_GetGlobals(f), *fb = PyFrame_GetBuiltins(f);
        agree = fg == ns->globals && fb == ns->builtins;
        Py_XDECREF(fg);
        Py_XDECREF(fb);
    }
    Py_DECREF(code);
    return agree;
}

/* Whether every frame of `code` now on a thread's stack runs with these
 * namespaces.  A frame that started before the code's sites were first
 * switched off was never checked at its start (pk_sites_start).  A walk
 * that fails answers no. */
static int frames_agree(PyObject *code, PyObject *globals, PyObject *builtins)
{
    Namespaces ns = {code, globals, builtins};
    int rc = each_frame(same_namespaces, &ns);

    if (rc < 0)
        PyErr_Clear();
    return rc == 1;
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
    if (s.restart != NULL && s.current_frames == NULL)
        s.current_frames = import_attr("sys", "_current_frames");
    s.on = s.watcher >= 0 && s.analyser != NULL && s.restart != NULL &&
           s.current_frames != NULL && each_frame(note_code, NULL) == 1;
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
    pk_map_free(&s.untrusted);
    s.on = 0;
    pk_error_restore(&saved);
}

/* The sites the analyser finds in `code`; NULL with an exception set. */
static PkSites *read_sites(PyObject *code)
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
        if (off >= 0 && off / 2 < n && PyUnicode_CheckExact(name))
            st->state[off / 2] = 1;
        PyErr_Clear();
    }
done:
    Py_DECREF(res);
    return st;
}

PkSites *pk_sites_make(PyObject *code)
{
    PkSavedError saved;
    PkSites *st;

    pk_error_save(&saved);
    st = read_sites(code);
    if (st == NULL) {
        PyErr_Clear();
        st = calloc(1, sizeof *st); /* no site: all stay on, and the analyser is not asked again */
    }
    pk_error_restore(&saved);
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

#define NOT_NOW 0 /* the name is bound to another value now: asked again next call */
#define NEVER -1   /* not watched or not trusted (an exception may be set): stays on */

/* Whether the site may go off: `name` watched in both namespaces, trusted,
 * and bound now to `callable` itself, the value the site will load next
 * until a watched change restarts the sites.  1, NOT_NOW or NEVER. */
static int safe_to_switch_off(PyObject *globals, PyObject *builtins, PyObject *name,
                              PyObject *callable)
{
    PyObject *now;

    if (watch_name(globals, name) != 1 || watch_name(builtins, name) != 1)
        return NEVER;
    /* The callable was loaded before the arguments were evaluated, and they
     * may have rebound the name since: only the current value counts. */
    now = PyDict_GetItemWithError(globals, name);
    if (now == NULL && !PyErr_Occurred())
        now = PyDict_GetItemWithError(builtins, name);
    if (PyErr_Occurred())
        return NEVER;
    return now == callable ? 1 : NOT_NOW;
}

PyObject *pk_sites_call(PkSites *st, PyObject *code, PyObject *offset, PyObject *callable,
                        PyObject *disable)
{
    PyObject *globals, *builtins, *name;
    Py_ssize_t off;
    PkSavedError saved;
    int ok;

    if (!s.on)
        return Py_None;
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
    pk_error_save(&saved);
    if (st->off_epoch != s.epoch && !frames_agree(code, globals, builtins)) {
        st->unsafe = 1; /* a frame already running has other namespaces */
        ok = NEVER;
    }
    else {
        name = PyDict_GetItemWithError(st->names, offset); /* borrowed */
        ok = name != NULL ? safe_to_switch_off(globals, builtins, name, callable) : NEVER;
        if (ok == NEVER)
            st->state[off / 2] = 0; /* changes too often, or cannot be watched: stays on */
    }
    PyErr_Clear();
    pk_error_restore(&saved);
    if (ok != 1)
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
