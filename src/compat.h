/* compat.h: every PY_VERSION_HEX gate of the engine, each with its reason,
 * and every CPython private layout the engine mirrors.  Include after (or
 * instead of) Python.h.
 *
 * The mirrors are read-only copies of CPython structs, each naming the
 * file and struct it copies and checked against the versions it was
 * compared with (3.9 to 3.13): a build for any other version stops with
 * #error instead of reading garbage.  Widen a check only after comparing
 * the struct in that version's source.  The mirrors, and the fallback of
 * pk_type_module_by_def, follow CPython's source: Copyright (c) Python
 * Software Foundation, used under the PSF License Agreement. */
#ifndef PROFKIT_COMPAT_H
#define PROFKIT_COMPAT_H

#include <Python.h>

#if PY_VERSION_HEX < 0x03090000
#error "profkit needs CPython 3.9 or later"
#endif

/* 3.12 added sys.monitoring (PEP 669); it is the cheap hook there, while
 * PyEval_SetProfile is itself rebuilt on top of it at extra cost. */
#if PY_VERSION_HEX >= 0x030C0000
#define PK_HAVE_MONITORING 1
#else
#define PK_HAVE_MONITORING 0
#endif

/* Setting another thread's hook, which legacy.c does thread by thread so
 * that each keeps what it had: _PyEval_SetProfile(tstate, ...) and
 * _PyEval_SetTrace(tstate, ...) are exported from 3.9 to 3.12.  3.13 moved
 * both to Include/internal/pycore_ceval.h, where _PyEval_SetProfile stays
 * PyAPI_FUNC (declared here, as the internal header is not ours to
 * include) and _PyEval_SetTrace becomes a plain `extern`, not exported:
 * there another thread's trace function is set by that thread itself, at
 * its next event (legacy.c, arm_sync). */
#if PY_VERSION_HEX >= 0x030D0000
PyAPI_FUNC(int) _PyEval_SetProfile(PyThreadState *tstate, Py_tracefunc func, PyObject *arg);
#define PK_HAVE_SET_OTHER_TRACE 0
#else
#define PK_HAVE_SET_OTHER_TRACE 1
#endif

/* ---- module state and heap types (PEP 489, PEP 573) -------------------- */

/* PyType_GetModuleByDef is public from 3.11 (3.10 has it only as a private
 * _PyType_GetModuleByDef).  Before, the same walk as CPython's
 * (Objects/typeobject.c): the first type in the MRO whose module was made
 * from `def`.  PyHeapTypeObject.ht_module exists from 3.9.  Borrowed
 * reference, or NULL with TypeError. */
#if PY_VERSION_HEX >= 0x030B0000
#define pk_type_module_by_def PyType_GetModuleByDef
#else
static inline PyObject *pk_type_module_by_def(PyTypeObject *type, PyModuleDef *def)
{
    PyObject *mro = type->tp_mro;
    Py_ssize_t i;

    for (i = 0; mro != NULL && i < PyTuple_GET_SIZE(mro); i++) {
        PyTypeObject *t = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        PyObject *m;
        if (!(t->tp_flags & Py_TPFLAGS_HEAPTYPE))
            continue;
        m = ((PyHeapTypeObject *)t)->ht_module;
        if (m != NULL && PyModule_GetDef(m) == def)
            return m;
    }
    PyErr_Format(PyExc_TypeError, "no superclass of '%s' belongs to module %s", type->tp_name,
                 def->m_name);
    return NULL;
}
#endif

/* Py_TPFLAGS_IMMUTABLETYPE arrived in 3.10: the heap types are then as
 * read-only as the static types they replaced.  On 3.9 a heap type always
 * accepts new class attributes. */
#if PY_VERSION_HEX >= 0x030A0000
#define PK_TPFLAGS_IMMUTABLE Py_TPFLAGS_IMMUTABLETYPE
#else
#define PK_TPFLAGS_IMMUTABLE 0
#endif

/* Py_mod_multiple_interpreters arrived in 3.12.  The engine's hooks, its
 * active tracers and its code-object extra slots are process-wide, so it
 * says it serves one interpreter (as _lsprof.c does in 3.12).  CPython
 * has no such check before 3.12, and from 3.12 applies it to isolated
 * subinterpreters only, so module.c's exec also refuses a second
 * interpreter itself.  A row of a slot table, or nothing. */
#if PY_VERSION_HEX >= 0x030C0000
#define PK_MOD_ONE_INTERPRETER_SLOT \
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#else
#define PK_MOD_ONE_INTERPRETER_SLOT
#endif

/* ---- code-object extra slots (PEP 523) --------------------------------- */

/* The code-object extra slots were renamed "unstable" API in 3.12; the old
 * underscore names survive only as inline aliases. */
#if PY_VERSION_HEX >= 0x030C0000
#define pk_code_set_extra PyUnstable_Code_SetExtra
#define pk_request_code_extra PyUnstable_Eval_RequestCodeExtraIndex
#else
#define pk_code_set_extra _PyCode_SetExtra
#define pk_request_code_extra _PyEval_RequestCodeExtraIndex
#endif

/* Mirror: Objects/codeobject.c, _PyCodeObjectExtra (the same from 3.6 to
 * 3.13), what PyCodeObject.co_extra points at.  The tracers' hot paths read
 * their slot through it directly, which saves a call per event (tracer.h,
 * pk_tracer_slot_get); every write goes through pk_code_set_extra. */
#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030E0000
typedef struct {
    Py_ssize_t ce_size;
    void *ce_extras[1];
} PkCodeExtra;
#else
#error "PkCodeExtra mirrors _PyCodeObjectExtra (Objects/codeobject.c) of CPython 3.9-3.13"
#endif

/* ---- exceptions ---------------------------------------------------------- */

