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

#include "alloctrack.h"
#include "legacy.h"
#include "memsampler.h"
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

/* ---- memory mode ------------------------------------------------------- */

/* RSS, re-read only when it may have moved: the allocation hooks saw a
 * large block or an arena come or go (or enough small blocks), or
 * rss_stale_ticks have passed, which bounds what code outside the hooked
 * allocators (a C library's own malloc) can hide. */
static int64_t rss_last, rss_tick;
static uint64_t rss_events;
static int64_t rss_stale_ticks;

PK_INLINE int64_t rss_now(void)
{
    int64_t now = pk_timer_now();
    uint64_t ev = pk_alloc_events();
    if (ev != rss_events || now - rss_tick > rss_stale_ticks || rss_last == 0) {
        /* the allocation tracker's table is profkit's memory, not the program's */
        rss_last = (int64_t)pk_mem_self_rss() - (int64_t)pk_alloc_own_bytes();
        rss_tick = now;
        rss_events = ev;
    }
    return rss_last;
}

/* Memory since the thread's last attribution goes to the open line of `fr`
 * (if any); the thread's marks move to now. */
static void mem_attribute(PkLineTracer *lt, PkLineThread *t, PkLineFrame *fr)
{
    int idx = fr != NULL ? fr->line : -1;
    if (lt->memory & PK_LINEMEM_RSS) {
        int64_t r = rss_now();
        if (idx >= 0) {
            fr->lc->inc[idx] += r - t->last_rss;
            if (r > fr->lc->rss[idx])
                fr->lc->rss[idx] = r;
        }
        t->last_rss = r;
    }
    if (lt->memory & PK_LINEMEM_ALLOC) {
        PkAllocCounters *c = pk_alloc_counters();
        if (idx >= 0) {
            fr->lc->alloc[idx] += c->allocated - t->last_alloc;
            fr->lc->net[idx] += c->live - t->last_live;
        }
        t->last_alloc = c->allocated;
        t->last_live = c->live;
    }
}

/* The line `idx` of `fr` opens. */
static void mem_open(PkLineTracer *lt, PkLineFrame *fr, int idx)
{
    fr->line = idx;
    if (lt->memory & PK_LINEMEM_ALLOC) {
        PkAllocCounters *c = pk_alloc_counters();
        fr->live0 = c->live;
        fr->seg_high = c->live;
        pk_alloc_mark();
    }
}

/* The open line of `fr` closes: one occurrence, and its memory figures. */
static void mem_close(PkLineTracer *lt, PkLineThread *t, PkLineFrame *fr)
{
    PkLineCode *lc = fr->lc;
    int idx = fr->line;
    if (idx < 0)
        return;
    mem_attribute(lt, t, fr);
    lc->hits[idx]++;
    if (lt->memory & PK_LINEMEM_ALLOC) {
        PkAllocCounters *c = pk_alloc_counters();
        int64_t high = c->high > fr->seg_high ? c->high : fr->seg_high;
        if (high - fr->live0 > lc->peak[idx])
            lc->peak[idx] = high - fr->live0;
        if (high > fr->frame_high)
            fr->frame_high = high;
    }
    fr->line = -1;
}

/* A frame of `lc` starts (or resumes) at `lineno`: its line opens at once,
 * as memory_profiler counts it. */
/* Who first called a profiled function from outside the profiled code: the
 * first enclosing frame that is not a comprehension or lambda.  For the report's
 * hint about where returned memory is held. */
static PyObject *hidden_caller_file; /* strong: frames of this file are skipped */

void pk_linetracer_hide_caller_file(PyObject *filename)
{
    Py_XINCREF(filename);
    Py_XSETREF(hidden_caller_file, filename);
}

static void note_caller(PkLineCode *lc)
{
    PyFrameObject *f = PyEval_GetFrame(); /* borrowed: the profiled frame */
    PyFrameObject *back = f != NULL ? PyFrame_GetBack(f) : NULL;
    for (int hops = 0; back != NULL && hops < 6; hops++) {
        PyCodeObject *code = PyFrame_GetCode(back);
        const char *name = PyUnicode_AsUTF8(code->co_name);
        if (name == NULL) {
            PyErr_Clear();
            Py_DECREF(code);
            break;
        }
        if ((name[0] != '<' || strcmp(name, "<module>") == 0) &&
            !(hidden_caller_file != NULL && PyUnicode_Check(code->co_filename) &&
              PyUnicode_Compare(code->co_filename, hidden_caller_file) == 0)) {
            Py_XSETREF(lc->caller, (PyObject *)code);
            lc->caller_line = PyFrame_GetLineNumber(back);
            break;
        }
        Py_DECREF(code);
        Py_SETREF(back, PyFrame_GetBack(back));
    }
    Py_XDECREF(back);
}

