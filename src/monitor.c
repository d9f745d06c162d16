/* monitor.c: sys.monitoring plumbing shared by the tracers (see monitor.h).
 *
 * Concern: tool ids, callback registration and event masks.  GIL held
 * throughout.  Setup-time code only: it calls Python freely and never runs
 * per event.  Must never: leave a tool id claimed or a callback registered
 * after a failed claim, or run a step of a teardown with an exception set. */
#include "monitor.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int pk_monitor_wanted(void)
{
#if PK_HAVE_MONITORING
    const char *b = getenv("PROFKIT_BACKEND");
    return !(b != NULL && strcmp(b, "legacy") == 0);
#else
    return 0;
#endif
}

#if PK_HAVE_MONITORING

/* A callable whose vectorcall slot is a C function. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
} PkCallback;

static PyMemberDef callback_members[] = {
    {"__vectorcalloffset__", Py_T_PYSSIZET, offsetof(PkCallback, vectorcall), Py_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot callback_slots[] = {
    {Py_tp_call, (void *)PyVectorcall_Call},
    {Py_tp_members, callback_members},
    {Py_tp_doc, (void *)"sys.monitoring callback implemented in C"},
    {0, NULL},
};

/* Made only here (DISALLOW_INSTANTIATION), and never subclassed. */
static PyType_Spec callback_spec = {
    .name = "profkit._engine.Callback",
    .basicsize = sizeof(PkCallback),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = callback_slots,
};

PyTypeObject *pk_monitor_callback_type(PyObject *module)
{
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, &callback_spec, NULL);
}

static PyObject *get_monitoring(void)
{
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *mon;

    if (sys == NULL)
        return NULL;
    mon = PyObject_GetAttrString(sys, "monitoring");
    Py_DECREF(sys);
    return mon;
}

int pk_monitor_constants(PyObject **missing, PyObject **disable)
{
    PyObject *mon = get_monitoring();

    *missing = *disable = NULL;
    if (mon == NULL)
        return -1;
    *missing = PyObject_GetAttrString(mon, "MISSING");
    if (*missing != NULL)
        *disable = PyObject_GetAttrString(mon, "DISABLE");
    Py_DECREF(mon);
    if (*disable == NULL) {
        Py_CLEAR(*missing);
        return -1;
    }
    return 0;
}

/* The bit of an event, from sys.monitoring.events.NAME; -1 on error. */
static long event_bit(PyObject *mon, const char *name)
{
    PyObject *events = PyObject_GetAttrString(mon, "events");
    PyObject *ev;
    long bit;

    if (events == NULL)
        return -1;
    ev = PyObject_GetAttrString(events, name);
    Py_DECREF(events);
    if (ev == NULL)
        return -1;
    bit = PyLong_AsLong(ev);
    Py_DECREF(ev);
    if (bit == -1 && PyErr_Occurred())
        return -1;
    if (bit <= 0) {
        PyErr_Format(PyExc_ValueError, "sys.monitoring.events.%s is not an event bit", name);
        return -1;
    }
    return bit;
}

