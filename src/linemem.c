/* linemem.c: the line tracer's memory mode (see linemem.h).
 *
 * Concern: attributing RSS and allocated bytes to the open line of the
 * innermost registered frame.  GIL held throughout: called from the line
 * tracer's events only.  Per event: a TLS read of the allocation counters,
 * and an RSS read only when it may have moved.
 *
 * Must never: count profkit's own memory (the allocation tracker's tables
 * are subtracted from RSS), call Python per event, or raise. */
#include "linemem.h"

#include <string.h>

#include "alloctrack.h"
#include "memsampler.h"
#include "timer.h"

/* ---- process-wide state ------------------------------------------------
 * The process's RSS as last read, shared by every thread's events: one
 * process has one RSS, so a reading serves whichever thread asks next, and
 * only one line tracer runs at a time.  It is read again only when it may
 * have moved: the allocation hooks saw a large block or an arena come or
 * go (or enough small blocks), or rss_stale_ticks have passed, which
 * bounds what code outside the hooked allocators (a C library's own
 * malloc) can hide. */
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

int pk_linemem_start(PkLineTracer *lt)
{
    if (pk_alloc_start((lt->memory & PK_LINEMEM_ALLOC) ? PK_TRACK_BYTES : PK_TRACK_EVENTS) < 0)
        return -1;
    rss_stale_ticks = (int64_t)(100e-6 / pk_timer_rough_seconds_per_tick());
    rss_last = 0;
    return 0;
}

void pk_linemem_stop(PkLineTracer *lt)
{
    (void)lt;
    pk_alloc_stop();
}

/* ---- attribution ------------------------------------------------------- */

/* Memory since the thread's last attribution goes to the open line of `fr`
 * (if any); the thread's marks move to now. */
static void attribute(PkLineTracer *lt, PkLineThread *t, PkLineFrame *fr)
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
static void open_line(PkLineTracer *lt, PkLineFrame *fr, int idx)
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
static void close_line(PkLineTracer *lt, PkLineThread *t, PkLineFrame *fr)
{
    PkLineCode *lc = fr->lc;
    int idx = fr->line;
    if (idx < 0)
        return;
    attribute(lt, t, fr);
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

/* ---- the caller note --------------------------------------------------- */

/* Who first called a profiled function from outside the profiled code: the
 * first enclosing frame that is not a comprehension or lambda, nor in the
 * file module.c was told to hide (profkit's wrappers).  Runs inside a
 * callback: the exception in flight is kept. */
static void note_caller(PkLineTracer *lt, PkLineCode *lc)
{
    PyObject *hidden = lt->mod->hidden_caller_file; /* NULL: none, or module cleared */
    PyFrameObject *f, *back;
    PkSavedError saved;

    pk_error_save(&saved);
    f = PyEval_GetFrame(); /* borrowed: the profiled frame */
    back = f != NULL ? PyFrame_GetBack(f) : NULL;
    for (int hops = 0; back != NULL && hops < 6; hops++) {
        PyCodeObject *code = PyFrame_GetCode(back);
        const char *name = PyUnicode_AsUTF8(code->co_name);
        if (name == NULL) {
            PyErr_Clear();
            Py_DECREF(code);
            break;
        }
        if ((name[0] != '<' || strcmp(name, "<module>") == 0) &&
            !(hidden != NULL && PyUnicode_Check(code->co_filename) &&
              PyUnicode_Compare(code->co_filename, hidden) == 0)) {
            Py_XSETREF(lc->caller, (PyObject *)code);
            lc->caller_line = PyFrame_GetLineNumber(back);
            break;
        }
        Py_DECREF(code);
        Py_SETREF(back, PyFrame_GetBack(back));
    }
    Py_XDECREF(back);
    pk_error_restore(&saved);
}

/* ---- events ------------------------------------------------------------ */

void pk_linemem_start_frame(PkLineTracer *lt, PkLineThread *t, PkLineCode *lc, int lineno)
{
    PkLineFrame *fr, *below = t->depth > 0 ? &t->frames[t->depth - 1] : NULL;
    /* once per function: walking frames on every call would cost more
     * than the rest of this event */
    if (below == NULL && lineno == lc->first_line && lc->caller == NULL)
        note_caller(lt, lc);
    /* what happened so far goes to the caller's line, or (outside any
     * registered frame) to no line */
    attribute(lt, t, below);
    if ((lt->memory & PK_LINEMEM_ALLOC) && below != NULL) {
        int64_t high = pk_alloc_counters()->high;
        if (high > below->seg_high)
            below->seg_high = high; /* the caller's line keeps what it reached */
    }
    fr = pk_linetracer_push(lt, t, lc);
    if (fr == NULL)
        return;
    fr->frame_high = (lt->memory & PK_LINEMEM_ALLOC) ? pk_alloc_counters()->live : 0;
    lineno -= lc->first_line;
    if (lineno >= 0 && lineno < lc->n_lines)
        open_line(lt, fr, lineno);
}

void pk_linemem_line(PkLineTracer *lt, PkLineThread *t, PkLineCode *lc, int lineno)
{
    PkLineFrame *fr;
    int idx = lineno - lc->first_line;
    if (t->depth > 0 && t->frames[t->depth - 1].lc == lc) {
        fr = &t->frames[t->depth - 1];
        close_line(lt, t, fr);
    } else {
        pk_linemem_start_frame(lt, t, lc, -1);
        if (t->depth == 0 || t->frames[t->depth - 1].lc != lc)
            return;
        fr = &t->frames[t->depth - 1];
    }
    if (idx >= 0 && idx < lc->n_lines)
        open_line(lt, fr, idx);
}

void pk_linemem_leave(PkLineTracer *lt, PkLineThread *t)
{
    PkLineFrame *fr = &t->frames[t->depth - 1];
    close_line(lt, t, fr);
    t->depth--;
    if ((lt->memory & PK_LINEMEM_ALLOC) && t->depth > 0) {
        PkLineFrame *below = &t->frames[t->depth - 1];
        if (fr->frame_high > below->seg_high)
            below->seg_high = fr->frame_high;
        pk_alloc_mark();
    }
}
