/* functracer.c: call/return events to cProfile-compatible statistics.
 *
 * Concern: the per-event hot path (enter/leave) and the two backends that
 * feed it.  Everything runs with the GIL held.  The hot path never calls
 * Python (unless the user supplied a timer), never hashes a code object
 * (its entry index lives in a code-object extra slot) and never allocates
 * once the functions and call pairs of the program have been seen.
 *
 * Must never: raise from a callback (a failure records p->error), call
 * Python inside a callback without saving the exception in flight, or keep
 * a frame or a bound method alive (builtins are recorded by their
 * PyMethodDef and a label string). */
#include "functracer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "callsites.h"
#include "legacy.h"
#include "monitor.h"
#include "pythread.h"
#include "timer.h"

/* ---- process-wide state ------------------------------------------------
 * The only mutable statics of this file; tracer.h says why each part of
 * `g` is process-wide.  The thread-locals belong to their own thread:
 *   tls         this thread's stack for the current session (one TLS
 *               block: a single offset load per event);
 *   tls_paused  its stack while pk_functracer_pause() holds it aside;
 *   tls_tree    its call tree, stamped with the generation of the profiler
 *               that made it: a thread's stack records are new each
 *               session, and thread idents are reused once a thread ends,
 *               so the thread itself is what finds its tree again.
 * Everything else lives in a PkProfiler or in the module state. */
static PkTracerGlobals g = PK_TRACER_GLOBALS_INIT(0); /* g.active: a PkProfiler */
PK_TLS PkThreadCache tls;
PK_TLS PkThread *tls_paused = NULL;
PK_TLS struct {
    PkTree *tree;
    uint32_t gen; /* PkProfiler.gen when it was made: new per profiler and per clear() */
} tls_tree;

/* The engine's own methods (the profiler type's method table), whose calls
 * never enter the statistics: stopping the profiler is profkit's business,
 * not the program's. */
static int is_own_method(const PkProfiler *p, const PyMethodDef *key)
{
    const PkModuleState *mod = p->mod;
    return mod->own_methods != NULL && key >= mod->own_methods &&
           key < mod->own_methods + mod->n_own_methods;
}


/* ---- timing ------------------------------------------------------------ */

/* The value of the user's timer result `o`, the way cProfile reads it
 * (CallExternalTimer in CPython's Modules/_lsprof.c): an int or float of
 * seconds becomes nanoseconds (floor), or, with a timeunit, the raw
 * integer.  0 and *out, or -1 with an exception set. */
static int timer_value(PyObject *o, double timeunit, int64_t *out)
{
    if (PyLong_Check(o)) {
        long long v = PyLong_AsLongLong(o);
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (timeunit > 0.0) {
            *out = v;
        }
        else if (__builtin_mul_overflow(v, (long long)1000000000, out)) {
            PyErr_SetString(PyExc_OverflowError, "timer value out of range");
            return -1;
        }
    }
    else {
        double d = PyFloat_AsDouble(o);
        if (d == -1.0 && PyErr_Occurred())
            return -1;
        *out = timeunit > 0.0 ? (int64_t)d : (int64_t)floor(d * 1e9);
    }
    return 0;
}

/* Calls the user's timer.  An error is reported as unraisable and reads as
 * 0, like cProfile; the exception in flight, if any, is kept. */
static PK_NOINLINE int64_t call_user_timer(PkProfiler *p)
{
    PkSavedError saved;
    PyObject *o;
    int64_t result = 0;

    pk_error_save(&saved);
    o = PyObject_CallObject(p->timer, NULL);
    if (o == NULL || timer_value(o, p->timeunit, &result) < 0) {
        PyErr_WriteUnraisable(p->timer);
        result = 0;
    }
    Py_XDECREF(o);
    pk_error_restore(&saved);
    return result;
}

PK_INLINE int64_t now(PkProfiler *p)
{
    if (PK_UNLIKELY(p->timer != NULL))
        return call_user_timer(p);
    return pk_timer_now();
}

double pk_functracer_factor(const PkProfiler *p)
{
    if (p->timer != NULL)
        return p->timeunit > 0.0 ? p->timeunit : 1.0 / 1e9;
    return pk_timer_seconds_per_tick();
}

/* ---- threads ----------------------------------------------------------- */

/* Slow path of current_thread(): first event of this thread in this
 * session.  Returns the thread's stack (a new one each session), or NULL
 * when the thread is not profiled (or out of memory, which is recorded). */
static PK_NOINLINE PkThread *attach_thread(PkProfiler *p)
{
    PkThread *t;

    if (!p->all_threads && PyThread_get_thread_ident() != p->owner) {
        tls.session = g.session;
        tls.thread = NULL; /* not profiled, for the rest of the session */
        return NULL;
    }
    t = pk_tracer_attach_thread(&tls, g.session, &p->threads, sizeof *t, 0);
    if (t == NULL)
        pk_sticky(&p->error, PK_ENOMEM);
    return t;
}

PK_INLINE PkThread *current_thread(PkProfiler *p)
{
    if (PK_LIKELY(tls.session == g.session))
        return tls.thread;
    return attach_thread(p);
}

static PK_NOINLINE int grow_stack(PkThread *t)
{
    PkFrame *n = pk_tracer_grow_stack(t->frames, &t->cap, sizeof *n, 64);
    if (n == NULL)
        return PK_ENOMEM;
    t->frames = n;
    return PK_OK;
}

/* ---- the call tree ----------------------------------------------------- */

