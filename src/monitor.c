/* monitor.c: sys.monitoring plumbing shared by the tracers (see monitor.h).
 * Setup-time code only: it calls Python freely and never runs per event. */
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

PyObject *pk_monitor_missing = NULL;

/* A callable whose vectorcall slot is a C function. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
} PkCallback;

static PyTypeObject PkCallback_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "profkit._engine.Callback",
    .tp_basicsize = sizeof(PkCallback),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(PkCallback, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_doc = "sys.monitoring callback implemented in C",
};

int pk_monitor_module_init(void)
{
    return PyType_Ready(&PkCallback_Type);
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

/* Registers the rows' callbacks (or None when clear) and returns the masks
 * of global and local events through the out-params. */
static int register_rows(PyObject *mon, int tool, const PkMonitorRow *rows, int n, int clear,
                         long *global_mask, long *local_mask)
{
    int i;

    *global_mask = 0;
    *local_mask = 0;
    for (i = 0; i < n; i++) {
        long bit;
        PyObject *cb;
        int rc;
        if (rows[i].fn == NULL)
            continue;
        bit = event_bit(mon, rows[i].event);
        if (bit < 0)
            return -1;
        if (clear) {
            cb = pk_newref(Py_None);
        }
        else {
            PkCallback *c = PyObject_New(PkCallback, &PkCallback_Type);
            if (c == NULL)
                return -1;
            c->vectorcall = rows[i].fn;
            cb = (PyObject *)c;
        }
        rc = call_void(mon, "register_callback", "(ilO)", tool, bit, cb);
        Py_DECREF(cb);
        if (rc < 0)
            return -1;
        if (rows[i].global)
            *global_mask |= bit;
        else
            *local_mask |= bit;
    }
    return 0;
}

int pk_monitor_claim(const int *preferred, int n_preferred, const char *name,
                     const PkMonitorRow *rows, int n_rows, int *tool_id)
{
    PyObject *mon = get_monitoring();
    long gmask, lmask;
    int i, tool = -1;

    if (mon == NULL)
        return -1;
    if (pk_monitor_missing == NULL) {
        pk_monitor_missing = PyObject_GetAttrString(mon, "MISSING");
        if (pk_monitor_missing == NULL)
            goto error;
    }
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
    if (register_rows(mon, tool, rows, n_rows, 0, &gmask, &lmask) < 0 ||
        call_void(mon, "set_events", "(il)", tool, gmask) < 0) {
        PkSavedError saved;
        pk_error_save(&saved);
        register_rows(mon, tool, rows, n_rows, 1, &gmask, &lmask);
        PyErr_Clear();
        call_void(mon, "free_tool_id", "(i)", tool);
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
    PyObject *mon = get_monitoring();
    long gmask, lmask;
    int rc = 0;

    if (mon == NULL)
        return -1;
    if (call_void(mon, "set_events", "(il)", tool_id, 0L) < 0)
        rc = -1;
    if (codes != NULL) {
        Py_ssize_t i;
        for (i = 0; i < PyList_GET_SIZE(codes); i++) {
            if (call_void(mon, "set_local_events", "(iOl)", tool_id, PyList_GET_ITEM(codes, i), 0L) < 0)
                rc = -1;
        }
    }
    if (register_rows(mon, tool_id, rows, n_rows, 1, &gmask, &lmask) < 0)
        rc = -1;
    if (call_void(mon, "free_tool_id", "(i)", tool_id) < 0)
        rc = -1;
    Py_DECREF(mon);
    return rc;
}

#endif /* PK_HAVE_MONITORING */
