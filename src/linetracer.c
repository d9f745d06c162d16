/* linetracer.c: line events to per-line hits and ticks (see linetracer.h).
 *
 * Concern: the per-event path for registered code objects, and the two
 * hooks that feed it; the memory mode's figures are linemem.c's.  GIL held
 * throughout.  Per event: one extra-slot read to find the code's counters,
 * one clock read, array updates; no hashing, no allocation once the stacks
 * have grown, no Python calls.
 *
 * Must never: count a line of an unregistered code object, or raise from a
 * callback (failures record lt->error, reported by disable() and the
 * stats). */
#include "linetracer.h"

#include <stdlib.h>
#include <string.h>

#include "legacy.h"
#include "linemem.h"
#include "monitor.h"
#include "timer.h"

/* ---- process-wide state ------------------------------------------------
 * The only mutable statics of this file; tracer.h says why each part of
 * `g` is process-wide.  `tls` is this thread's stack for the current
 * session, touched by its own thread only.  Generations start far from the
 * function profiler's, which stamps another slot. */
static PkTracerGlobals g = PK_TRACER_GLOBALS_INIT(0x40000000u); /* g.active: a PkLineTracer */
PK_TLS PkThreadCache tls;

/* The counters of a registered code object, or NULL. */
PK_INLINE PkLineCode *line_code(PkLineTracer *lt, PyObject *code)
{
    uint32_t i;

    if (PK_LIKELY(pk_tracer_slot_get(code, g.extra_index, lt->gen, &i)))
        return lt->codes[i];
    return NULL;
}

/* ---- threads ----------------------------------------------------------- */

/* First event of this thread in this session: find its stack (kept from
 * earlier sessions, so switching the tracer on and off allocates nothing)
 * or make one.  NULL when memory ran out (recorded).  sys.monitoring
 * events are process-wide: there every thread is traced while the tracer
 * is on, whatever all_threads says. */
static PK_NOINLINE PkLineThread *attach_thread(PkLineTracer *lt)
{
    PkLineThread *t = pk_tracer_attach_thread(&tls, g.session, &lt->threads, sizeof *t, 1);

    if (t == NULL) {
        pk_sticky(&lt->error, PK_ENOMEM);
        return NULL;
    }
    t->depth = 0; /* frames of an earlier session are gone */
    return t;
}

PK_INLINE PkLineThread *current_thread(PkLineTracer *lt)
{
    if (PK_LIKELY(tls.session == g.session))
        return tls.thread;
    return attach_thread(lt);
}

static void release_thread(PkThreadLink *link)
{
    free(((PkLineThread *)link)->frames);
}

