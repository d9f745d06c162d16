/* linetracer.c: line events to per-line hits and ticks (see linetracer.h).
 *
 * Concern: the per-event path for registered code objects, and the two
 * hooks that feed it.  GIL held throughout.  Per event: one extra-slot read
 * to find the code's counters, one clock read, array updates; no hashing,
 * no allocation once the stacks have grown, no Python calls.
 *
 * Must never: count a line of an unregistered code object, or raise from a
 * callback (allocation failures set a sticky flag reported by disable()). */
#include "linetracer.h"

#include <stdlib.h>
#include <string.h>

#include "legacy.h"
#include "monitor.h"
#include "pythread.h"
#include "timer.h"

static Py_ssize_t line_extra_index = -1;
static uint32_t gen_counter = 0x40000000u; /* disjoint from functracer's */
static PkLineTracer *active = NULL;
static uint32_t session = 1;

#define PK_TLS static __thread __attribute__((tls_model("initial-exec")))
PK_TLS PkLineThread *tls_thread = NULL;
PK_TLS uint32_t tls_session = 0;

#define SLOT_PACK(g, i) ((void *)(((uintptr_t)(g) << 32) | (uintptr_t)(i)))

/* Mirror of CPython's internal _PyCodeObjectExtra (unchanged 3.6-3.13). */
typedef struct {
    Py_ssize_t ce_size;
    void *ce_extras[1];
} PkCodeExtra;

/* The counters of a registered code object, or NULL. */
PK_INLINE PkLineCode *line_code(PkLineTracer *lt, PyObject *code)
{
    PkCodeExtra *extra = (PkCodeExtra *)((PyCodeObject *)code)->co_extra;

    if (PK_LIKELY(extra != NULL && line_extra_index < extra->ce_size)) {
        uintptr_t u = (uintptr_t)extra->ce_extras[line_extra_index];
        if (PK_LIKELY((uint32_t)(u >> 32) == lt->gen))
            return lt->codes[(uint32_t)u];
    }
    return NULL;
}

/* ---- threads ----------------------------------------------------------- */

/* First event of this thread in this session: find its stack (kept from
 * earlier sessions, so switching the tracer on and off allocates nothing)
 * or make one.  NULL when the thread is not traced or memory ran out. */
static PK_NOINLINE PkLineThread *attach_thread(PkLineTracer *lt)
{
    unsigned long ident = PyThread_get_thread_ident();
    PkLineThread *t;

    /* sys.monitoring events are process-wide: there every thread is traced
     * while the tracer is on, whatever all_threads says. */
    tls_session = session;
    tls_thread = NULL;
    for (t = lt->threads; t != NULL; t = t->next) {
        if (t->ident == ident) {
            t->depth = 0; /* frames of an earlier session are gone */
            tls_thread = t;
            return t;
        }
    }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        lt->nomemory = 1;
        tls_session = 0;
        return NULL;
    }
    t->ident = ident;
    t->next = lt->threads;
    lt->threads = t;
    tls_thread = t;
    return t;
}

PK_INLINE PkLineThread *current_thread(PkLineTracer *lt)
{
    if (PK_LIKELY(tls_session == session))
        return tls_thread;
    return attach_thread(lt);
}

static void free_threads(PkLineTracer *lt)
{
    PkLineThread *t = lt->threads;
    while (t != NULL) {
        PkLineThread *next = t->next;
        free(t->frames);
        free(t);
        t = next;
    }
    lt->threads = NULL;
}

/* ---- the hot path ------------------------------------------------------ */

/* Ends the open interval of `fr` at `now`: one hit and the elapsed ticks. */
PK_INLINE void close_line(PkLineFrame *fr, int64_t now)
{
    if (fr->line >= 0) {
        fr->lc->hits[fr->line]++;
        fr->lc->ticks[fr->line] += now - fr->t0;
        fr->line = -1;
    }
}