/* A call of total time t_ and inline time i_ ends for x (an entry or an
 * edge), leaving lv_ calls of x open on the same thread's stack:
 * cProfile's arithmetic (Stop() in CPython's Modules/_lsprof.c), where
 * only the outermost of recursive calls adds to the total time. */
#define CHARGE(x, lv_, t_, i_)                                                \
    do {                                                                      \
        if ((lv_) == 0)                                                       \
            (x)->tt += (t_);                                                  \
        else                                                                  \
            (x)->reccount++;                                                  \
        (x)->it += (i_);                                                      \
        (x)->callcount++;                                                     \
    } while (0)


/* Slow path of a first frame's parent: the calling thread's tree (t is its
 * stack), the one an earlier session of the thread made (tls_tree) or a
 * new one.  Returns its root, or NULL when out of memory (recorded). */
static PK_NOINLINE PkNode *attach_tree(PkProfiler *p, PkThread *t)
{
    PkTree *tree = tls_tree.gen == p->gen ? tls_tree.tree : NULL;

    if (tree == NULL) {
        tree = pk_tree_new(t->link.ident, p->tree_depth);
        if (tree == NULL) {
            pk_sticky(&p->error, PK_ENOMEM);
            return NULL;
        }
        tree->next = p->trees;
        p->trees = tree;
        tls_tree.tree = tree;
        tls_tree.gen = p->gen;
    }
    t->tree = tree;
    t->root = pk_tree_root(tree);
    return t->root;
}

/* The node of the call of e just pushed on t, its level raised; NULL when
 * a node could not be made (recorded), or its caller has none. */
static PkNode *tree_enter(PkProfiler *p, PkThread *t, PkEntry *e)
{
    PkNode *parent = t->depth > 1 ? t->frames[t->depth - 2].node : t->root;
    PkNode *n;

    if (parent == NULL) {
        if (t->depth > 1)
            return NULL; /* the caller has no node: its calls are lost with it */
        parent = attach_tree(p, t);
        if (parent == NULL)
            return NULL;
    }
    n = pk_tree_enter(t->tree, parent, e);
    if (PK_UNLIKELY(n == NULL)) {
        pk_sticky(&p->error, PK_ENOMEM);
        return NULL;
    }
    n->level++;
    return n;
}

/* The call of frame fr (popped from t) ends with total ticks tt and inline
 * ticks it; `e` says which function returned, and `own` whether it is the
 * frame's.  Charged to the node as stop() charges the entry: when the
 * returning function is not the frame's, to e's node under the same caller,
 * so that every function's inline time and calls stay its own. */
static void tree_stop(PkProfiler *p, PkThread *t, PkFrame *fr, PkEntry *e, int own, int64_t tt,
                      int64_t it)
{
    PkNode *n = fr->node;
    long lv;

    if (n == NULL)
        return;
    if (PK_LIKELY(own)) {
        lv = --n->level;
    }
    else {
        n = pk_tree_child(t->tree, n->parent, e);
        if (n == NULL) {
            pk_sticky(&p->error, PK_ENOMEM);
            return;
        }
        lv = n->level > 0 ? --n->level : 0;
    }
    CHARGE(n, lv, tt, it);
}

/* ---- recursion levels, per thread ------------------------------------- */

/* The level of x (an entry or edge) in t's own table: 0 when absent. */
static long priv_level(const PkThread *t, const void *x)
{
    if (t->n_priv == 0)
        return 0;
    return (long)(intptr_t)pk_map_get(&t->priv, (uintptr_t)x, 0);
}

/* Slow path of level_up(): t does not own x.  t takes x over when no
 * thread has it on its stack (x's level is 0) and t has no private level
 * for it; otherwise the call is counted in t's own table.  Returns the
 * PK_PRIV_* bit `bit` when the private table counted it, else 0.  Out of
 * memory, the shared level counts it (and disable() reports the failure). */
static PK_NOINLINE int level_up_slow(PkProfiler *p, PkThread *t, void *x, long *level, void **owner,
                                     int bit)
{
    long priv = priv_level(t, x);

    if (*level == 0 && priv == 0) {
        *owner = t;
        *level = 1;
        return 0;
    }
    if (pk_map_put(&t->priv, (uintptr_t)x, 0, (void *)(intptr_t)(priv + 1)) != PK_OK) {
        pk_sticky(&p->error, PK_ENOMEM);
        (*level)++;
        return 0;
    }
    if (priv == 0)
        t->n_priv++;
    return bit;
}

/* One more call of x on t's stack.  An owner never has a private level for
 * what it owns (it takes over only without one, and its calls then go to
 * the shared level), so `level` alone tells whether the call recurses. */
PK_INLINE int level_up(PkProfiler *p, PkThread *t, void *x, long *level, void **owner, int bit)
{
    if (PK_LIKELY(*owner == (void *)t)) {
        (*level)++;
        return 0;
    }
    return level_up_slow(p, t, x, level, owner, bit);
}

/* Takes back a private level of x from t's table; returns what is left. */
static PK_NOINLINE long priv_down(PkThread *t, void *x)
{
    long priv = priv_level(t, x) - 1;

    if (priv < 0)
        return 0; /* nothing was counted there: the call was not seen */
    pk_map_put(&t->priv, (uintptr_t)x, 0, (void *)(intptr_t)priv); /* key exists: cannot fail */
    if (priv == 0)
        t->n_priv--;
    return priv;
}

/* A call of x ends on t; `priv` says where its level was counted.  Returns
 * the level left: 0 when the call was the outermost one on t's stack. */