PK_NOINLINE PkLineFrame *pk_linetracer_push_slow(PkLineTracer *lt, PkLineThread *t)
{
    PkLineFrame *n = pk_tracer_grow_stack(t->frames, &t->cap, sizeof *n, 32);

    if (n == NULL) {
        pk_sticky(&lt->error, PK_ENOMEM);
        return NULL;
    }
    t->frames = n;
    return &t->frames[t->depth++];
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

/* A frame of `lc` starts or resumes; `lineno` (memory mode only) is the line
 * it starts at.  No line is open until its next line event in time mode
 * (line_profiler does not charge the rest of a line after a resume). */
static void on_start(PkLineTracer *lt, PyObject *code, int lineno)
{
    PkLineCode *lc = line_code(lt, code);
    PkLineThread *t;

    if (lc == NULL || (t = current_thread(lt)) == NULL)
        return;
    if (PK_UNLIKELY(lt->memory)) {
        pk_linemem_start_frame(lt, t, lc, lineno);
        return;
    }
    pk_linetracer_push(lt, t, lc);
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
    if (PK_UNLIKELY(lt->memory)) {
        pk_linemem_line(lt, t, lc, lineno);
        return;
    }
    now = pk_timer_now();
    if (t->depth > 0 && t->frames[t->depth - 1].lc == lc) {
        fr = &t->frames[t->depth - 1];
        close_line(fr, now);
    }
    else {
        /* The frame began before the tracer saw it (enabled mid-call, or
         * resumed by an event we do not receive): start it here. */
        fr = pk_linetracer_push(lt, t, lc);
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
    if (PK_UNLIKELY(lt->memory)) {
        pk_linemem_leave(lt, t);
        return;
    }
    close_line(&t->frames[t->depth - 1], pk_timer_now());
    t->depth--;
}

/* ---- legacy backend: PyEval_SetTrace ----------------------------------- */

static int legacy_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    PkLineTracer *lt = g.active;
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
            on_start(lt, code, lt->memory ? PyFrame_GetLineNumber(frame) : -1);
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

/* An event's int argument (args[i]: an offset or a line number) as an int.
 * 1 and *out, or 0 after recording PK_EEVENT: the event is then dropped,
 * and disable() says so. */
PK_INLINE int event_arg(PkLineTracer *lt, PyObject *const *args, int i, int *out)
{
    long v;

    if (PK_UNLIKELY(!pk_event_int(args[i], &v))) {
        pk_sticky(&lt->error, PK_EEVENT);
        return 0;
    }
    *out = (int)v;
    return 1;
}

static PyObject *cb_start(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = g.active;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL))
        on_start(lt, args[0], ((PyCodeObject *)args[0])->co_firstlineno);
    return Py_None; /* immortal from 3.12 */
}

/* PY_RESUME and PY_THROW: the frame goes on from where it stopped. */
static PyObject *cb_resume(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = g.active;
    int offset = 0;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL) && (!lt->memory || event_arg(lt, args, 1, &offset)))
        on_start(lt, args[0], lt->memory ? PyCode_Addr2Line((PyCodeObject *)args[0], offset) : -1);
    return Py_None;
}

static PyObject *cb_line(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = g.active;
    int line;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL) && event_arg(lt, args, 1, &line))
        on_line(lt, args[0], line);
    return Py_None;
}

static PyObject *cb_leave(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = g.active;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL))
        on_leave(lt, args[0]);
    return Py_None;
}

static const PkMonitorRow line_rows[] = {
    {"PY_START", cb_start, 0},  {"PY_RESUME", cb_resume, 0}, {"LINE", cb_line, 0},
    {"PY_RETURN", cb_leave, 0}, {"PY_YIELD", cb_leave, 0},   {"PY_THROW", cb_resume, 1},
    {"PY_UNWIND", cb_leave, 1},
};
#define N_LINE_ROWS ((int)(sizeof line_rows / sizeof line_rows[0]))

/* Memory mode also takes JUMP: sys.settrace reports a backward jump to the
 * same line (a one-line loop, an inlined comprehension on 3.12+) as one
 * more line event, and memory_profiler counts those occurrences.  Every
 * other jump site is switched off (sys.monitoring.DISABLE, which enable()
 * copied into lt) the first time it is seen. */
static PyObject *cb_jump(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = g.active;
    PkLineCode *lc;
    int from, to, line;
    (void)self; (void)nargsf; (void)kw;
    if (PK_UNLIKELY(lt == NULL) || !event_arg(lt, args, 1, &from) || !event_arg(lt, args, 2, &to))
        return Py_None;
    if (to > from)
        return lt->jump_disable;
    lc = line_code(lt, args[0]);
    if (lc != NULL && lc->jump_from == from) {
        line = lc->jump_line;
    }
    else {
        line = PyCode_Addr2Line((PyCodeObject *)args[0], to);
        if (line != PyCode_Addr2Line((PyCodeObject *)args[0], from))
            return lt->jump_disable; /* the LINE event of the target reports it */
        if (lc != NULL) {
            lc->jump_from = from;
            lc->jump_line = line;
        }
    }
    on_line(lt, args[0], line);
    return Py_None;
}