static PK_NOINLINE PkLineFrame *push_slow(PkLineTracer *lt, PkLineThread *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 32;
    PkLineFrame *n = realloc(t->frames, ncap * sizeof *n);
    if (n == NULL) {
        lt->nomemory = 1;
        return NULL;
    }
    t->frames = n;
    t->cap = ncap;
    return &t->frames[t->depth++];
}

/* A frame of `lc` starts or resumes: no line is open until its next line
 * event (line_profiler does not charge the rest of a line after a resume). */
PK_INLINE PkLineFrame *push(PkLineTracer *lt, PkLineThread *t, PkLineCode *lc)
{
    PkLineFrame *fr = PK_LIKELY(t->depth < t->cap) ? &t->frames[t->depth++] : push_slow(lt, t);
    if (fr != NULL) {
        fr->lc = lc;
        fr->line = -1;
        fr->t0 = 0;
    }
    return fr;
}

static void on_start(PkLineTracer *lt, PyObject *code)
{
    PkLineCode *lc = line_code(lt, code);
    PkLineThread *t;

    if (lc == NULL || (t = current_thread(lt)) == NULL)
        return;
    push(lt, t, lc);
}

static void on_line(PkLineTracer *lt, PyObject *code, int lineno)
{
    PkLineCode *lc = line_code(lt, code);
    PkLineThread *t;
    PkLineFrame *fr;
    int64_t now;
    int idx;

    if (lc == NULL || (t = current_thread(lt)) == NULL)
        return;
    now = pk_timer_now();
    if (t->depth > 0 && t->frames[t->depth - 1].lc == lc) {
        fr = &t->frames[t->depth - 1];
        close_line(fr, now);
    }
    else {
        /* The frame began before the tracer saw it (enabled mid-call, or
         * resumed by an event we do not receive): start it here. */
        fr = push(lt, t, lc);
        if (fr == NULL)
            return;
    }
    idx = lineno - lc->first_line;
    if (idx >= 0 && idx < lc->n_lines) {
        fr->line = idx;
        fr->t0 = now;
    }
}

static void on_leave(PkLineTracer *lt, PyObject *code)
{
    PkLineCode *lc = line_code(lt, code);
    PkLineThread *t;

    if (lc == NULL || (t = current_thread(lt)) == NULL || t->depth == 0)
        return;
    if (t->frames[t->depth - 1].lc != lc)
        return; /* a frame we never saw start */
    close_line(&t->frames[t->depth - 1], pk_timer_now());
    t->depth--;
}

/* ---- legacy backend: PyEval_SetTrace ----------------------------------- */

static int legacy_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    PkLineTracer *lt = active;
    PyObject *code;
    (void)obj;
    (void)arg;

    if (PK_UNLIKELY(lt == NULL))
        return 0;
    if (what != PyTrace_CALL && what != PyTrace_LINE && what != PyTrace_RETURN)
        return 0;
    code = PK_FRAME_CODE_BORROWED(frame);
    switch (what) {
    case PyTrace_CALL:
        if (line_code(lt, code) == NULL)
            pk_frame_set_trace_lines(frame, 0); /* no line events for it */
        else
            on_start(lt, code);
        break;
    case PyTrace_LINE:
        on_line(lt, code, PyFrame_GetLineNumber(frame));
        break;
    default: /* PyTrace_RETURN: a return, a yield or an unwind */
        on_leave(lt, code);
        break;
    }
#if PK_FRAME_CODE_NEEDS_DECREF
    Py_DECREF(code);
#endif
    return 0;
}

/* ---- monitoring backend ------------------------------------------------ */

#if PK_HAVE_MONITORING

static PyObject *cb_start(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = active;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL))
        on_start(lt, args[0]);
    return Py_None; /* immortal from 3.12 */
}

static PyObject *cb_line(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = active;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL))
        on_line(lt, args[0], (int)PyLong_AsLong(args[1]));
    return Py_None;
}