static int call_void(PyObject *mon, const char *method, const char *fmt, ...)
{
    PyObject *fn = PyObject_GetAttrString(mon, method), *args, *r;
    va_list va;

    if (fn == NULL)
        return -1;
    va_start(va, fmt);
    args = Py_VaBuildValue(fmt, va);
    va_end(va);
    if (args == NULL) {
        Py_DECREF(fn);
        return -1;
    }
    r = PyObject_CallObject(fn, args);
    Py_DECREF(fn);
    Py_DECREF(args);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Registers one row's callback: an object of `type` calling fn, or None
 * when type is NULL. */
static int register_one(PyObject *mon, int tool, long bit, PyTypeObject *type, vectorcallfunc fn)
{
    PyObject *cb;
    int rc;

    if (type == NULL) {
        cb = pk_newref(Py_None);
    }
    else {
        PkCallback *c = PyObject_New(PkCallback, type);
        if (c == NULL)
            return -1;
        c->vectorcall = fn;
        cb = (PyObject *)c;
    }
    rc = call_void(mon, "register_callback", "(ilO)", tool, bit, cb);
    Py_DECREF(cb);
    return rc;
}

/* Registers the rows' callbacks as objects of `type` (stopping at the
 * first failure, which the caller undoes), or, with type NULL, clears them
 * all (a teardown: every row, the first failure reported).  The masks of
 * global and local events go to the out-params. */
static int register_rows(PyObject *mon, int tool, const PkMonitorRow *rows, int n,
                         PyTypeObject *type, long *global_mask, long *local_mask)
{
    PkFirstError fe = {.failed = 0};
    int i;

    *global_mask = 0;
    *local_mask = 0;
    for (i = 0; i < n && !(fe.failed && type != NULL); i++) {
        long bit;
        if (rows[i].fn == NULL)
            continue;
        bit = event_bit(mon, rows[i].event);
        pk_first_error_note(&fe, bit < 0 ? -1 : register_one(mon, tool, bit, type, rows[i].fn));
        if (bit < 0)
            continue;
        if (rows[i].global)
            *global_mask |= bit;
        else
            *local_mask |= bit;
    }
    return pk_first_error_end(&fe);
}

int pk_monitor_claim(PyTypeObject *callback_type, const int *preferred, int n_preferred,
                     const char *name, const PkMonitorRow *rows, int n_rows, int *tool_id)
{
    PyObject *mon;
    long gmask, lmask;
    int i, tool = -1;

    if (callback_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "profkit._engine has been cleared");
        return -1;
    }
    mon = get_monitoring();
    if (mon == NULL)
        return -1;
    for (i = 0; i < n_preferred; i++) {
        if (call_void(mon, "use_tool_id", "(is)", preferred[i], name) == 0) {
            tool = preferred[i];
            break;
        }
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            goto error;
        PyErr_Clear();
    }
    if (tool < 0) {
        PyErr_SetString(PyExc_ValueError, "another profiling tool is already active");
        goto error;
    }
    if (register_rows(mon, tool, rows, n_rows, callback_type, &gmask, &lmask) < 0 ||
        call_void(mon, "set_events", "(il)", tool, gmask) < 0) {
        /* Undo with the claim's exception kept: the teardown runs clean. */
        PkSavedError saved;
        pk_error_save(&saved);
        if (pk_monitor_release(tool, rows, n_rows, NULL) < 0)
            PyErr_Clear();
        pk_error_restore(&saved);
        goto error;
    }
    Py_DECREF(mon);
    *tool_id = tool;
    return 0;
error:
    Py_DECREF(mon);
    return -1;
}

int pk_monitor_local(int tool_id, const PkMonitorRow *rows, int n_rows, PyObject *code, int on)
{
    PyObject *mon = get_monitoring();
    long mask = 0;
    int i, rc;

    if (mon == NULL)
        return -1;
    for (i = 0; on && i < n_rows; i++) {
        long bit;
        if (rows[i].fn == NULL || rows[i].global)
            continue;
        bit = event_bit(mon, rows[i].event);
        if (bit < 0) {
            Py_DECREF(mon);
            return -1;
        }
        mask |= bit;
    }
    rc = call_void(mon, "set_local_events", "(iOl)", tool_id, code, mask);
    Py_DECREF(mon);
    return rc;
}

int pk_monitor_release(int tool_id, const PkMonitorRow *rows, int n_rows, PyObject *codes)
{
    PkFirstError fe = {.failed = 0};
    PyObject *mon = get_monitoring();
    long gmask, lmask;

    if (mon == NULL)
        return -1;
    pk_first_error_note(&fe, call_void(mon, "set_events", "(il)", tool_id, 0L));
    if (codes != NULL) {
        Py_ssize_t i;
        for (i = 0; i < PyList_GET_SIZE(codes); i++)
            pk_first_error_note(&fe, call_void(mon, "set_local_events", "(iOl)", tool_id,
                                               PyList_GET_ITEM(codes, i), 0L));
    }
    pk_first_error_note(&fe, register_rows(mon, tool_id, rows, n_rows, NULL, &gmask, &lmask));
    pk_first_error_note(&fe, call_void(mon, "free_tool_id", "(i)", tool_id));
    Py_DECREF(mon);
    return pk_first_error_end(&fe);
}

#endif /* PK_HAVE_MONITORING */
