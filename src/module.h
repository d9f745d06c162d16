/* module.h: the state of one profkit._engine module object (PEP 489).
 *
 * module.c fills it when the module executes and owns every reference in
 * it; it is cleared with the module (m_clear, m_free).  The engine's
 * objects (profilers, line tracers) keep a borrowed pointer to it, taken
 * when they are made, which stays valid as long as they live: each holds
 * its type, and the type holds the module (PyType_FromModuleAndSpec).
 * After m_clear its object fields may be NULL, and a reader must treat NULL
 * as "gone", never as an error to crash on.
 *
 * GIL required.  Read anywhere a pointer to it is held; written only by
 * module.c.  Must never: hold anything per event, or anything a callback
 * needs in a hurry (a callback's tracer copies what it needs at enable). */
#ifndef PROFKIT_MODULE_H
#define PROFKIT_MODULE_H

#include "compat.h"

#include <stddef.h>

typedef struct PkModuleState {
    /* the heap types (strong) */
    PyTypeObject *profiler_type;
    PyTypeObject *linetracer_type;
    PyTypeObject *sampler_type;
    PyTypeObject *callback_type;   /* monitor.c's C callbacks (3.12+; NULL before) */
    /* objects the tracers borrow (strong here) */
    PyObject *hidden_caller_file;  /* _hide_caller_file()'s path, or NULL (linemem.c) */
    PyObject *mon_missing;         /* sys.monitoring.MISSING (3.12+; NULL before) */
    PyObject *mon_disable;         /* sys.monitoring.DISABLE (3.12+; NULL before) */
    /* the profiler type's method table: calls of these are left out of
     * every profile (functracer.c) */
    const PyMethodDef *own_methods;
    size_t n_own_methods;
} PkModuleState;

/* The spec of the engine type NAME, whose objects are OBJ and whose slots
 * are NAME_slots: "profkit._engine.NAME", immutable where the version
 * allows it (compat.h), with FLAGS added. */
#define PK_TYPE_SPEC(NAME, OBJ, FLAGS)                                                    \
    static PyType_Spec NAME##_spec = {                                                    \
        .name = "profkit._engine." #NAME,                                                 \
        .basicsize = sizeof(OBJ),                                                         \
        .flags = Py_TPFLAGS_DEFAULT | PK_TPFLAGS_IMMUTABLE | (FLAGS),                     \
        .slots = NAME##_slots,                                                            \
    }

/* The slots of every engine type that Python code makes, named by
 * convention: NAME_new, NAME_init, NAME_dealloc and NAME_methods. */
#define PK_BASE_SLOTS(NAME, DOC)                                                          \
    {Py_tp_doc, (void *)(DOC)}, {Py_tp_new, (void *)NAME##_new},                          \
        {Py_tp_init, (void *)NAME##_init}, {Py_tp_dealloc, (void *)NAME##_dealloc},       \
        {Py_tp_methods, NAME##_methods}

#endif /* PROFKIT_MODULE_H */