static PyObject *cb_leave(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = active;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL))
        on_leave(lt, args[0]);
    return Py_None;
}

static const PkMonitorRow line_rows[] = {
    {"PY_START", cb_start, 0},  {"PY_RESUME", cb_start, 0}, {"LINE", cb_line, 0},
    {"PY_RETURN", cb_leave, 0}, {"PY_YIELD", cb_leave, 0},  {"PY_THROW", cb_start, 1},
    {"PY_UNWIND", cb_leave, 1},
};
#define N_LINE_ROWS ((int)(sizeof line_rows / sizeof line_rows[0]))

static PyObject *codes_list(PkLineTracer *lt)
{
    PyObject *list = PyList_New((Py_ssize_t)lt->n_codes);
    size_t i;
    if (list == NULL)
        return NULL;
    for (i = 0; i < lt->n_codes; i++)
        PyList_SET_ITEM(list, (Py_ssize_t)i, pk_newref(lt->codes[i]->code));
    return list;
}

#endif /* PK_HAVE_MONITORING */

/* ---- lifecycle --------------------------------------------------------- */

int pk_linetracer_module_init(void)
{
    line_extra_index = pk_request_code_extra(NULL);
    if (line_extra_index < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "no code-object extra slot available");
        return -1;
    }
    return 0;
}

void pk_linetracer_init(PkLineTracer *lt, PyObject *self)
{
    lt->gen = ++gen_counter;
    lt->all_threads = 1;
    lt->self = self;
}