static const PkMonitorRow mem_rows[] = {
    {"PY_START", cb_start, 0},  {"PY_RESUME", cb_resume, 0}, {"LINE", cb_line, 0},
    {"PY_RETURN", cb_leave, 0}, {"PY_YIELD", cb_leave, 0},   {"JUMP", cb_jump, 0},
    {"PY_THROW", cb_resume, 1}, {"PY_UNWIND", cb_leave, 1},
};
#define N_MEM_ROWS ((int)(sizeof mem_rows / sizeof mem_rows[0]))
#define ROWS(lt) ((lt)->memory ? mem_rows : line_rows)
#define N_ROWS(lt) ((lt)->memory ? N_MEM_ROWS : N_LINE_ROWS)

/* The registered code objects, as a list for pk_monitor_release.  New
 * reference, or NULL with an exception set. */
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

/* Hands the tool id back and clears every event it set: a teardown, so
 * every step runs (without the code list when it cannot be made). */
static int monitoring_release(PkLineTracer *lt)
{
    PkFirstError fe = {.failed = 0};
    PyObject *codes = codes_list(lt);

    pk_first_error_note(&fe, codes == NULL ? -1 : 0);
    pk_first_error_note(&fe, pk_monitor_release(lt->tool_id, ROWS(lt), N_ROWS(lt), codes));
    Py_XDECREF(codes);
    return pk_first_error_end(&fe);
}

static int monitoring_enable(PkLineTracer *lt)
{
    static const int ids[] = {4, 3, 2};
    size_t i;

    lt->jump_disable = lt->mod->mon_disable;
    if (pk_monitor_claim(lt->mod->callback_type, ids, 3, "profkit-lines", ROWS(lt), N_ROWS(lt),
                         &lt->tool_id) < 0)
        return -1;
    for (i = 0; i < lt->n_codes; i++) {
        if (pk_monitor_local(lt->tool_id, ROWS(lt), N_ROWS(lt), lt->codes[i]->code, 1) < 0) {
            PkSavedError saved;
            pk_error_save(&saved);
            if (monitoring_release(lt) < 0)
                PyErr_Clear();
            pk_error_restore(&saved);
            return -1;
        }
    }
    return 0;
}

#endif /* PK_HAVE_MONITORING */

/* ---- lifecycle --------------------------------------------------------- */

int pk_linetracer_module_init(void)
{
    return pk_tracer_request_slot(&g);
}

void pk_linetracer_init(PkLineTracer *lt, PyObject *self, const PkModuleState *mod)
{
    lt->gen = ++g.gen;
    lt->all_threads = 1;
    lt->self = self;
    lt->mod = mod;
}

/* The per-line arrays of lc, in one block: hits and ticks, and in memory
 * mode the five memory figures. */
#define TIME_ARRAYS 2
#define MEMORY_ARRAYS 5

static size_t n_arrays(const PkLineTracer *lt)
{
    return lt->memory ? TIME_ARRAYS + MEMORY_ARRAYS : TIME_ARRAYS;
}

static int alloc_arrays(PkLineTracer *lt, PkLineCode *lc)
{
    size_t n = (size_t)lc->n_lines;
    int64_t *block = calloc(n * n_arrays(lt), sizeof *block);

    if (block == NULL)
        return -1;
    lc->hits = block;
    lc->ticks = block + n;
    if (lt->memory) {
        lc->inc = block + 2 * n;
        lc->rss = block + 3 * n;
        lc->alloc = block + 4 * n;
        lc->net = block + 5 * n;
        lc->peak = block + 6 * n;
    }
    return 0;
}