PK_INLINE long level_down(PkThread *t, void *x, long *level, int priv)
{
    if (PK_LIKELY(!priv))
        return --(*level);
    return priv_down(t, x);
}

/* Where a call of x on t would have counted its level, for a return that
 * does not match the frame's own function (a rare path). */
static int priv_bit_of(const PkThread *t, const void *x, const void *owner, int bit)
{
    return (owner != (const void *)t && priv_level(t, x) > 0) ? bit : 0;
}

/* ---- entries ----------------------------------------------------------- */

static void release_obj(void *obj)
{
    Py_DECREF((PyObject *)obj);
}

/* Slow path for code objects: the map, then a new entry, then the slot.
 * Runs inside callbacks, so the exception in flight survives it. */
static PK_NOINLINE PkEntry *code_entry_slow(PkProfiler *p, PyObject *code, int create)
{
    PkEntry *e = pk_stats_find(&p->stats, code);
    PkSavedError saved;

    if (e == NULL) {
        if (!create)
            return NULL;
        Py_INCREF(code);
        e = pk_stats_add(&p->stats, code, code);
        if (e == NULL) {
            Py_DECREF(code);
            pk_sticky(&p->error, PK_ENOMEM);
            return NULL;
        }
    }
    pk_error_save(&saved);
    if (pk_tracer_slot_set(code, g.extra_index, p->gen, e->index) < 0)
        PyErr_Clear(); /* only the cache is lost; the map still works */
    pk_error_restore(&saved);
    return e;
}

PK_INLINE PkEntry *code_entry(PkProfiler *p, PyObject *code, int create)
{
    uint32_t i;

    if (PK_LIKELY(pk_tracer_slot_get(code, g.extra_index, p->gen, &i)))
        return p->stats.entries[i];
    return code_entry_slow(p, code, create);
}

/* cProfile's label for a builtin: "<built-in method mod.name>",
 * "<method 'append' of 'list' objects>" or "<name>".  Computed once per
 * function from the first call's object.  New reference, or NULL with an
 * exception set.
 *
 * Follows normalizeUserObj() in CPython's Modules/_lsprof.c, step for
 * step, so that labels match cProfile's: Copyright (c) Python Software
 * Foundation, used under the PSF License Agreement (Python-2.0). */
static PyObject *builtin_label(PyCFunctionObject *fn)
{
    PyObject *self = fn->m_self;
    PyObject *mod = fn->m_module;

    if (self == NULL) {
        PyObject *modname = NULL;
        if (mod != NULL) {
            if (PyUnicode_Check(mod)) {
                modname = pk_newref(mod);
            }
            else if (PyModule_Check(mod)) {
                modname = PyModule_GetNameObject(mod);
                if (modname == NULL)
                    PyErr_Clear();
            }
        }
        if (modname != NULL) {
            if (PyUnicode_CompareWithASCIIString(modname, "builtins") != 0) {
                PyObject *r = PyUnicode_FromFormat("<%U.%s>", modname, fn->m_ml->ml_name);
                Py_DECREF(modname);
                return r;
            }
            Py_DECREF(modname);
        }
        return PyUnicode_FromFormat("<%s>", fn->m_ml->ml_name);
    }
    else {
        PyObject *name = PyUnicode_FromString(fn->m_ml->ml_name);
        if (name != NULL) {
            PyObject *mo = _PyType_Lookup(Py_TYPE(self), name);
            Py_XINCREF(mo);
            Py_DECREF(name);
            if (mo != NULL) {
                PyObject *res = PyObject_Repr(mo);
                Py_DECREF(mo);
                if (res != NULL)
                    return res;
            }
        }
        PyErr_Clear();
        if (mod != NULL && PyUnicode_Check(mod))
            return PyUnicode_FromFormat("<built-in method %S.%s>", mod, fn->m_ml->ml_name);
        return PyUnicode_FromFormat("<built-in method %s>", fn->m_ml->ml_name);
    }
}

/* Entry for a builtin keyed by its PyMethodDef.  `fn` (a PyCFunction) is
 * only read when the entry is new; `descr_self` is set instead when the
 * event carried a method descriptor and its self (3.12+ CALL events), in
 * which case the bound method is made here, on the slow path only. */
static PK_NOINLINE PkEntry *builtin_entry_new(PkProfiler *p, PyMethodDef *key, PyObject *fn,
                                              PyObject *descr_self)
{
    PkSavedError saved;
    PyObject *label = NULL, *bound = NULL;
    PkEntry *e = NULL;

    pk_error_save(&saved);
    if (descr_self != NULL) {
        bound = Py_TYPE(fn)->tp_descr_get(fn, descr_self, (PyObject *)Py_TYPE(descr_self));
        if (bound == NULL || !PyCFunction_Check(bound))
            goto done;
        fn = bound;
    }
    label = builtin_label((PyCFunctionObject *)fn);
    if (label == NULL)
        goto done;
    e = pk_stats_add(&p->stats, key, label);
    if (e == NULL) {
        pk_sticky(&p->error, PK_ENOMEM);
        Py_DECREF(label);
    }
done:
    if (e == NULL)
        PyErr_Clear();
    Py_XDECREF(bound);
    pk_error_restore(&saved);
    return e;
}

/* ---- the hot path ------------------------------------------------------ */

