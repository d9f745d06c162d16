/* compat.h: every PY_VERSION_HEX gate of the engine, each with its reason.
 * Include after Python.h. */
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

/* The code-object extra slots were renamed "unstable" API in 3.12; the old
 * underscore names survive only as inline aliases. */
#if PY_VERSION_HEX >= 0x030C0000
#define pk_code_get_extra PyUnstable_Code_GetExtra
#define pk_code_set_extra PyUnstable_Code_SetExtra
#define pk_request_code_extra PyUnstable_Eval_RequestCodeExtraIndex
#else
#define pk_code_get_extra _PyCode_GetExtra
#define pk_code_set_extra _PyCode_SetExtra
#define pk_request_code_extra _PyEval_RequestCodeExtraIndex
#endif

/* PyErr_GetRaisedException arrived in 3.12; before it an exception in
 * flight is three objects. */
#if PY_VERSION_HEX >= 0x030C0000
typedef struct { PyObject *exc; } PkSavedError;
static inline void pk_error_save(PkSavedError *s) { s->exc = PyErr_GetRaisedException(); }
static inline void pk_error_restore(PkSavedError *s) { PyErr_SetRaisedException(s->exc); }
#else
typedef struct { PyObject *t, *v, *tb; } PkSavedError;
static inline void pk_error_save(PkSavedError *s) { PyErr_Fetch(&s->t, &s->v, &s->tb); }
static inline void pk_error_restore(PkSavedError *s) { PyErr_Restore(s->t, s->v, s->tb); }
#endif

/* PyFrame_GetCode returns a new reference from 3.9 on; 3.9 and 3.10 still
 * let us read f_code directly, which saves an incref/decref per event. */
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#define PK_FRAME_CODE_BORROWED(f) ((PyObject *)(f)->f_code)
#define PK_FRAME_CODE_NEEDS_DECREF 0
#elif PY_VERSION_HEX < 0x030C0000
/* 3.11: the code object sits in the interpreter frame the frame object
 * points to.  Mirrors of the two internal structs (pycore_frame.h, 3.11.x),
 * read-only, to save PyFrame_GetCode's call and refcount per event; only
 * the legacy hook uses them, and it is the only hook on 3.11. */
typedef struct {
    PyObject *f_func, *f_globals, *f_builtins, *f_locals;
    PyCodeObject *f_code;
} PkInterpFrame311;
typedef struct {
    PyObject_HEAD
    PyFrameObject *f_back;
    PkInterpFrame311 *f_frame;
} PkFrame311;
#define PK_FRAME_CODE_BORROWED(f) ((PyObject *)((PkFrame311 *)(f))->f_frame->f_code)
#define PK_FRAME_CODE_NEEDS_DECREF 0
#else
#define PK_FRAME_CODE_BORROWED(f) ((PyObject *)PyFrame_GetCode(f))
#define PK_FRAME_CODE_NEEDS_DECREF 1
#endif

/* Switching off line events for one frame under PyEval_SetTrace: the
 * f_trace_lines flag.  Public struct field up to 3.10; from 3.11 the frame
 * object is opaque, but its head (unchanged 3.11-3.13) is mirrored here. */
#if PY_VERSION_HEX < 0x030B0000
static inline void pk_frame_set_trace_lines(PyFrameObject *f, int on) { f->f_trace_lines = (char)on; }
#else
typedef struct {
    PyObject_HEAD
    PyFrameObject *f_back;
    void *f_frame;
    PyObject *f_trace;
    int f_lineno;
    char f_trace_lines;
} PkFrameHead;
static inline void pk_frame_set_trace_lines(PyFrameObject *f, int on) { ((PkFrameHead *)f)->f_trace_lines = (char)on; }
#endif

/* Py_NewRef arrived in 3.10. */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *pk_newref(PyObject *o) { Py_INCREF(o); return o; }
#else
#define pk_newref Py_NewRef
#endif

#endif /* PROFKIT_COMPAT_H */