static void free_code(PkLineCode *lc)
{
    Py_XDECREF(lc->caller);
    free(lc->hits); /* the whole block */
    free(lc);
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
    if (alloc_arrays(lt, lc) < 0) {
        free_code(lc);
        PyErr_NoMemory();
        return -1;
    }
    if (pk_tracer_slot_set(code, g.extra_index, lt->gen, lt->n_codes) < 0) {
        free_code(lc);
        return -1;
    }
    lc->code = pk_newref(code);
    lt->codes[lt->n_codes++] = lc;
#if PK_HAVE_MONITORING
    if (lt->enabled && lt->backend == PK_BACKEND_MONITORING &&
        pk_monitor_local(lt->tool_id, ROWS(lt), N_ROWS(lt), code, 1) < 0)
        return -1;
#endif
    return 1;
}

int pk_linetracer_enable(PkLineTracer *lt)
{
    int rc;

    if (lt->enabled) {
        /* One more thread, when each thread switches itself on. */
        if (!lt->all_threads && lt->backend == PK_BACKEND_LEGACY) {
            if (pk_legacy_install(PK_HOOK_TRACE, legacy_trace, lt->self, 0, NULL) < 0)
                return -1;
            lt->thread_enables++;
        }
        return 0;
    }
    if (g.active != NULL) {
        PyErr_SetString(PyExc_ValueError, "another profkit line profiler is already active");
        return -1;
    }
    lt->error = PK_OK;
    lt->thread_enables = 1;
    if (lt->memory && pk_linemem_start(lt) < 0)
        return -1;
    g.session++;
    g.active = lt;
    lt->backend = pk_monitor_wanted() ? PK_BACKEND_MONITORING : PK_BACKEND_LEGACY;
#if PK_HAVE_MONITORING
    if (lt->backend == PK_BACKEND_MONITORING)
        rc = monitoring_enable(lt);
    else
#endif
        rc = pk_legacy_install(PK_HOOK_TRACE, legacy_trace, lt->self, lt->all_threads,
                               lt->mod->thread_hook);
    if (rc < 0) {
        g.active = NULL;
        if (lt->memory)
            pk_linemem_stop(lt);
        return -1;
    }
    Py_INCREF(lt->self); /* the tracer outlives its hooks */
    lt->enabled = 1;
    return 0;
}

int pk_linetracer_disable(PkLineTracer *lt)
{
    int rc;

    if (!lt->enabled)
        return 0;
    if (!lt->all_threads && lt->backend == PK_BACKEND_LEGACY && lt->thread_enables > 1) {
        /* Another thread still traces: take this one out only. */
        lt->thread_enables--;
        if (tls.session == g.session && tls.thread != NULL)
            ((PkLineThread *)tls.thread)->depth = 0; /* its open lines are not counted */
        return pk_legacy_remove(PK_HOOK_TRACE, legacy_trace, 0);
    }
#if PK_HAVE_MONITORING
    if (lt->backend == PK_BACKEND_MONITORING)
        rc = monitoring_release(lt);
    else
#endif
        rc = pk_legacy_remove(PK_HOOK_TRACE, legacy_trace, lt->all_threads);
    g.active = NULL;
    if (lt->memory)
        pk_linemem_stop(lt);
    g.session++; /* open lines are dropped, as line_profiler does */
    lt->enabled = 0;
    lt->thread_enables = 0;
    Py_DECREF(lt->self);
    return rc;
}

void pk_linetracer_reset(PkLineTracer *lt)
{
    size_t i;
    for (i = 0; i < lt->n_codes; i++) {
        PkLineCode *lc = lt->codes[i];
        memset(lc->hits, 0, (size_t)lc->n_lines * n_arrays(lt) * sizeof *lc->hits);
    }
}

void pk_linetracer_dealloc(PkLineTracer *lt)
{
    size_t i;
    pk_tracer_free_threads(&lt->threads, release_thread);
    for (i = 0; i < lt->n_codes; i++) {
        PkLineCode *lc = lt->codes[i];
        /* Leave the slot stale rather than write it: the generation check
         * makes a stale slot harmless, and writing could fail. */
        Py_DECREF(lc->code);
        free_code(lc);
    }
    free(lt->codes);
    lt->codes = NULL;
    lt->n_codes = lt->cap_codes = 0;
}