/* A call of the function `e` begins (cProfile's initContext). */
PK_INLINE void enter(PkProfiler *p, PkThread *t, PkEntry *e)
{
    PkFrame *fr;

    if (PK_UNLIKELY(t->depth == t->cap) && grow_stack(t) != PK_OK) {
        pk_sticky(&p->error, PK_ENOMEM);
        return;
    }
    fr = &t->frames[t->depth++];
    fr->entry = e;
    fr->subt = 0;
    fr->edge = NULL;
    fr->priv = level_up(p, t, e, &e->level, &e->owner, PK_PRIV_ENTRY);
    if (PK_UNLIKELY(p->tree))
        fr->node = tree_enter(p, t, e);
    if (p->subcalls && t->depth > 1) {
        PkEntry *caller = t->frames[t->depth - 2].entry;
        /* The callee's last edge is the usual hit (always under recursion);
         * checking it here saves a call into stats.c. */
        PkEdge *edge = e->last_in;
        if (edge == NULL || edge->caller != caller)
            edge = pk_stats_edge(&p->stats, caller, e);
        if (edge != NULL)
            fr->priv |= level_up(p, t, edge, &edge->level, &edge->owner, PK_PRIV_EDGE);
        else
            pk_sticky(&p->error, PK_ENOMEM);
        fr->edge = edge;
    }
    fr->t0 = now(p);
}

/* The innermost call ends; `e` is the entry of the function that says it
 * returned, normally the frame's own (cProfile's Stop). */
PK_INLINE void stop(PkProfiler *p, PkThread *t, PkEntry *e)
{
    PkFrame *fr = &t->frames[t->depth - 1];
    int64_t tt = now(p) - fr->t0;
    int64_t it = tt - fr->subt;
    PkFrame *prev;

    int own = (e == fr->entry);
    int priv;
    long lv;

    t->depth--;
    prev = t->depth ? &t->frames[t->depth - 1] : NULL;
    if (prev != NULL)
        prev->subt += tt;
    priv = own ? fr->priv & PK_PRIV_ENTRY : priv_bit_of(t, e, e->owner, PK_PRIV_ENTRY);
    lv = level_down(t, e, &e->level, priv);
    CHARGE(e, lv, tt, it);
    if (PK_UNLIKELY(p->tree))
        tree_stop(p, t, fr, e, own, tt, it);
    if (p->subcalls && prev != NULL) {
        PkEdge *edge = (own && fr->edge != NULL) ? fr->edge
                                                 : pk_stats_find_edge(&p->stats, prev->entry, e);
        if (edge != NULL) {
            priv = (own && edge == fr->edge) ? fr->priv & PK_PRIV_EDGE
                                             : priv_bit_of(t, edge, edge->owner, PK_PRIV_EDGE);
            lv = level_down(t, edge, &edge->level, priv);
            CHARGE(edge, lv, tt, it);
        }
    }
}

/* A return event for `e` (NULL when the function is unknown): pops the top
 * frame, charging it only when the function is known, as cProfile does. */
PK_INLINE void leave(PkProfiler *p, PkThread *t, PkEntry *e)
{
    if (t->depth == 0)
        return;
    if (e != NULL)
        stop(p, t, e);
    else
        t->depth--;
}

PK_INLINE void enter_code(PkProfiler *p, PyObject *code)
{
    PkThread *t = current_thread(p);
    PkEntry *e;

    if (PK_UNLIKELY(t == NULL))
        return;
    e = code_entry(p, code, 1);
    if (PK_LIKELY(e != NULL))
        enter(p, t, e);
}

PK_INLINE void leave_code(PkProfiler *p, PyObject *code)
{
    PkThread *t = current_thread(p);
    PkEntry *top;

    if (PK_UNLIKELY(t == NULL) || t->depth == 0)
        return;
    /* Nearly always the returning function is the one on top of the stack,
     * whose entry is in cache: no need to read the code object's slot. */
    top = t->frames[t->depth - 1].entry;
    leave(p, t, PK_LIKELY(top->key == (void *)code) ? top : code_entry(p, code, 0));
}

/* A builtin call or return.  `fn` is a PyCFunction, or a method
 * descriptor with `descr_self` its self argument. */
PK_INLINE void builtin_event(PkProfiler *p, int is_call, PyMethodDef *key, PyObject *fn,
                             PyObject *descr_self)
{
    PkThread *t = current_thread(p);
    PkEntry *e;

    if (PK_UNLIKELY(t == NULL))
        return;
    e = pk_stats_find(&p->stats, key);
    if (PK_UNLIKELY(e == NULL)) {
        /* The engine's own methods get no entry: both their call and their
         * return are skipped (an unknown return would pop the caller). */
        if (is_own_method(p, key))
            return;
        if (is_call) {
            e = builtin_entry_new(p, key, fn, descr_self);
            if (e == NULL)
                return;
        }
    }
    if (is_call)
        enter(p, t, e);
    else
        leave(p, t, e);
}

/* Flushes every open call of every thread (cProfile's flush_unmatched). */
static void flush_all(PkProfiler *p)
{
    PkThreadLink *link;
    PkTree *tree;
    size_t i;

    for (link = p->threads; link != NULL; link = link->next) {
        PkThread *t = (PkThread *)link;
        while (t->depth > 0)
            stop(p, t, t->frames[t->depth - 1].entry);
    }
    /* Every level is 0 again; the threads they named are about to go. */
    for (tree = p->trees; tree != NULL; tree = tree->next)
        pk_tree_reset_levels(tree);
    for (i = 0; i < p->stats.n_entries; i++) {
        PkEntry *e = p->stats.entries[i];
        PkEdge *edge;
        e->owner = NULL;
        for (edge = e->calls; edge != NULL; edge = edge->next)
            edge->owner = NULL;
    }
}