static PK_NOINLINE void mem_start(PkLineTracer *lt, PkLineThread *t, PkLineCode *lc, int lineno)
{
    PkLineFrame *fr, *below = t->depth > 0 ? &t->frames[t->depth - 1] : NULL;
    /* once per function: walking frames on every call would cost more
     * than the rest of this event */
    if (below == NULL && lineno == lc->first_line && lc->caller == NULL)
        note_caller(lc);
    /* what happened so far goes to the caller's line, or (outside any
     * registered frame) to no line */
    mem_attribute(lt, t, below);
    if ((lt->memory & PK_LINEMEM_ALLOC) && below != NULL) {
        int64_t high = pk_alloc_counters()->high;
        if (high > below->seg_high)
            below->seg_high = high; /* the caller's line keeps what it reached */
    }
    fr = push(lt, t, lc);
    if (fr == NULL)
        return;
    fr->frame_high = (lt->memory & PK_LINEMEM_ALLOC) ? pk_alloc_counters()->live : 0;
    lineno -= lc->first_line;
    if (lineno >= 0 && lineno < lc->n_lines)
        mem_open(lt, fr, lineno);
}

static PK_NOINLINE void mem_line(PkLineTracer *lt, PkLineThread *t, PkLineCode *lc, int lineno)
{
    PkLineFrame *fr;
    int idx = lineno - lc->first_line;
    if (t->depth > 0 && t->frames[t->depth - 1].lc == lc) {
        fr = &t->frames[t->depth - 1];
        mem_close(lt, t, fr);
    } else {
        mem_start(lt, t, lc, -1);
        if (t->depth == 0 || t->frames[t->depth - 1].lc != lc)
            return;
        fr = &t->frames[t->depth - 1];
    }
    if (idx >= 0 && idx < lc->n_lines)
        mem_open(lt, fr, idx);
}

static PK_NOINLINE void mem_leave(PkLineTracer *lt, PkLineThread *t)
{
    PkLineFrame *fr = &t->frames[t->depth - 1];
    mem_close(lt, t, fr);
    t->depth--;
    if ((lt->memory & PK_LINEMEM_ALLOC) && t->depth > 0) {
        PkLineFrame *below = &t->frames[t->depth - 1];
        if (fr->frame_high > below->seg_high)
            below->seg_high = fr->frame_high;
        pk_alloc_mark();
    }
}

/* A frame of `lc` starts or resumes; `lineno` (memory mode only) is the line
 * it starts at. */
static void on_start(PkLineTracer *lt, PyObject *code, int lineno)
{
    PkLineCode *lc = line_code(lt, code);
    PkLineThread *t;

    if (lc == NULL || (t = current_thread(lt)) == NULL)
        return;
    if (PK_UNLIKELY(lt->memory)) {
        mem_start(lt, t, lc, lineno);
        return;
    }
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
    if (PK_UNLIKELY(lt->memory)) {
        mem_line(lt, t, lc, lineno);
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
    if (PK_UNLIKELY(lt->memory)) {
        mem_leave(lt, t);
        return;
    }
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

static PyObject *cb_start(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = active;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL))
        on_start(lt, args[0], ((PyCodeObject *)args[0])->co_firstlineno);
    return Py_None; /* immortal from 3.12 */
}

/* PY_RESUME and PY_THROW: the frame goes on from where it stopped. */
static PyObject *cb_resume(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = active;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL))
        on_start(lt, args[0],
                 lt->memory ? PyCode_Addr2Line((PyCodeObject *)args[0], (int)PyLong_AsLong(args[1]))
                            : -1);
    return Py_None;
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
    {"PY_START", cb_start, 0},  {"PY_RESUME", cb_resume, 0}, {"LINE", cb_line, 0},
    {"PY_RETURN", cb_leave, 0}, {"PY_YIELD", cb_leave, 0},   {"PY_THROW", cb_resume, 1},
    {"PY_UNWIND", cb_leave, 1},
};
#define N_LINE_ROWS ((int)(sizeof line_rows / sizeof line_rows[0]))

/* Memory mode also takes JUMP: sys.settrace reports a backward jump to the
 * same line (a one-line loop, an inlined comprehension on 3.12+) as one
 * more line event, and memory_profiler counts those occurrences.  Every
 * other jump site is switched off (DISABLE) the first time it is seen. */
static PyObject *jump_disable; /* sys.monitoring.DISABLE, strong */