int pk_linetracer_add(PkLineTracer *lt, PyObject *code, int last_line)
{
    PkLineCode *lc;
    int first;

    if (!PyCode_Check(code)) {
        PyErr_SetString(PyExc_TypeError, "expected a code object");
        return -1;
    }
    if (line_code(lt, code) != NULL)
        return 0;
    first = ((PyCodeObject *)code)->co_firstlineno;
    if (last_line < first)
        last_line = first;
    if (lt->n_codes == lt->cap_codes) {
        size_t ncap = lt->cap_codes ? lt->cap_codes * 2 : 16;
        PkLineCode **n = realloc(lt->codes, ncap * sizeof *n);
        if (n == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        lt->codes = n;
        lt->cap_codes = ncap;
    }
    lc = calloc(1, sizeof *lc);
    if (lc == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    lc->first_line = first;
    lc->n_lines = last_line - first + 1;
    lc->hits = calloc((size_t)lc->n_lines, sizeof *lc->hits);
    lc->ticks = calloc((size_t)lc->n_lines, sizeof *lc->ticks);
    if (lc->hits == NULL || lc->ticks == NULL) {
        free(lc->hits);
        free(lc->ticks);
        free(lc);
        PyErr_NoMemory();
        return -1;
    }
    if (pk_code_set_extra(code, line_extra_index, SLOT_PACK(lt->gen, lt->n_codes)) < 0) {
        free(lc->hits);
        free(lc->ticks);
        free(lc);
        return -1;
    }
    lc->code = pk_newref(code);
    lt->codes[lt->n_codes++] = lc;
#if PK_HAVE_MONITORING
    if (lt->enabled && lt->backend == PK_BACKEND_MONITORING &&
        pk_monitor_local(lt->tool_id, line_rows, N_LINE_ROWS, code, 1) < 0)
        return -1;
#endif
    return 1;
}

int pk_linetracer_enable(PkLineTracer *lt)
{
    if (lt->enabled) {
        /* One more thread, when each thread switches itself on. */
        if (!lt->all_threads && lt->backend == PK_BACKEND_LEGACY) {
            if (pk_legacy_install(PK_HOOK_TRACE, legacy_trace, lt->self, 0) < 0)
                return -1;
            lt->thread_enables++;
        }
        return 0;
    }
    if (active != NULL) {
        PyErr_SetString(PyExc_ValueError, "another profkit line profiler is already active");
        return -1;
    }
    lt->nomemory = 0;
    lt->thread_enables = 1;
    session++;
    active = lt;
    lt->backend = pk_monitor_wanted() ? PK_BACKEND_MONITORING : PK_BACKEND_LEGACY;
#if PK_HAVE_MONITORING
    if (lt->backend == PK_BACKEND_MONITORING) {
        static const int ids[] = {4, 3, 2};
        size_t i;
        if (pk_monitor_claim(ids, 3, "profkit-lines", line_rows, N_LINE_ROWS, &lt->tool_id) < 0)
            goto error;
        for (i = 0; i < lt->n_codes; i++) {
            if (pk_monitor_local(lt->tool_id, line_rows, N_LINE_ROWS, lt->codes[i]->code, 1) < 0) {
                PkSavedError saved;
                pk_error_save(&saved);
                PyObject *codes = codes_list(lt);
                pk_monitor_release(lt->tool_id, line_rows, N_LINE_ROWS, codes);
                Py_XDECREF(codes);
                PyErr_Clear();
                pk_error_restore(&saved);
                goto error;
            }
        }
    }
    else
#endif
    if (pk_legacy_install(PK_HOOK_TRACE, legacy_trace, lt->self, lt->all_threads) < 0)
        goto error;
    Py_INCREF(lt->self); /* the tracer outlives its hooks */
    lt->enabled = 1;
    return 0;
error:
    active = NULL;
    return -1;
}

int pk_linetracer_disable(PkLineTracer *lt)
{
    int rc = 0;

    if (!lt->enabled)
        return 0;
    if (!lt->all_threads && lt->backend == PK_BACKEND_LEGACY && lt->thread_enables > 1) {
        /* Another thread still traces: take this one out only. */
        lt->thread_enables--;
        if (tls_session == session && tls_thread != NULL)
            tls_thread->depth = 0; /* its open lines are not counted */
        return pk_legacy_remove(PK_HOOK_TRACE, legacy_trace, 0);
    }
#if PK_HAVE_MONITORING
    if (lt->backend == PK_BACKEND_MONITORING) {
        PyObject *codes = codes_list(lt);
        if (codes == NULL)
            rc = -1;
        else if (pk_monitor_release(lt->tool_id, line_rows, N_LINE_ROWS, codes) < 0)
            rc = -1;
        Py_XDECREF(codes);
    }
    else
#endif
        rc = pk_legacy_remove(PK_HOOK_TRACE, legacy_trace, lt->all_threads);
    active = NULL;
    session++; /* open lines are dropped, as line_profiler does */
    lt->enabled = 0;
    lt->thread_enables = 0;
    Py_DECREF(lt->self);
    if (rc == 0 && lt->nomemory) {
        lt->nomemory = 0;
        PyErr_SetString(PyExc_MemoryError, "memory was exhausted while line profiling");
        rc = -1;
    }
    return rc;
}

void pk_linetracer_reset(PkLineTracer *lt)
{
    size_t i;
    for (i = 0; i < lt->n_codes; i++) {
        PkLineCode *lc = lt->codes[i];
        memset(lc->hits, 0, (size_t)lc->n_lines * sizeof *lc->hits);
        memset(lc->ticks, 0, (size_t)lc->n_lines * sizeof *lc->ticks);
    }
}

void pk_linetracer_dealloc(PkLineTracer *lt)
{
    size_t i;
    free_threads(lt);
    for (i = 0; i < lt->n_codes; i++) {
        PkLineCode *lc = lt->codes[i];
        /* Leave the slot stale rather than write it: the generation check
         * makes a stale slot harmless, and writing could fail. */
        Py_DECREF(lc->code);
        free(lc->hits);
        free(lc->ticks);
        free(lc);
    }
    free(lt->codes);
    lt->codes = NULL;
    lt->n_codes = lt->cap_codes = 0;
}