static void free_trees(PkProfiler *p)
{
    while (p->trees != NULL) {
        PkTree *next = p->trees->next;
        pk_tree_free(p->trees);
        p->trees = next;
    }
}

static void release_thread(PkThreadLink *link)
{
    PkThread *t = (PkThread *)link;
    free(t->frames);
    pk_map_free(&t->priv);
}

/* ---- fast paths (both backends) ---------------------------------------- */

/* Fast paths for the common Python call and return: every condition the
 * general code (enter_code/leave_code) could branch on is checked before
 * anything changes, and the update itself makes no function call, so the
 * callback needs no saved registers.  They return 0, having changed
 * nothing, when the general path must run; the arithmetic is enter()'s and
 * stop()'s.  They read the engine clock directly: the callback that uses
 * them is installed only when the profiler has no custom timer and records
 * caller/callee pairs (subcalls). */
PK_INLINE int enter_fast(PkProfiler *p, PyObject *code, const int tsc, const int tree,
                         PkEntry **entered)
{
    PkThread *t;
    PkEntry *e;
    PkEdge *edge = NULL;
    PkNode *node = NULL;
    PkFrame *fr;
    uint32_t i;
    size_t d;

    if (PK_UNLIKELY(tls.session != g.session))
        return 0;
    t = tls.thread;
    if (PK_UNLIKELY(t == NULL)) {
        *entered = NULL;
        return 1; /* thread not profiled */
    }
    if (!pk_tracer_slot_get(code, g.extra_index, p->gen, &i))
        return 0;
    e = p->stats.entries[i];
    d = t->depth;
    /* This thread must own the entry and the edge (see level_up). */
    if (PK_UNLIKELY(d == t->cap) || PK_UNLIKELY(e->owner != (void *)t))
        return 0;
    if (tree) {
        /* The node the caller's last call went to, when it is e's. */
        PkNode *parent = d > 0 ? t->frames[d - 1].node : t->root;
        if (PK_UNLIKELY(parent == NULL))
            return 0;
        node = parent->last;
        if (PK_UNLIKELY(node == NULL) || PK_UNLIKELY(node->fn != (void *)e))
            return 0;
    }
    if (d > 0) { /* the fast callbacks run only with subcalls on */
        edge = e->last_in;
        if (PK_UNLIKELY(edge == NULL || edge->caller != t->frames[d - 1].entry) ||
            PK_UNLIKELY(edge->owner != (void *)t))
            return 0;
        edge->level++;
    }
    fr = &t->frames[d];
    t->depth = d + 1;
    fr->entry = e;
    fr->subt = 0;
    fr->edge = edge;
    fr->priv = 0;
    if (tree) {
        fr->node = node;
        node->level++;
    }
    e->level++;
    fr->t0 = pk_timer_now_as(tsc);
    *entered = e;
    return 1;
}

PK_INLINE int leave_fast(PkProfiler *p, PyObject *code, const int tsc, const int tree)
{
    PkThread *t;
    PkFrame *fr, *prev;
    PkEntry *e;
    PkEdge *edge;
    PkNode *node = NULL;
    int64_t tt, it;
    size_t d;

    if (PK_UNLIKELY(tls.session != g.session))
        return 0;
    t = tls.thread;
    if (PK_UNLIKELY(t == NULL) || PK_UNLIKELY(t->depth == 0))
        return 1; /* thread not profiled, or nothing open */
    d = t->depth - 1;
    fr = &t->frames[d];
    e = fr->entry;
    edge = fr->edge;
    if (PK_UNLIKELY(e->key != (void *)code) || PK_UNLIKELY(fr->priv != 0) ||
        (d > 0 && PK_UNLIKELY(edge == NULL)))
        return 0;
    if (tree) {
        node = fr->node;
        if (PK_UNLIKELY(node == NULL))
            return 0;
    }
    tt = pk_timer_now_as(tsc) - fr->t0;
    it = tt - fr->subt;
    t->depth = d;
    CHARGE(e, --e->level, tt, it);
    if (tree)
        CHARGE(node, --node->level, tt, it);
    if (d > 0) {
        prev = fr - 1;
        prev->subt += tt;
        CHARGE(edge, --edge->level, tt, it);
    }
    return 1;
}

/* ---- legacy backend: PyEval_SetProfile --------------------------------- */

/* Stamps out X(suffix, tsc, tree) once per specialisation of the fast
 * callbacks: on the clock (the engine's, or a bare rdtsc) and on the tree
 * option, so that the flat profile's fast paths carry no test of either. */
#if PK_TIMER_HAVE_TSC
#define EACH_VARIANT(X) X(_fast, 0, 0) X(_fast_tree, 0, 1) X(_tsc, 1, 0) X(_tsc_tree, 1, 1)
#else
#define EACH_VARIANT(X) X(_fast, 0, 0) X(_fast_tree, 0, 1)
#endif

/* The general path, for everything the fast paths decline, and the whole
 * callback when the profiler has a custom timer. */
static PK_NOINLINE int legacy_slow(PkProfiler *p, PyFrameObject *frame, int what, PyObject *arg)
{
    if (PK_UNLIKELY(p == NULL))
        return 0;
    if (what == PyTrace_CALL || what == PyTrace_RETURN) {
        PyObject *code = PK_FRAME_CODE_BORROWED(frame);
        if (what == PyTrace_CALL)
            enter_code(p, code);
        else
            leave_code(p, code);
#if PK_FRAME_CODE_NEEDS_DECREF
        Py_DECREF(code);
#endif
        return 0;
    }
    if (!p->builtins || !PyCFunction_Check(arg))
        return 0;
    if (what == PyTrace_C_CALL)
        builtin_event(p, 1, ((PyCFunctionObject *)arg)->m_ml, arg, NULL);
    else if (what == PyTrace_C_RETURN || what == PyTrace_C_EXCEPTION)
        builtin_event(p, 0, ((PyCFunctionObject *)arg)->m_ml, arg, NULL);
    return 0;
}