static PyObject *cb_jump(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = active;
    PkLineCode *lc = NULL;
    long from, to;
    int line;
    (void)self; (void)nargsf; (void)kw;
    from = PyLong_AsLong(args[1]);
    to = PyLong_AsLong(args[2]);
    if (to > from)
        return jump_disable;
    if (PK_LIKELY(lt != NULL))
        lc = line_code(lt, args[0]);
    if (lc != NULL && lc->jump_from == from) {
        line = lc->jump_line;
    }
    else {
        line = PyCode_Addr2Line((PyCodeObject *)args[0], (int)to);
        if (line != PyCode_Addr2Line((PyCodeObject *)args[0], (int)from))
            return jump_disable; /* the LINE event of the target reports it */
        if (lc != NULL) {
            lc->jump_from = from;
            lc->jump_line = line;
        }
    }
    if (PK_LIKELY(lt != NULL))
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

static int fetch_jump_disable(void)
{
    PyObject *sys_mod, *mon;
    if (jump_disable != NULL)
        return 0;
    sys_mod = PyImport_ImportModule("sys");
    if (sys_mod == NULL)
        return -1;
    mon = PyObject_GetAttrString(sys_mod, "monitoring");
    Py_DECREF(sys_mod);
    if (mon == NULL)
        return -1;
    jump_disable = PyObject_GetAttrString(mon, "DISABLE");
    Py_DECREF(mon);
    return jump_disable == NULL ? -1 : 0;
}

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

/* The per-line arrays of lc (memory ones in memory mode). */
static int alloc_arrays(PkLineTracer *lt, PkLineCode *lc)
{
    size_t n = (size_t)lc->n_lines;
    lc->hits = calloc(n, sizeof *lc->hits);
    lc->ticks = calloc(n, sizeof *lc->ticks);
    if (lc->hits == NULL || lc->ticks == NULL)
        return -1;
    if (lt->memory) {
        lc->inc = calloc(n, sizeof *lc->inc);
        lc->rss = calloc(n, sizeof *lc->rss);
        lc->alloc = calloc(n, sizeof *lc->alloc);
        lc->net = calloc(n, sizeof *lc->net);
        lc->peak = calloc(n, sizeof *lc->peak);
        if (!lc->inc || !lc->rss || !lc->alloc || !lc->net || !lc->peak)
            return -1;
    }
    return 0;
}

static void free_code(PkLineCode *lc)
{
    Py_XDECREF(lc->caller);
    free(lc->hits);
    free(lc->ticks);
    free(lc->inc);
    free(lc->rss);
    free(lc->alloc);
    free(lc->net);
    free(lc->peak);
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
    if (pk_code_set_extra(code, line_extra_index, SLOT_PACK(lt->gen, lt->n_codes)) < 0) {
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
    if (lt->memory) {
        if (pk_alloc_start((lt->memory & PK_LINEMEM_ALLOC) ? PK_TRACK_BYTES : PK_TRACK_EVENTS) < 0)
            return -1;
        rss_stale_ticks = (int64_t)(100e-6 / pk_timer_rough_seconds_per_tick());
        rss_last = 0;
    }
    session++;
    active = lt;
    lt->backend = pk_monitor_wanted() ? PK_BACKEND_MONITORING : PK_BACKEND_LEGACY;
#if PK_HAVE_MONITORING
    if (lt->backend == PK_BACKEND_MONITORING) {
        static const int ids[] = {4, 3, 2};
        size_t i;
        if (lt->memory && fetch_jump_disable() < 0)
            goto error;
        if (pk_monitor_claim(ids, 3, "profkit-lines", ROWS(lt), N_ROWS(lt), &lt->tool_id) < 0)
            goto error;
        for (i = 0; i < lt->n_codes; i++) {
            if (pk_monitor_local(lt->tool_id, ROWS(lt), N_ROWS(lt), lt->codes[i]->code, 1) < 0) {
                PkSavedError saved;
                pk_error_save(&saved);
                PyObject *codes = codes_list(lt);
                pk_monitor_release(lt->tool_id, ROWS(lt), N_ROWS(lt), codes);
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
    if (lt->memory)
        pk_alloc_stop();
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
        else if (pk_monitor_release(lt->tool_id, ROWS(lt), N_ROWS(lt), codes) < 0)
            rc = -1;
        Py_XDECREF(codes);
    }
    else
#endif
        rc = pk_legacy_remove(PK_HOOK_TRACE, legacy_trace, lt->all_threads);
    active = NULL;
    if (lt->memory)
        pk_alloc_stop();
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
        size_t n = (size_t)lc->n_lines;
        memset(lc->hits, 0, n * sizeof *lc->hits);
        memset(lc->ticks, 0, n * sizeof *lc->ticks);
        if (lt->memory) {
            memset(lc->inc, 0, n * sizeof *lc->inc);
            memset(lc->rss, 0, n * sizeof *lc->rss);
            memset(lc->alloc, 0, n * sizeof *lc->alloc);
            memset(lc->net, 0, n * sizeof *lc->net);
            memset(lc->peak, 0, n * sizeof *lc->peak);
        }
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
        free_code(lc);
    }
    free(lt->codes);
    lt->codes = NULL;
    lt->n_codes = lt->cap_codes = 0;
}
