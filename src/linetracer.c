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
 * `g` is process-wide.  Here g.active is the enabled tracer when exactly
 * one is (the hot path's one load), else NULL, and g.session hands out the
 * tracers' sessions.  Generations start far from the function profiler's,
 * which stamps another slot.
 *   on     the enabled tracers (at their `pos`, NULL holes between) and
 *          the hook they share: process-wide like that hook.
 *   slots  the pool of code-object extra slots: CPython hands them out per
 *          interpreter and takes none back, so freed ones are reused.
 *          slots[0] is requested at import (g.extra_index); a tracer holding
 *          none reads it, where its generation never matches.
 *   tls    this thread's stack for the tracer whose session it holds
 *          (each tracer's session is its own), touched by its own thread
 *          only.  One entry: with one tracer on (the common case) it is
 *          always right, and with several each takes it in turn. */
static PkTracerGlobals g = PK_TRACER_GLOBALS_INIT(0x40000000u);
static struct {
    PkLineTracer *list[PK_LINE_MAX_ON];
    int n;
    int backend; /* PK_BACKEND_* while n > 0 */
    int tool_id; /* the monitoring backend's */
} on;
static struct {
    Py_ssize_t index;
    const PkLineTracer *owner; /* NULL: free */
} slots[PK_LINE_MAX_SLOTS];
static int n_slots;
PK_TLS PkThreadCache tls;

/* The counters of a registered code object, or NULL. */
PK_INLINE PkLineCode *line_code(PkLineTracer *lt, PyObject *code)
{
    uint32_t i;

    if (PK_LIKELY(pk_tracer_slot_get(code, lt->slot, lt->gen, &i)))
        return lt->codes[i];
    return NULL;
}

/* Whether any enabled tracer registered `code`. */
static int any_registered(PyObject *code)
{
    int i;
    for (i = 0; i < PK_LINE_MAX_ON; i++) {
        if (on.list[i] != NULL && line_code(on.list[i], code) != NULL)
            return 1;
    }
    return 0;
}

/* ---- threads ----------------------------------------------------------- */

/* The calling thread's stack for lt's session (kept from earlier sessions,
 * so switching the tracer on and off allocates nothing), cached in its TLS
 * slot; NULL when memory ran out. */
static PkLineThread *own_thread(PkLineTracer *lt)
{
    PkLineThread *t = pk_tracer_attach_thread(&tls, lt->session, &lt->threads, sizeof *t, 1);

    if (t != NULL && t->session != lt->session) {
        t->session = lt->session;
        t->depth = 0; /* frames of an earlier session are gone */
        t->here = 0;
    }
    return t;
}

/* First event of this thread in lt's session.  NULL when memory ran out
 * (recorded), or, for a tracer that each thread switches on itself on the
 * legacy hook, when this thread has not: its events (which reach it through
 * another tracer's hook) are then ignored, from the cache.  sys.monitoring
 * events are process-wide: there every thread is traced while the tracer
 * is on, whatever all_threads says. */
static PK_NOINLINE PkLineThread *attach_thread(PkLineTracer *lt)
{
    PkLineThread *t = own_thread(lt);

    if (t == NULL) {
        pk_sticky(&lt->error, PK_ENOMEM);
        return NULL;
    }
    if (!lt->all_threads && on.backend == PK_BACKEND_LEGACY && t->here == 0) {
        tls.thread = NULL;
        return NULL;
    }
    return t;
}

PK_INLINE PkLineThread *current_thread(PkLineTracer *lt)
{
    if (PK_LIKELY(tls.session == lt->session))
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
PK_INLINE void on_start(PkLineTracer *lt, PyObject *code, int lineno)
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

PK_INLINE void on_line(PkLineTracer *lt, PyObject *code, int lineno)
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

PK_INLINE void on_leave(PkLineTracer *lt, PyObject *code)
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

/* One tracer's part of a call, line or return event; `filter`: switch off
 * the line events of a frame of code it did not register.  Returns whether
 * it registered the code. */
PK_INLINE int legacy_event(PkLineTracer *lt, PyFrameObject *frame, PyObject *code, int what,
                           int filter)
{
    switch (what) {
    case PyTrace_CALL:
        if (line_code(lt, code) == NULL) {
            if (filter)
                pk_frame_set_trace_lines(frame, 0); /* no line events for it */
            return 0;
        }
        on_start(lt, code, lt->memory ? PyFrame_GetLineNumber(frame) : -1);
        return 1;
    case PyTrace_LINE:
        on_line(lt, code, PyFrame_GetLineNumber(frame));
        return 1;
    default: /* PyTrace_RETURN: a return, a yield or an unwind */
        on_leave(lt, code);
        return 1;
    }
}

/* The event for every enabled tracer: several of them, or a chain to call
 * after (filter 0: line events stay on for the chained function).  Returns
 * whether one of them registered the frame's code. */
static PK_NOINLINE int legacy_event_all(PyFrameObject *frame, int what, int filter)
{
    PyObject *code = PK_FRAME_CODE_BORROWED(frame);
    int i, registered = any_registered(code);

    for (i = 0; registered && i < PK_LINE_MAX_ON; i++) {
        if (on.list[i] != NULL)
            legacy_event(on.list[i], frame, code, what, 0);
    }
    if (!registered && filter && what == PyTrace_CALL)
        pk_frame_set_trace_lines(frame, 0);
#if PK_FRAME_CODE_NEEDS_DECREF
    Py_DECREF(code);
#endif
    return registered;
}

/* The hook of a thread with a function to chain to, or frame-local hooks
 * (legacy.h's slow function): every event goes on to pk_legacy_chain. */
static int legacy_trace_slow(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    int profiled = 0;

    if (what == PyTrace_CALL || what == PyTrace_LINE || what == PyTrace_RETURN)
        profiled = legacy_event_all(frame, what, 0);
    return pk_legacy_chain((PkHook *)obj, frame, what, arg, profiled);
}

/* No tracer, or several: a tail call, so that the one tracer's path below
 * saves no registers for it. */
static PK_NOINLINE int legacy_trace_many(PyFrameObject *frame, int what)
{
    if (on.n > 1 && (what == PyTrace_CALL || what == PyTrace_LINE || what == PyTrace_RETURN))
        legacy_event_all(frame, what, 1);
    return 0;
}

static int legacy_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    PkLineTracer *lt = g.active;
    PyObject *code;
    (void)obj;
    (void)arg;

    if (PK_UNLIKELY(lt == NULL))
        return legacy_trace_many(frame, what);
    if (what != PyTrace_CALL && what != PyTrace_LINE && what != PyTrace_RETURN)
        return 0;
    code = PK_FRAME_CODE_BORROWED(frame);
    legacy_event(lt, frame, code, what, 1);
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

/* Each event for every enabled tracer, when there are several (memory
 * mode runs alone, so these are time mode's: no line number needed). */
static PK_NOINLINE void start_all(PyObject *code)
{
    int i;
    for (i = 0; i < PK_LINE_MAX_ON; i++) {
        if (on.list[i] != NULL)
            on_start(on.list[i], code, -1);
    }
}

static PK_NOINLINE void line_all(PyObject *const *args)
{
    int i, line = -1;
    for (i = 0; i < PK_LINE_MAX_ON; i++) {
        if (on.list[i] != NULL && (line >= 0 || event_arg(on.list[i], args, 1, &line)))
            on_line(on.list[i], args[0], line);
    }
}

static PK_NOINLINE void leave_all(PyObject *code)
{
    int i;
    for (i = 0; i < PK_LINE_MAX_ON; i++) {
        if (on.list[i] != NULL)
            on_leave(on.list[i], code);
    }
}

static PyObject *cb_start(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = g.active;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL))
        on_start(lt, args[0], ((PyCodeObject *)args[0])->co_firstlineno);
    else if (on.n > 1)
        start_all(args[0]);
    return Py_None; /* immortal from 3.12 */
}

/* PY_RESUME and PY_THROW: the frame goes on from where it stopped. */
static PyObject *cb_resume(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = g.active;
    int offset = 0;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL)) {
        if (!lt->memory || event_arg(lt, args, 1, &offset))
            on_start(lt, args[0], lt->memory ? PyCode_Addr2Line((PyCodeObject *)args[0], offset) : -1);
    }
    else if (on.n > 1) {
        start_all(args[0]);
    }
    return Py_None;
}

