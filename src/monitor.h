/* monitor.h: the sys.monitoring plumbing shared by the tracers (3.12+).
 *
 * A tracer describes its callbacks as a table of (event name, C function)
 * pairs; this file turns each C function into a callable object whose
 * vectorcall slot is that function (no argument tuple, no Python frame),
 * claims a tool id, registers the callbacks and sets the global events.
 * The callables' type is a heap type of the module (module.c keeps it in
 * its state).  GIL required.  Everything returns 0 (or a new reference),
 * or -1 (NULL) with a Python exception set.  Setup-time code: never runs
 * per event.  Compiled to nothing before 3.12, but pk_monitor_wanted(). */
#ifndef PROFKIT_MONITOR_H
#define PROFKIT_MONITOR_H

#include "compat.h"

/* Which hook a tracer uses while enabled. */
#define PK_BACKEND_LEGACY 1
#define PK_BACKEND_MONITORING 2

/* The hook the tracers use on their next enable(): sys.monitoring on 3.12+
 * unless PROFKIT_BACKEND=legacy asks for PyEval_SetProfile/SetTrace (which
 * tests use to cover both on one Python). */
int pk_monitor_wanted(void);

#if PK_HAVE_MONITORING

typedef struct {
    const char *event;  /* name in sys.monitoring.events, e.g. "PY_START" */
    vectorcallfunc fn;  /* the callback, or NULL to skip this row */
    int global;         /* 1: set as a global event; 0: registered only,
                           enabled per code object with pk_monitor_local */
} PkMonitorRow;

/* The type of the callback objects, made for `module`
 * (PyType_FromModuleAndSpec).  New reference, or NULL. */
PyTypeObject *pk_monitor_callback_type(PyObject *module);

/* sys.monitoring.MISSING and sys.monitoring.DISABLE, as new references in
 * *missing and *disable (static objects of the runtime, but fetched, not
 * assumed). */
int pk_monitor_constants(PyObject **missing, PyObject **disable);

/* Claims a free tool id, trying `preferred` in order, and registers the
 * rows as objects of `callback_type` (borrowed; NULL once the module is
 * cleared, which fails here).  On success *tool_id holds the id; on
 * failure nothing stays registered. */
int pk_monitor_claim(PyTypeObject *callback_type, const int *preferred, int n_preferred,
                     const char *name, const PkMonitorRow *rows, int n_rows, int *tool_id);

/* Unregisters every row, clears all events of the tool (global, and local
 * on `codes`, a list of code objects or NULL) and frees the id.  A
 * teardown: every step runs, and the first failure is the one reported. */
int pk_monitor_release(int tool_id, const PkMonitorRow *rows, int n_rows, PyObject *codes);

/* Sets the local events of `code` for the tool to the rows with global=0
 * (or to none when on == 0). */
int pk_monitor_local(int tool_id, const PkMonitorRow *rows, int n_rows, PyObject *code, int on);

#endif /* PK_HAVE_MONITORING */
#endif /* PROFKIT_MONITOR_H */