/* With a custom timer every event takes the general path. */
static int legacy_callback_general(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    return legacy_slow(g.active, frame, what, arg);
}

/* The default callback, specialised on the clock.
 * The fast paths are leaf code and the general path is reached by a tail
 * call, so with the TSC the common events save no registers at all. */
PK_INLINE int legacy_event(PyFrameObject *frame, int what, PyObject *arg, const int tsc,
                           const int tree)
{
    PkProfiler *p = g.active;

#ifdef PK_BENCH_NOOP_HOOK
    /* Benchmark builds only (bench/README.md): Python calls and returns are
     * ignored, which measures what CPython's hook costs by itself. */
    if (what == PyTrace_CALL || what == PyTrace_RETURN)
        return 0;
#endif

#if !PK_FRAME_CODE_NEEDS_DECREF
    if (PK_LIKELY(p != NULL)) {
        if (what == PyTrace_CALL) {
            PkEntry *e;
            if (PK_LIKELY(enter_fast(p, PK_FRAME_CODE_BORROWED(frame), tsc, tree, &e)))
                return 0;
        }
        else if (what == PyTrace_RETURN) {
            if (PK_LIKELY(leave_fast(p, PK_FRAME_CODE_BORROWED(frame), tsc, tree)))
                return 0;
        }
    }
#else
    (void)tsc;
    (void)tree;
#endif
    return legacy_slow(p, frame, what, arg);
}

/* One callback per clock, with and without the call tree. */
#define LEGACY_CALLBACK(suffix, tsc, tree)                                                        \
    static int legacy_callback##suffix(PyObject *obj, PyFrameObject *frame, int what,            \
                                       PyObject *arg)                                           \
    {                                                                                           \
        (void)obj;                                                                              \
        return legacy_event(frame, what, arg, tsc, tree);                                       \
    }

EACH_VARIANT(LEGACY_CALLBACK)

/* The callback for p's configuration; fixed while p is enabled. */
static Py_tracefunc legacy_function(const PkProfiler *p)
{
    if (p->timer != NULL || !p->subcalls)
        return legacy_callback_general;
#if PK_TIMER_HAVE_TSC
    if (pk_timer_use_tsc)
        return p->tree ? legacy_callback_tsc_tree : legacy_callback_tsc;
#endif
    return p->tree ? legacy_callback_fast_tree : legacy_callback_fast;
}

static int legacy_enable(PkProfiler *p)
{
    return pk_legacy_install(PK_HOOK_PROFILE, legacy_function(p), p->all_threads);
}

static int legacy_disable(PkProfiler *p)
{
    return pk_legacy_remove(PK_HOOK_PROFILE, legacy_function(p), p->all_threads);
}

/* ---- monitoring backend: sys.monitoring with C callbacks --------------- */

#if PK_HAVE_MONITORING

#define RETURN_NONE_FAST return Py_None /* None is immortal from 3.12 */

/* PY_START, PY_RESUME, PY_THROW: (code, offset[, exc]) when `start`;
 * PY_RETURN, PY_YIELD, PY_UNWIND: (code, offset, value) otherwise.  The
 * general callbacks' body, used as is with a custom timer. */
PK_INLINE PyObject *py_general(PyObject *const *args, const int start)
{
    PkProfiler *p = g.active;

    if (PK_LIKELY(p != NULL)) {
        if (start) {
            PkEntry *e;
            enter_code(p, args[0]);
            if (p->sites && (e = code_entry(p, args[0], 0)) != NULL && e->sites != NULL)
                pk_sites_start(e->sites);
        }
        else {
            leave_code(p, args[0]);
        }
    }
    RETURN_NONE_FAST;
}

/* A frame of e's code starts or resumes while some of its call sites are
 * switched off: they must be its namespaces' (callsites.h). */
static PK_NOINLINE PyObject *sites_start(PkEntry *e)
{
    pk_sites_start(e->sites);
    RETURN_NONE_FAST;
}

static PK_NOINLINE PyObject *cb_py_start(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self; (void)nargsf; (void)kw;
    return py_general(args, 1);
}

static PK_NOINLINE PyObject *cb_py_return(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self; (void)nargsf; (void)kw;
    return py_general(args, 0);
}

/* The same two with the legacy backend's fast paths in front, specialised
 * on the clock and the tree option like legacy_event(); anything they
 * decline goes to the general callback by a tail call.  `start` (a
 * constant) chooses PY_START's pair or PY_RETURN's. */
PK_INLINE PyObject *py_fast(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw,
                            const int start, const int tsc, const int tree)
{
    PkProfiler *p = g.active;
    PkEntry *e;

    if (start) {
        if (PK_LIKELY(p != NULL) && PK_LIKELY(enter_fast(p, args[0], tsc, tree, &e))) {
            if (PK_UNLIKELY(e != NULL && e->sites != NULL) && pk_sites_any_off(e->sites))
                return sites_start(e);
            RETURN_NONE_FAST;
        }
        return cb_py_start(self, args, nargsf, kw);
    }
    if (PK_LIKELY(p != NULL) && PK_LIKELY(leave_fast(p, args[0], tsc, tree)))
        RETURN_NONE_FAST;
    return cb_py_return(self, args, nargsf, kw);
}