static PyObject *cb_line(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = g.active;
    int line;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL)) {
        if (event_arg(lt, args, 1, &line))
            on_line(lt, args[0], line);
    }
    else if (on.n > 1) {
        line_all(args);
    }
    return Py_None;
}

static PyObject *cb_leave(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    PkLineTracer *lt = g.active;
    (void)self; (void)nargsf; (void)kw;
    if (PK_LIKELY(lt != NULL))
        on_leave(lt, args[0]);
    else if (on.n > 1)
        leave_all(args[0]);
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

/* The last tracer goes: hands the tool id back and clears every event it
 * set.  A teardown, so every step runs (without the code list when it
 * cannot be made). */
static int monitoring_release(PkLineTracer *lt)
{
    PkFirstError fe = {.failed = 0};
    PyObject *codes = codes_list(lt);

    pk_first_error_note(&fe, codes == NULL ? -1 : 0);
    pk_first_error_note(&fe, pk_monitor_release(on.tool_id, ROWS(lt), N_ROWS(lt), codes));
    Py_XDECREF(codes);
    return pk_first_error_end(&fe);
}

/* One tracer of several goes: the local events of its code go off, but on
 * code another enabled tracer registered too.  A teardown. */
static int monitoring_leave(PkLineTracer *lt)
{
    PkFirstError fe = {.failed = 0};
    size_t i;

    for (i = 0; i < lt->n_codes; i++) {
        if (!any_registered(lt->codes[i]->code))
            pk_first_error_note(&fe, pk_monitor_local(on.tool_id, ROWS(lt), N_ROWS(lt),
                                                      lt->codes[i]->code, 0));
    }
    return pk_first_error_end(&fe);
}

/* lt joins (claiming the tool id first when it is the only tracer): the
 * local events of its code go on.  On failure nothing of lt's stays. */
static int monitoring_enable(PkLineTracer *lt)
{
    static const int ids[] = {4, 3, 2};
    size_t i;

    lt->jump_disable = lt->mod->mon_disable;
    if (on.n == 1 && pk_monitor_claim(lt->mod->callback_type, ids, 3, "profkit-lines", ROWS(lt),
                                      N_ROWS(lt), &on.tool_id) < 0)
        return -1;
    for (i = 0; i < lt->n_codes; i++) {
        if (pk_monitor_local(on.tool_id, ROWS(lt), N_ROWS(lt), lt->codes[i]->code, 1) < 0) {
            PkSavedError saved;
            pk_error_save(&saved);
            if ((on.n == 1 ? monitoring_release(lt) : monitoring_leave(lt)) < 0)
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
    if (pk_tracer_request_slot(&g) < 0)
        return -1;
    slots[0].index = g.extra_index;
    n_slots = 1;
    return 0;
}

void pk_linetracer_init(PkLineTracer *lt, PyObject *self, const PkModuleState *mod)
{
    lt->gen = ++g.gen;
    lt->slot = g.extra_index; /* read only, until it takes a slot of its own */
    lt->slot_i = -1;
    lt->all_threads = 1;
    lt->self = self;
    lt->mod = mod;
}

/* A slot of lt's own, from the pool (or a new one from CPython), for its
 * first registration.  Slots come back at dealloc: a slot another tracer
 * stamped reads as absent for lt, whose generation is its own. */
static int take_slot(PkLineTracer *lt)
{
    int i;

    if (lt->slot_i >= 0)
        return 0;
    for (i = 0; i < n_slots && slots[i].owner != NULL; i++)
        ;
    if (i == PK_LINE_MAX_SLOTS) {
        /* profilers that are garbage in a cycle still hold theirs */
        PyGC_Collect();
        for (i = 0; i < n_slots && slots[i].owner != NULL; i++)
            ;
    }
    if (i == n_slots) {
        Py_ssize_t index;
        if (n_slots == PK_LINE_MAX_SLOTS) {
            PyErr_Format(PyExc_RuntimeError,
                         "too many profkit line profilers hold functions at once (%d): "
                         "let go of some first",
                         PK_LINE_MAX_SLOTS);
            return -1;
        }
        index = pk_request_code_extra(NULL);
        if (index < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "no code-object extra slot available");
            return -1;
        }
        slots[n_slots++].index = index;
    }
    slots[i].owner = lt;
    lt->slot_i = i;
    lt->slot = slots[i].index;
    return 0;
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
    if (take_slot(lt) < 0)
        return -1;
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
    if (pk_tracer_slot_set(code, lt->slot, lt->gen, lt->n_codes) < 0) {
        free_code(lc);
        return -1;
    }
    lc->code = pk_newref(code);
    lt->codes[lt->n_codes++] = lc;
#if PK_HAVE_MONITORING
    if (lt->enabled && on.backend == PK_BACKEND_MONITORING &&
        pk_monitor_local(on.tool_id, ROWS(lt), N_ROWS(lt), code, 1) < 0)
        return -1;
#endif
    return 1;
}

/* An attribute of lt's Python object as a truth value, `dflt` when it has
 * none; -1 with an exception set. */
static int attr_flag(PkLineTracer *lt, const char *name, int dflt)
{
    PyObject *v = PyObject_GetAttrString(lt->self, name);
    int r;

    if (v == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear();
        return dflt;
    }
    r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return r;
}

/* The legacy hook's options (legacy.h), from the object's wrap_trace and
 * set_frame_local_trace: class attributes (the Python subclass has no
 * instance dict), so they are read again only when its type changed, which
 * gives the type a new version tag (0: none, read every time).  Two
 * attribute lookups would otherwise be most of what the decorator's
 * per-call enable() costs. */
static int read_hook_flags(PkLineTracer *lt)
{
    unsigned int tag = Py_TYPE(lt->self)->tp_version_tag;
    int chain, local;

    if (tag != 0 && tag == lt->hook_tag)
        return 0;
    chain = attr_flag(lt, "wrap_trace", 1);
    local = chain < 0 ? -1 : attr_flag(lt, "set_frame_local_trace", 0);
    if (local < 0)
        return -1;
    lt->hook_flags = (chain ? PK_HOOK_CHAIN : 0) | (local ? PK_HOOK_LOCAL : 0);
    lt->hook_tag = Py_TYPE(lt->self)->tp_version_tag; /* the lookups may have given it one */
    return 0;
}

/* Why lt cannot join the enabled tracers, or NULL. */
_Static_assert(PK_LINE_MAX_ON == 8, "refusal() names the limit");
static const char *refusal(const PkLineTracer *lt)
{
    int i;

    if (on.n == PK_LINE_MAX_ON)
        return "too many profkit line profilers are enabled at once (8): disable one first";
    for (i = 0; on.n > 0 && i < PK_LINE_MAX_ON; i++) {
        if (on.list[i] != NULL && (on.list[i]->memory || lt->memory))
            return "a profkit memory line profiler runs alone (its RSS reading and allocation "
                   "hooks are process-wide), and another line profiler is enabled";
    }
    return NULL;
}

/* The calling thread joins lt (all_threads == 0, lt enabled). */
static int enable_thread(PkLineTracer *lt)
{
    PkLineThread *t;

    if (on.backend == PK_BACKEND_LEGACY &&
        pk_legacy_install_ex(PK_HOOK_TRACE, legacy_trace, legacy_trace_slow, lt->hook_flags, 0) < 0)
        return -1;
    t = own_thread(lt);
    if (t == NULL) {
        PkSavedError saved;
        PyErr_NoMemory();
        pk_error_save(&saved);
        if (on.backend == PK_BACKEND_LEGACY && pk_legacy_remove(PK_HOOK_TRACE, legacy_trace, 0) < 0)
            PyErr_Clear();
        pk_error_restore(&saved);
        return -1;
    }
    t->here++;
    lt->thread_enables++;
    return 0;
}

/* The calling thread leaves lt, which other threads keep on; its open
 * lines are not counted. */
static int disable_thread(PkLineTracer *lt)
{
    PkThreadCache *c = &tls;
    PkLineThread *t = c->session == lt->session ? c->thread : NULL;
    unsigned long ident = PyThread_get_thread_ident();

    if (t == NULL) { /* cached as ignored, or not yet: find it without making one */
        PkThreadLink *l;
        for (l = lt->threads; l != NULL && l->ident != ident; l = l->next)
            ;
        t = l != NULL && ((PkLineThread *)l)->session == lt->session ? (PkLineThread *)l : NULL;
    }
    lt->thread_enables--;
    if (t != NULL && t->here > 0 && --t->here == 0) {
        t->depth = 0;
        if (c->session == lt->session)
            c->thread = NULL;
    }
    if (on.backend == PK_BACKEND_LEGACY)
        return pk_legacy_remove(PK_HOOK_TRACE, legacy_trace, 0);
    return 0;
}

/* g.active: the one enabled tracer, or NULL when none or several are. */
static void set_active(void)
{
    int i;

    g.active = NULL;
    for (i = 0; on.n == 1 && i < PK_LINE_MAX_ON; i++) {
        if (on.list[i] != NULL)
            g.active = on.list[i];
    }
}

/* Takes lt out of the enabled tracers. */
static void leave(PkLineTracer *lt)
{
    on.list[lt->pos] = NULL;
    on.n--;
    set_active();
}

int pk_linetracer_enable(PkLineTracer *lt)
{
    const char *why;
    int rc, pos;

    if (lt->enabled)
        return lt->all_threads ? 0 : enable_thread(lt);
    why = refusal(lt);
    if (why != NULL) {
        PyErr_SetString(PyExc_ValueError, why);
        return -1;
    }
    if (read_hook_flags(lt) < 0)
        return -1;
    lt->error = PK_OK;
    if (lt->memory && pk_linemem_start(lt) < 0)
        return -1;
    for (pos = 0; on.list[pos] != NULL; pos++)
        ;
    if (on.n == 0)
        on.backend = pk_monitor_wanted() ? PK_BACKEND_MONITORING : PK_BACKEND_LEGACY;
    lt->pos = pos;
    if (++g.session == 0) /* 0 is a thread's empty cache */
        ++g.session;
    lt->session = g.session;
    on.list[pos] = lt;
    on.n++;
    set_active();
    if (!lt->all_threads && own_thread(lt) == NULL) {
        rc = -1;
        PyErr_NoMemory();
    }
#if PK_HAVE_MONITORING
    else if (on.backend == PK_BACKEND_MONITORING)
        rc = monitoring_enable(lt);
#endif
    else
        rc = pk_legacy_install_ex(PK_HOOK_TRACE, legacy_trace, legacy_trace_slow, lt->hook_flags,
                                  lt->all_threads);
    if (rc < 0) {
        leave(lt);
        if (lt->memory)
            pk_linemem_stop(lt);
        return -1;
    }
    if (!lt->all_threads) {
        PkLineThread *t = own_thread(lt); /* found again: events may have taken the cache */
        if (t != NULL)
            t->here = 1;
    }
    lt->thread_enables = 1;
    pk_tracer_set_enabled(lt->self, &lt->enabled, 1);
    return 0;
}

int pk_linetracer_disable(PkLineTracer *lt)
{
    int rc;

    if (!lt->enabled)
        return 0;
    if (!lt->all_threads && lt->thread_enables > 1)
        return disable_thread(lt); /* other threads still trace */
#if PK_HAVE_MONITORING
    if (on.backend == PK_BACKEND_MONITORING)
        rc = on.n == 1 ? monitoring_release(lt) : monitoring_leave(lt);
    else
#endif
        rc = pk_legacy_remove(PK_HOOK_TRACE, legacy_trace, lt->all_threads);
    /* out of the list after the hooks: its open lines are dropped, as
     * line_profiler does, and its next session starts its stacks afresh */
    leave(lt);
    if (lt->memory)
        pk_linemem_stop(lt);
    lt->thread_enables = 0;
    pk_tracer_set_enabled(lt->self, &lt->enabled, 0);
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
    if (lt->slot_i >= 0)
        slots[lt->slot_i].owner = NULL;
    lt->slot_i = -1;
    lt->slot = g.extra_index;
}