/* PyErr_GetRaisedException arrived in 3.12; before it an exception in
 * flight is three objects.  Every Python call inside a callback or a
 * teardown sits between pk_error_save() and pk_error_restore(), so that an
 * exception the program has in flight survives it. */
#if PY_VERSION_HEX >= 0x030C0000
typedef struct { PyObject *exc; } PkSavedError;
static inline void pk_error_save(PkSavedError *s) { s->exc = PyErr_GetRaisedException(); }
static inline void pk_error_restore(PkSavedError *s) { PyErr_SetRaisedException(s->exc); }
#else
typedef struct { PyObject *t, *v, *tb; } PkSavedError;
static inline void pk_error_save(PkSavedError *s) { PyErr_Fetch(&s->t, &s->v, &s->tb); }
static inline void pk_error_restore(PkSavedError *s) { PyErr_Restore(s->t, s->v, s->tb); }
#endif

/* A teardown that runs every step even when one fails (unhooking, handing
 * back a tool id): after each step, pk_first_error_note(&fe, rc) keeps the
 * first exception aside and drops later ones, so no step runs with an
 * exception set; pk_first_error_end() returns 0, or -1 with the first
 * exception set again.  Start with `PkFirstError fe = {.failed = 0};`. */
typedef struct {
    PkSavedError first;
    int failed;
} PkFirstError;

static inline void pk_first_error_note(PkFirstError *fe, int rc)
{
    if (rc >= 0)
        return;
    if (fe->failed) {
        PyErr_Clear();
    }
    else {
        pk_error_save(&fe->first);
        fe->failed = 1;
    }
}

static inline int pk_first_error_end(PkFirstError *fe)
{
    if (!fe->failed)
        return 0;
    pk_error_restore(&fe->first);
    return -1;
}

/* ---- ints and references ----------------------------------------------- */

/* The value of a monitoring event's int argument (a code offset or a line
 * number), read inline with no call and no way to raise: 1 and *out for an
 * int of one digit (below 2**30, which offsets and line numbers always
 * are), else 0.  3.12 made the compact-int accessors public; they are only
 * needed where sys.monitoring is. */
#if PK_HAVE_MONITORING
static inline int pk_event_int(PyObject *o, long *out)
{
    if (!PyLong_CheckExact(o) || !PyUnstable_Long_IsCompact((PyLongObject *)o))
        return 0;
    *out = (long)PyUnstable_Long_CompactValue((PyLongObject *)o);
    return 1;
}
#endif

/* Py_NewRef arrived in 3.10. */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *pk_newref(PyObject *o) { Py_INCREF(o); return o; }
#else
#define pk_newref Py_NewRef
#endif

/* ---- frames ------------------------------------------------------------ */

/* From 3.11 the frame object is opaque.  Mirror: Include/internal/
 * pycore_frame.h, the head of `struct _frame` (PyFrameObject), the same in
 * 3.11, 3.12 and 3.13 up to f_trace_lines.  Read-only, except f_trace_lines
 * (pk_frame_set_trace_lines), which PyEval_SetTrace's hook may set. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
typedef struct {
    PyObject_HEAD
    PyFrameObject *f_back;
    void *f_frame; /* struct _PyInterpreterFrame * */
    PyObject *f_trace;
    int f_lineno;
    char f_trace_lines;
} PkFrameHead;
#elif PY_VERSION_HEX >= 0x030E0000
#error "PkFrameHead mirrors struct _frame (Include/internal/pycore_frame.h) of CPython 3.11-3.13"
#endif

/* The code object of a frame, borrowed where that is free.  PyFrame_GetCode
 * returns a new reference from 3.9 on; 3.9 and 3.10 still let us read
 * f_code directly, which saves an incref/decref per event. */
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#define PK_FRAME_CODE_BORROWED(f) ((PyObject *)(f)->f_code)
#define PK_FRAME_CODE_NEEDS_DECREF 0
#elif PY_VERSION_HEX < 0x030C0000
/* 3.11: the code object sits in the interpreter frame the frame object
 * points to.  Mirror: Include/internal/pycore_frame.h, the head of
 * `struct _PyInterpreterFrame` of 3.11 (3.12 moved f_code), read to save
 * PyFrame_GetCode's call and refcount per event; only the legacy hook uses
 * it, and it is the only hook on 3.11. */
typedef struct {
    PyObject *f_func, *f_globals, *f_builtins, *f_locals;
    PyCodeObject *f_code;
} PkInterpFrame311;
#define PK_FRAME_CODE_BORROWED(f) \
    ((PyObject *)((PkInterpFrame311 *)((PkFrameHead *)(f))->f_frame)->f_code)
#define PK_FRAME_CODE_NEEDS_DECREF 0
#else
#define PK_FRAME_CODE_BORROWED(f) ((PyObject *)PyFrame_GetCode(f))
#define PK_FRAME_CODE_NEEDS_DECREF 1
#endif

/* Switching off line events for one frame under PyEval_SetTrace: the
 * f_trace_lines flag.  A public struct field up to 3.10, the mirrored frame
 * head from 3.11. */
#if PY_VERSION_HEX < 0x030B0000
static inline void pk_frame_set_trace_lines(PyFrameObject *f, int on) { f->f_trace_lines = (char)on; }
static inline int pk_frame_trace_lines(PyFrameObject *f) { return f->f_trace_lines; }
#else
static inline void pk_frame_set_trace_lines(PyFrameObject *f, int on) { ((PkFrameHead *)f)->f_trace_lines = (char)on; }
static inline int pk_frame_trace_lines(PyFrameObject *f) { return ((PkFrameHead *)f)->f_trace_lines; }
#endif

#endif /* PROFKIT_COMPAT_H */