/* One PY_START and one PY_RETURN callback per clock and tree option. */
#define PY_FAST_CALLBACKS(suffix, tsc, tree)                                                    \
    static PyObject *cb_py_start##suffix(PyObject *self, PyObject *const *args, size_t nargsf,   \
                                         PyObject *kw)                                          \
    {                                                                                           \
        return py_fast(self, args, nargsf, kw, 1, tsc, tree);                                   \
    }                                                                                           \
    static PyObject *cb_py_return##suffix(PyObject *self, PyObject *const *args, size_t nargsf,  \
                                          PyObject *kw)                                         \
    {                                                                                           \
        return py_fast(self, args, nargsf, kw, 0, tsc, tree);                                   \
    }

EACH_VARIANT(PY_FAST_CALLBACKS)

/* The builtin behind a CALL/C_RETURN/C_RAISE callable, or NULL.  Method
 * descriptors (list.append called as lst.append(x)) count as the bound
 * builtin method cProfile would make from them (get_cfunc_from_callable()
 * in CPython's Modules/_lsprof.c), keyed by the same PyMethodDef, without
 * making it. */
PK_INLINE PyMethodDef *builtin_key(PkProfiler *p, PyObject *callable, PyObject *arg0,
                                   PyObject **descr_self)
{
    *descr_self = NULL;
    if (PyCFunction_Check(callable))
        return ((PyCFunctionObject *)callable)->m_ml;
    if (Py_IS_TYPE(callable, &PyMethodDescr_Type) && arg0 != p->missing) {
        *descr_self = arg0;
        return ((PyMethodDescrObject *)callable)->d_method;
    }
    return NULL;
}

/* CALL (`is_call`), C_RETURN and C_RAISE: (code, offset, callable, arg0).
 * The callable of a CALL is passed on to name a new entry; a return needs
 * only the key.  Out of line, so that cb_call()'s common case saves no
 * registers. */
static PK_NOINLINE PyObject *c_event(PyObject *const *args, int is_call)
{
    PkProfiler *p = g.active;
    PyObject *descr_self;
    PyMethodDef *key;

    if (PK_LIKELY(p != NULL)) {
        key = builtin_key(p, args[2], args[3], &descr_self);
        if (key != NULL)
            builtin_event(p, is_call, key, args[2], is_call ? descr_self : NULL);
    }
    RETURN_NONE_FAST;
}

/* A CALL of a Python function: nothing to record (PY_START sees it), but
 * the site may be switched off (callsites.h). */
static PK_NOINLINE PyObject *py_call(PyObject *const *args)
{
    PkProfiler *p = g.active;
    PkEntry *e;

    if (p == NULL || !p->sites || (e = code_entry(p, args[0], 0)) == NULL)
        RETURN_NONE_FAST;
    if (PK_UNLIKELY(e->sites == NULL)) {
        uint32_t session = g.session;
        PkSites *st = pk_sites_make(args[0]); /* Python code: other threads may run */
        /* Meanwhile the session may have ended (and p gone with it), or
         * clear() may have freed the entry, or another thread made its sites. */
        if (st == NULL || g.session != session || g.active != p ||
            (e = code_entry(p, args[0], 0)) == NULL || e->sites != NULL) {
            pk_sites_free(st);
            RETURN_NONE_FAST;
        }
        e->sites = st;
    }
    return pk_sites_call(e->sites, args[0], args[1], args[2], p->mod->mon_disable);
}

static PyObject *cb_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self; (void)nargsf; (void)kw;
    /* Calls of Python functions, most calls, are seen by PY_START; the
     * builtin work is reached by a tail call, and so is py_call(). */
    if (PK_LIKELY(PyFunction_Check(args[2])))
        return py_call(args);
    return c_event(args, 1);
}

static PyObject *cb_c_return(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)self; (void)nargsf; (void)kw;
    return c_event(args, 0);
}

/* PY_UNWIND and PY_THROW cannot be local events, and a profiler wants every
 * function anyway: all rows are global. */
static const PkMonitorRow monitoring_rows[] = {
    {"PY_START", cb_py_start, 1},   {"PY_RESUME", cb_py_start, 1},
    {"PY_THROW", cb_py_start, 1},   {"PY_RETURN", cb_py_return, 1},
    {"PY_YIELD", cb_py_return, 1},  {"PY_UNWIND", cb_py_return, 1},
    {"CALL", cb_call, 1},           {"C_RETURN", cb_c_return, 1},
    {"C_RAISE", cb_c_return, 1},
};
#define N_ROWS ((int)(sizeof monitoring_rows / sizeof monitoring_rows[0]))
#define N_BUILTIN_ROWS 3 /* the last three rows */

/* The rows for p: without builtins the three builtin events stay off;
 * without a custom timer the Python events get the fast callbacks (those
 * of the tree when p keeps one). */
static void rows_for(const PkProfiler *p, PkMonitorRow *rows)
{
    vectorcallfunc start = cb_py_start, ret = cb_py_return;
    int i;

    if (p->timer == NULL && p->subcalls) {
        start = p->tree ? cb_py_start_fast_tree : cb_py_start_fast;
        ret = p->tree ? cb_py_return_fast_tree : cb_py_return_fast;
#if PK_TIMER_HAVE_TSC
        if (pk_timer_use_tsc) {
            start = p->tree ? cb_py_start_tsc_tree : cb_py_start_tsc;
            ret = p->tree ? cb_py_return_tsc_tree : cb_py_return_tsc;
        }
#endif
    }
    for (i = 0; i < N_ROWS; i++) {
        rows[i] = monitoring_rows[i];
        if (rows[i].fn == cb_py_start)
            rows[i].fn = start;
        else if (rows[i].fn == cb_py_return)
            rows[i].fn = ret;
        else if (!p->builtins && i >= N_ROWS - N_BUILTIN_ROWS)
            rows[i].fn = NULL;
    }
}

static int monitoring_enable(PkProfiler *p)
{
    /* Prefer the id reserved for profilers; fall back to the two ids no
     * tool is conventionally given, so profkit can run under cProfile. */
    static const int ids[] = {2, 4, 3};
    PkMonitorRow rows[N_ROWS];

    rows_for(p, rows);
    p->missing = p->mod->mon_missing;
    /* Without builtins CALL is not monitored at all.  Begun first: it may
     * import the analyser, which is not the program's work. */
    p->sites = p->builtins && pk_sites_begin();
    if (pk_monitor_claim(p->mod->callback_type, ids, 3, "profkit", rows, N_ROWS, &p->tool_id) < 0) {
        if (p->sites)
            pk_sites_end();
        p->sites = 0;
        return -1;
    }
    return 0;
}

static int monitoring_disable(PkProfiler *p)
{
    PkMonitorRow rows[N_ROWS];

    rows_for(p, rows);
    if (p->sites) {
        pk_sites_end(); /* every site comes back on: the next session may get this tool id */
        p->sites = 0;
    }
    return pk_monitor_release(p->tool_id, rows, N_ROWS, NULL);
}

#endif /* PK_HAVE_MONITORING */

/* ---- lifecycle --------------------------------------------------------- */

const char *pk_functracer_backend_name(void)
{
    return pk_monitor_wanted() ? "monitoring" : "legacy";
}

int pk_functracer_module_init(void)
{
    return pk_tracer_request_slot(&g);
}

void pk_functracer_init(PkProfiler *p, PyObject *self, const PkModuleState *mod)
{
    pk_stats_init(&p->stats);
    p->gen = ++g.gen;
    p->subcalls = 1;
    p->tree_depth = PK_TREE_DEFAULT_DEPTH;
    p->builtins = 1;
    p->all_threads = 1;
    p->self = self;
    p->mod = mod;
}

/* Installs (on=1) or removes (on=0) p's hooks on the backend it uses. */
static int set_hooks(PkProfiler *p, int on)
{
#if PK_HAVE_MONITORING
    if (p->backend == PK_BACKEND_MONITORING)
        return on ? monitoring_enable(p) : monitoring_disable(p);
#endif
    return on ? legacy_enable(p) : legacy_disable(p);
}

int pk_functracer_enable(PkProfiler *p)
{
    int rc;

    if (p->enabled)
        return 0;
    if (g.active != NULL) {
        PyErr_SetString(PyExc_ValueError, "another profkit profiler is already active");
        return -1;
    }
    p->owner = PyThread_get_thread_ident();
    p->error = PK_OK;
    g.session++;
    g.active = p;
    p->backend = pk_monitor_wanted() ? PK_BACKEND_MONITORING : PK_BACKEND_LEGACY;
    rc = set_hooks(p, 1);
    if (rc < 0) {
        g.active = NULL;
        return -1;
    }
    pk_tracer_set_enabled(p->self, &p->enabled, 1); /* disable() lets it go */
    return 0;
}

int pk_functracer_disable(PkProfiler *p)
{
    int rc;

    if (!p->enabled)
        return 0;
    rc = set_hooks(p, 0);
    g.active = NULL;
    g.session++;
    flush_all(p);
    pk_tracer_free_threads(&p->threads, release_thread);
    pk_tracer_set_enabled(p->self, &p->enabled, 0);
    return rc;
}

void pk_functracer_pause(PkProfiler *p, int pause)
{
    if (!p->enabled)
        return;
    if (pause) {
        PkThread *t = current_thread(p);
        if (t != NULL) {
            tls_paused = t;
            tls.thread = NULL; /* with tls.session current: "ignore" */
        }
    }
    else if (tls_paused != NULL && tls.session == g.session) {
        tls.thread = tls_paused;
        tls_paused = NULL;
    }
}

/* Frees every entry's call sites (callsites.h). */
static void free_sites(PkProfiler *p)
{
#if PK_HAVE_MONITORING
    size_t i;

    if (p->sites)
        pk_sites_restart(); /* no site may stay off without its PkSites */
    for (i = 0; i < p->stats.n_entries; i++) {
        pk_sites_free(p->stats.entries[i]->sites);
        p->stats.entries[i]->sites = NULL;
    }
#else
    (void)p;
#endif
}

void pk_functracer_clear(PkProfiler *p)
{
    /* Open frames point at entries: drop them with the table. */
    PkThreadLink *link;
    for (link = p->threads; link != NULL; link = link->next) {
        PkThread *t = (PkThread *)link;
        t->depth = 0;
        pk_map_free(&t->priv);
        t->n_priv = 0;
        t->tree = NULL; /* found again (made anew) at the thread's next call */
        t->root = NULL;
    }
    free_trees(p);
    free_sites(p);
    pk_stats_clear(&p->stats, release_obj);
    p->gen = ++g.gen;
}

void pk_functracer_dealloc(PkProfiler *p)
{
    pk_tracer_free_threads(&p->threads, release_thread);
    free_trees(p);
    free_sites(p);
    pk_stats_clear(&p->stats, release_obj);
    Py_CLEAR(p->timer);
}
