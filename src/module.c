/* module.c: the Python/C boundary of profkit._engine.
 *
 * Concern: the module's state and initialisation, argument parsing, the
 * engine's types, and turning the C tables into Python objects.  Only this
 * file builds result objects (every list through build_list) and turns an
 * engine code into an exception (raise_code, the one path); the tracers and
 * tables below it take and return plain C values, and their callbacks
 * leave sticky errors for this file to report.  GIL held throughout.
 *
 * The module follows CPython's Modules/_lsprof.c: multi-phase init (PEP
 * 489, Py_mod_exec), a PkModuleState (module.h) that owns the heap types
 * made from specs at exec (PyType_FromModuleAndSpec, PEP 573), and objects
 * that find the state through their type, by module definition, since a
 * Python subclass (profkit.Profile) belongs to no module of ours.
 *
 * Must never: keep a mutable static outside the process-wide block below,
 * or raise an engine code other than through raise_code(). */
#include "compat.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "alloctrack.h"
#include "callsites.h"
#include "common.h"
#include "functracer.h"
#include "legacy.h"
#include "linetracer.h"
#include "memsampler.h"
#include "module.h"
#include "timer.h"

/* ---- process-wide state ------------------------------------------------
 * The engine's process-level parts are made once and serve one
 * interpreter: the clock (timer.c), the tracers' code-object extra slots,
 * active tracers and hooks (PkTracerGlobals in tracer.h, legacy.c), the
 * allocation hooks (alloctrack.c) and the RSS reading (linemem.c); each of
 * those files says why its statics are process-wide.  Here, the one that
 * ties them to an interpreter:
 *   engine_interp  the interpreter that first executed the module.  A later
 *                  exec there (a re-import) reuses the parts; an exec in
 *                  another interpreter is refused, since the parts cannot
 *                  serve two. */
static PyInterpreterState *engine_interp;

static PyModuleDef engine_module;

/* The state of the module that made `type` or one of its bases.  Borrowed,
 * or NULL with TypeError. */
static PkModuleState *state_of_type(PyTypeObject *type)
{
    PyObject *m = pk_type_module_by_def(type, &engine_module);
    return m == NULL ? NULL : (PkModuleState *)PyModule_GetState(m);
}

/* ---- engine codes to exceptions ---------------------------------------- */

/* The one path from an engine code (common.h) to a Python exception: the
 * code's kind picks MemoryError, ProcessLookupError or RuntimeError, and
 * errors.c's table gives the message, which `what` finishes ("while
 * profiling", "with pid 12"; NULL for nothing).  A -errno becomes OSError
 * with that errno and its strerror, as PyErr_SetFromErrno makes it.
 * Returns NULL, for `return raise_code(...)`. */
static PyObject *raise_code(int code, const char *what)
{
    PyObject *type;

    switch (pk_error_kind(code)) {
    case PK_KIND_OS:
        errno = -code;
        return PyErr_SetFromErrno(PyExc_OSError);
    case PK_KIND_MEMORY:
        type = PyExc_MemoryError;
        break;
    case PK_KIND_LOOKUP:
        type = PyExc_ProcessLookupError;
        break;
    default:
        type = PyExc_RuntimeError;
        break;
    }
    if (what == NULL)
        PyErr_SetString(type, pk_error_message(code));
    else
        PyErr_Format(type, "%s %s", pk_error_message(code), what);
    return NULL;
}

/* raise_code() for a failure about process `pid`.  -ESRCH, a system call's
 * way of saying the process is gone, reads as PK_EGONE. */
static PyObject *raise_for_pid(int code, int pid)
{
    char what[32];

    snprintf(what, sizeof what, "with pid %d", pid);
    return raise_code(code == -ESRCH ? PK_EGONE : code, what);
}

/* Reports the sticky error a tracer's callbacks recorded, and forgets it
 * (as cProfile's pending_exception): 0 when there is none, else -1 with
 * the exception set. */
static int report_sticky(int *error, const char *what)
{
    int code = *error;

    if (code == PK_OK)
        return 0;
    *error = PK_OK;
    raise_code(code, what);
    return -1;
}

/* ---- lists ------------------------------------------------------------- */

/* Makes item i of a list: a new reference; NULL with an exception set to
 * fail the list; NULL with none to leave record i out. */
typedef PyObject *(*ItemFn)(void *ctx, size_t i);

/* The one loop that turns engine records into a list: item(ctx, i) for
 * i = 0 .. n-1, in order and once each, so that ctx may walk a linked list
 * as it goes.  New reference, or NULL with an exception set. */
static PyObject *build_list(size_t n, ItemFn item, void *ctx)
{
    PyObject *list = PyList_New(0);
    size_t i;

    if (list == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *x = item(ctx, i);
        if (x == NULL) {
            if (PyErr_Occurred())
                goto error;
            continue;
        }
        if (PyList_Append(list, x) < 0) {
            Py_DECREF(x);
            goto error;
        }
        Py_DECREF(x);
    }
    return list;
error:
    Py_DECREF(list);
    return NULL;
}

/* ---- the tracer types' life ------------------------------------------- */

/* tp_new of the tracer types: a zeroed object of `type`, and in *st the
 * state of the module that made `type` or its engine base.  New
 * reference, or NULL with an exception set. */
static PyObject *tracer_alloc(PyTypeObject *type, PkModuleState **st)
{
    *st = state_of_type(type);
    return *st == NULL ? NULL : type->tp_alloc(type, 0);
}

/* tp_dealloc of the tracer types: untracked first, the C part released by
 * `release` with the exception in flight kept (releasing may run Python
 * code, a timer's __del__ say), then freed, and the reference that a heap
 * type's instance holds to its type dropped. */
static void tracer_dealloc(PyObject *self, void (*release)(PyObject *self))
{
    PyTypeObject *tp = Py_TYPE(self);
    PkSavedError saved;

    PyObject_GC_UnTrack(self);
    pk_error_save(&saved);
    release(self);
    pk_error_restore(&saved);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* ---- Profiler ---------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PkProfiler prof;
} ProfilerObject;

static int Profiler_init(ProfilerObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"timer",       "timeunit", "subcalls",   "builtins",
                             "all_threads", "tree",     "tree_depth", NULL};
    PyObject *timer = NULL;
    double timeunit = 0.0;
    int subcalls = 1, builtins = 1, all_threads = 1, tree = 0;
    long tree_depth = PK_TREE_DEFAULT_DEPTH;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|Odppp$pl:Profiler", kwlist, &timer, &timeunit,
                                     &subcalls, &builtins, &all_threads, &tree, &tree_depth))
        return -1;
    if (self->prof.enabled) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reinitialise an enabled profiler");
        return -1;
    }
    if (timer == Py_None)
        timer = NULL;
    if (timer != NULL && !PyCallable_Check(timer)) {
        PyErr_SetString(PyExc_TypeError, "timer must be callable");
        return -1;
    }
    if (timeunit < 0.0) {
        PyErr_SetString(PyExc_ValueError, "timeunit must not be negative");
        return -1;
    }
    if (tree_depth < 1 || tree_depth > 100000) {
        PyErr_SetString(PyExc_ValueError, "tree_depth must be between 1 and 100000");
        return -1;
    }
    Py_XINCREF(timer);
    Py_XSETREF(self->prof.timer, timer);
    self->prof.timeunit = timeunit;
    self->prof.subcalls = subcalls;
    self->prof.builtins = builtins;
    self->prof.all_threads = all_threads;
    self->prof.tree = tree;
    self->prof.tree_depth = (uint32_t)tree_depth;
    return 0;
}

static PyObject *Profiler_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PkModuleState *st;
    PyObject *self = tracer_alloc(type, &st);
    (void)args;
    (void)kwds;

    if (self != NULL)
        pk_functracer_init(&((ProfilerObject *)self)->prof, self, st);
    return self;
}

/* An enabled profiler holds a reference to itself, so it is disabled
 * here; its hooks are gone. */
static void Profiler_release(PyObject *self)
{
    pk_functracer_dealloc(&((ProfilerObject *)self)->prof);
}

static void Profiler_dealloc(PyObject *self)
{
    tracer_dealloc(self, Profiler_release);
}

static int Profiler_traverse(ProfilerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->prof.timer);
    return 0;
}

static int Profiler_clear_refs(ProfilerObject *self)
{
    if (!self->prof.enabled)
        Py_CLEAR(self->prof.timer);
    return 0;
}

static PyObject *Profiler_enable(ProfilerObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"subcalls", "builtins", NULL};
    int subcalls = -1, builtins = -1;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|pp:enable", kwlist, &subcalls, &builtins))
        return NULL;
    if (!self->prof.enabled) {
        if (subcalls >= 0)
            self->prof.subcalls = subcalls;
        if (builtins >= 0)
            self->prof.builtins = builtins;
    }
    if (pk_functracer_enable(&self->prof) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Profiler_disable(ProfilerObject *self, PyObject *unused)
{
    (void)unused;
    if (pk_functracer_disable(&self->prof) < 0 ||
        report_sticky(&self->prof.error, "while profiling") < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Profiler_pause(ProfilerObject *self, PyObject *flag)
{
    int pause = PyObject_IsTrue(flag);
    if (pause < 0)
        return NULL;
    pk_functracer_pause(&self->prof, pause);
    Py_RETURN_NONE;
}

static PyObject *Profiler_clear(ProfilerObject *self, PyObject *unused)
{
    (void)unused;
    pk_functracer_clear(&self->prof);
    Py_RETURN_NONE;
}

/* Walks a profiler's table for build_list: entries by index, and the
 * edges of one entry as a linked list. */
typedef struct {
    const PkStats *stats;
    double factor; /* seconds per tick */
    PkEdge *edge;  /* the next edge to list */
} StatsCursor;

/* (callee, callcount, reccallcount, totaltime, inlinetime), or nothing for
 * an edge never completed. */
static PyObject *edge_item(void *ctx, size_t i)
{
    StatsCursor *c = ctx;
    PkEdge *edge = c->edge;
    (void)i;

    c->edge = edge->next;
    if (edge->callcount == 0)
        return NULL;
    return Py_BuildValue("(Olldd)", (PyObject *)edge->callee->obj, edge->callcount,
                         edge->reccount, c->factor * (double)edge->tt,
                         c->factor * (double)edge->it);
}

/* (code_or_label, callcount, reccallcount, totaltime, inlinetime, calls),
 * or nothing for a function never completed. */
static PyObject *entry_item(void *ctx, size_t i)
{
    StatsCursor *c = ctx;
    PkEntry *e = c->stats->entries[i];
    PyObject *calls;
    size_t n = 0;
    PkEdge *edge;

    if (e->callcount == 0)
        return NULL;
    if (e->calls == NULL) {
        calls = pk_newref(Py_None);
    }
    else {
        for (edge = e->calls; edge != NULL; edge = edge->next)
            n++;
        c->edge = e->calls;
        calls = build_list(n, edge_item, c);
        if (calls == NULL)
            return NULL;
    }
    return Py_BuildValue("(OllddN)", (PyObject *)e->obj, e->callcount, e->reccount,
                         c->factor * (double)e->tt, c->factor * (double)e->it, calls);
}

/* [(code_or_label, callcount, reccallcount, totaltime, inlinetime,
 *   calls), ...] with calls None or [(code_or_label, callcount,
 * reccallcount, totaltime, inlinetime), ...]: cProfile's getstats() shape
 * as plain tuples; profkit.Profile wraps them.  Reports a sticky error
 * first, as cProfile's getstats() does.  New reference. */
static PyObject *Profiler_getstats(ProfilerObject *self, PyObject *unused)
{
    StatsCursor c = {&self->prof.stats, pk_functracer_factor(&self->prof), NULL};
    (void)unused;

    if (report_sticky(&self->prof.error, "while profiling") < 0)
        return NULL;
    return build_list(c.stats->n_entries, entry_item, &c);
}

/* Walks one call tree's nodes for build_list. */
typedef struct {
    const PkTree *tree;
    double factor; /* seconds per tick */
} TreeCursor;

/* (parent index, code_or_label, callcount, reccallcount, totaltime,
 * inlinetime); the root is (-1, None, 0, 0, 0.0, 0.0). */
static PyObject *node_item(void *ctx, size_t i)
{
    TreeCursor *c = ctx;
    const PkNode *n = pk_tree_node(c->tree, i);
    PyObject *fn = n->fn == NULL ? Py_None : (PyObject *)((PkEntry *)n->fn)->obj;

    return Py_BuildValue("(nOlldd)", n->parent == NULL ? (Py_ssize_t)-1 : (Py_ssize_t)n->parent->index,
                         fn, n->callcount, n->reccount, c->factor * (double)n->tt,
                         c->factor * (double)n->it);
}

/* (thread ident, depth cap, [node, ...]) for one tree, its nodes in index
 * order (a parent before its children). */
static PyObject *tree_item(void *ctx, size_t i)
{
    TreeCursor *c = ctx; /* c->tree: the tree to list; moves to the next */
    const PkTree *tree = c->tree;
    PyObject *nodes;
    (void)i;

    nodes = build_list(tree->n_nodes, node_item, c);
    c->tree = tree->next;
    if (nodes == NULL)
        return NULL;
    return Py_BuildValue("(kIN)", tree->ident, tree->max_depth, nodes);
}

/* [(thread ident, depth cap, [(parent, code_or_label, callcount,
 * reccallcount, totaltime, inlinetime), ...]), ...]: the call trees, one
 * per thread, the newest thread first; profkit.Profile makes
 * the model of them.  Reports a sticky error first.  New reference. */
static PyObject *Profiler_rawtree(ProfilerObject *self, PyObject *unused)
{
    TreeCursor c = {self->prof.trees, pk_functracer_factor(&self->prof)};
    const PkTree *tree;
    size_t n = 0;
    (void)unused;

    if (report_sticky(&self->prof.error, "while profiling") < 0)
        return NULL;
    for (tree = self->prof.trees; tree != NULL; tree = tree->next)
        n++;
    return build_list(n, tree_item, &c);
}

static PyObject *Profiler_get_tree(ProfilerObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->prof.tree);
}

static PyObject *Profiler_get_enabled(ProfilerObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->prof.enabled);
}

static PyObject *Profiler_get_all_threads(ProfilerObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->prof.all_threads);
}

/* Also the engine's own methods, which no profile shows (module state). */
static PyMethodDef Profiler_methods[] = {
    {"enable", (PyCFunction)(void (*)(void))Profiler_enable, METH_VARARGS | METH_KEYWORDS,
     "enable(subcalls=True, builtins=True)\n\nStart collecting profiling information."},
    {"disable", (PyCFunction)Profiler_disable, METH_NOARGS,
     "disable()\n\nStop collecting; calls still open are completed now."},
    {"_pause_thread", (PyCFunction)Profiler_pause, METH_O,
     "_pause_thread(flag): stop/restart recording the calling thread's events."},
    {"clear", (PyCFunction)Profiler_clear, METH_NOARGS, "clear()\n\nForget all statistics."},
    {"_rawstats", (PyCFunction)Profiler_getstats, METH_NOARGS,
     "_rawstats() -> [(code, callcount, reccallcount, totaltime, inlinetime, calls)]"},
    {"_rawtree", (PyCFunction)Profiler_rawtree, METH_NOARGS,
     "_rawtree() -> [(thread ident, depth cap, [(parent, code, callcount, reccallcount, "
     "totaltime, inlinetime)])]"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Profiler_getset[] = {
    {"enabled", (getter)Profiler_get_enabled, NULL, "True while collecting.", NULL},
    {"all_threads", (getter)Profiler_get_all_threads, NULL, "True when every thread is profiled.",
     NULL},
    {"tree", (getter)Profiler_get_tree, NULL, "True when the call tree is kept.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Profiler_slots[] = {
    PK_BASE_SLOTS(Profiler, "Profiler(timer=None, timeunit=0.0, subcalls=True, builtins=True, "
                            "all_threads=True, *, tree=False, tree_depth=256)\n\n"
                            "Deterministic function profiler with cProfile's statistics."),
    {Py_tp_traverse, (void *)Profiler_traverse},
    {Py_tp_clear, (void *)Profiler_clear_refs},
    {Py_tp_getset, Profiler_getset},
    {0, NULL},
};
PK_TYPE_SPEC(Profiler, ProfilerObject, Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC);

/* ---- LineTracer -------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PkLineTracer lt;
} LineTracerObject;

static PyObject *LineTracer_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PkModuleState *st;
    PyObject *self = tracer_alloc(type, &st);
    (void)args;
    (void)kwds;

    if (self != NULL)
        pk_linetracer_init(&((LineTracerObject *)self)->lt, self, st);
    return self;
}

static int LineTracer_init(LineTracerObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"all_threads", "memory", NULL};
    int all_threads = 1, memory = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$pi:LineTracer", kwlist, &all_threads, &memory))
        return -1;
    if (memory & ~(PK_LINEMEM_RSS | PK_LINEMEM_ALLOC)) {
        PyErr_SetString(PyExc_ValueError, "memory takes flags 1 (rss) and 2 (alloc)");
        return -1;
    }
    if (self->lt.n_codes > 0 && memory != self->lt.memory) {
        PyErr_SetString(PyExc_RuntimeError, "cannot change the mode of a tracer holding code");
        return -1;
    }
    if (!self->lt.enabled) {
        self->lt.all_threads = all_threads;
        self->lt.memory = memory;
    }
    return 0;
}

/* A line tracer is never enabled here either: enabled, it holds itself. */
static void LineTracer_release(PyObject *self)
{
    pk_linetracer_dealloc(&((LineTracerObject *)self)->lt);
}

static void LineTracer_dealloc(PyObject *self)
{
    tracer_dealloc(self, LineTracer_release);
}

static int LineTracer_traverse(LineTracerObject *self, visitproc visit, void *arg)
{
    /* Beyond its type it holds only code objects, which cannot reach it. */
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static PyObject *LineTracer_add_code(LineTracerObject *self, PyObject *args)
{
    PyObject *code;
    int last_line, rc;

    if (!PyArg_ParseTuple(args, "O!i:add_code", &PyCode_Type, &code, &last_line))
        return NULL;
    rc = pk_linetracer_add(&self->lt, code, last_line);
    if (rc < 0)
        return NULL;
    return PyBool_FromLong(rc);
}

static PyObject *LineTracer_enable(LineTracerObject *self, PyObject *unused)
{
    (void)unused;
    if (pk_linetracer_enable(&self->lt) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* The sticky error is reported once the tracer is off for good, not when
 * one of several threads that switched it on switches off. */
static PyObject *LineTracer_disable(LineTracerObject *self, PyObject *unused)
{
    (void)unused;
    if (pk_linetracer_disable(&self->lt) < 0 ||
        (!self->lt.enabled && report_sticky(&self->lt.error, "while line profiling") < 0))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *LineTracer_reset(LineTracerObject *self, PyObject *unused)
{
    (void)unused;
    pk_linetracer_reset(&self->lt);
    Py_RETURN_NONE;
}

/* One row of a stats list: line j of lc, or NULL with an exception. */
typedef PyObject *(*RowFn)(const PkLineCode *lc, int j, double scale);

static PyObject *time_row(const PkLineCode *lc, int j, double ns_per_tick)
{
    return Py_BuildValue("(iLL)", lc->first_line + j, (long long)lc->hits[j],
                         (long long)llround((double)lc->ticks[j] * ns_per_tick));
}

static PyObject *memory_row(const PkLineCode *lc, int j, double unused)
{
    (void)unused;
    return Py_BuildValue("(iLLLLLL)", lc->first_line + j, (long long)lc->hits[j],
                         (long long)lc->inc[j], (long long)lc->rss[j], (long long)lc->alloc[j],
                         (long long)lc->net[j], (long long)lc->peak[j]);
}

/* Walks a line tracer's codes for build_list, and the lines of one. */
typedef struct {
    const PkLineTracer *lt;
    RowFn row;
    double scale;
    const PkLineCode *lc; /* the code whose lines are being listed */
} LineCursor;

/* A row for a line that ran, or nothing. */
static PyObject *line_item(void *ctx, size_t j)
{
    LineCursor *c = ctx;

    if (c->lc->hits[j] == 0)
        return NULL;
    return c->row(c->lc, (int)j, c->scale);
}

/* (code, [row, ...]) */
static PyObject *code_item(void *ctx, size_t i)
{
    LineCursor *c = ctx;
    PyObject *lines;

    c->lc = c->lt->codes[i];
    lines = build_list((size_t)c->lc->n_lines, line_item, c);
    return lines == NULL ? NULL : Py_BuildValue("(ON)", c->lc->code, lines);
}

/* [(code, [row, ...]), ...] in registration order, listing only lines that
 * ran, after the sticky error if there is one.  New reference. */
static PyObject *stats_list(LineTracerObject *self, RowFn row, double scale)
{
    LineCursor c = {&self->lt, row, scale, NULL};

    if (report_sticky(&self->lt.error, "while line profiling") < 0)
        return NULL;
    return build_list(self->lt.n_codes, code_item, &c);
}

/* Time mode: rows (lineno, hits, nanoseconds). */
static PyObject *LineTracer_rawstats(LineTracerObject *self, PyObject *unused)
{
    (void)unused;
    return stats_list(self, time_row, pk_timer_seconds_per_tick() * 1e9);
}

/* Memory mode: rows (lineno, occurrences, increment, rss, allocated, net,
 * peak), in bytes; an empty list in time mode. */
static PyObject *LineTracer_memstats(LineTracerObject *self, PyObject *unused)
{
    (void)unused;
    if (!self->lt.memory)
        return PyList_New(0);
    return stats_list(self, memory_row, 0.0);
}

/* (code, (caller name, filename, line)), or nothing for code with no
 * caller noted. */
static PyObject *caller_item(void *ctx, size_t i)
{
    const PkLineCode *lc = ((const PkLineTracer *)ctx)->codes[i];
    PyCodeObject *c = (PyCodeObject *)lc->caller;

    if (c == NULL)
        return NULL;
    return Py_BuildValue("(O(OOi))", lc->code, c->co_name, c->co_filename, lc->caller_line);
}

/* Memory mode: [(code, (caller name, filename, line)), ...] for registered
 * code called from outside the profiled code. */
static PyObject *LineTracer_callers(LineTracerObject *self, PyObject *unused)
{
    (void)unused;
    return build_list(self->lt.n_codes, caller_item, &self->lt);
}

static PyObject *LineTracer_get_enabled(LineTracerObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->lt.enabled);
}

static PyMethodDef LineTracer_methods[] = {
    {"add_code", (PyCFunction)LineTracer_add_code, METH_VARARGS,
     "add_code(code, last_line) -> True if newly registered"},
    {"enable", (PyCFunction)LineTracer_enable, METH_NOARGS, "Start recording line events."},
    {"disable", (PyCFunction)LineTracer_disable, METH_NOARGS,
     "Stop recording; lines in progress are not counted."},
    {"reset", (PyCFunction)LineTracer_reset, METH_NOARGS, "Zero every counter."},
    {"_rawstats", (PyCFunction)LineTracer_rawstats, METH_NOARGS,
     "_rawstats() -> [(code, [(lineno, hits, ns), ...]), ...]"},
    {"_callers", (PyCFunction)LineTracer_callers, METH_NOARGS,
     "_callers() -> [(code, (caller name, filename, line)), ...] (memory mode)"},
    {"_memstats", (PyCFunction)LineTracer_memstats, METH_NOARGS,
     "_memstats() -> [(code, [(lineno, occurrences, inc, rss, allocated, net, peak), ...]), ...]"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef LineTracer_getset[] = {
    {"enabled", (getter)LineTracer_get_enabled, NULL, "True while recording.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot LineTracer_slots[] = {
    PK_BASE_SLOTS(LineTracer, "LineTracer(*, all_threads=True)\n\n"
                              "Line hits and times of registered code objects."),
    {Py_tp_traverse, (void *)LineTracer_traverse},
    {Py_tp_getset, LineTracer_getset},
    {0, NULL},
};
PK_TYPE_SPEC(LineTracer, LineTracerObject, Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC);

/* ---- Sampler ----------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PkSampler s;
} SamplerObject;

static int parse_backend(PyObject *obj, int *out)
{
    const char *name;
    if (obj == NULL || obj == Py_None) {
        *out = PK_MEM_RSS;
        return 0;
    }
    name = PyUnicode_AsUTF8(obj);
    if (name == NULL)
        return -1;
    if (strcmp(name, "rss") == 0)
        *out = PK_MEM_RSS;
    else if (strcmp(name, "pss") == 0)
        *out = PK_MEM_PSS;
    else if (strcmp(name, "uss") == 0)
        *out = PK_MEM_USS;
    else {
        PyErr_Format(PyExc_ValueError, "unknown memory backend %R (expected 'rss', 'pss' or 'uss')",
                     obj);
        return -1;
    }
    return 0;
}

static PyObject *Sampler_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    SamplerObject *self = (SamplerObject *)type->tp_alloc(type, 0);
    (void)args;
    (void)kwds;
    if (self != NULL)
        pk_sampler_init(&self->s);
    return (PyObject *)self;
}

static int Sampler_init(SamplerObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"pid", "interval", "backend", "children", "fd", "keep", "max_samples",
                             NULL};
    int pid = 0, children = 0, fd = -1, keep = 1;
    long max_samples = 0;
    double interval = 0.1;
    PyObject *backend = NULL;

    if (self->s.started) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reinitialise a started sampler");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|idOiipl:Sampler", kwlist, &pid, &interval,
                                     &backend, &children, &fd, &keep, &max_samples))
        return -1;
    if (!(interval >= 1e-4) || interval > 86400.0) {
        PyErr_SetString(PyExc_ValueError, "interval must be between 0.0001 and 86400 seconds");
        return -1;
    }
    if (pid < 0 || (children & ~(PK_CHILDREN_SUM | PK_CHILDREN_EACH)) || max_samples < 0) {
        PyErr_SetString(PyExc_ValueError, "bad pid, children flags or max_samples");
        return -1;
    }
    if (parse_backend(backend, &self->s.backend) < 0)
        return -1;
    self->s.pid = (pid_t)pid;
    self->s.interval = interval;
    self->s.children = children;
    self->s.out_fd = fd;
    self->s.keep = keep;
    self->s.max_samples = max_samples;
    return 0;
}

static void Sampler_dealloc(SamplerObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    /* The thread never takes the GIL, so joining it here cannot deadlock. */
    pk_sampler_free(&self->s);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp); /* a heap type's instances own a reference to it */
}

static PyObject *Sampler_start(SamplerObject *self, PyObject *unused)
{
    int rc;
    (void)unused;
    if (self->s.started) {
        PyErr_SetString(PyExc_RuntimeError, "the sampler has already been started");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = pk_sampler_start(&self->s);
    Py_END_ALLOW_THREADS
    if (rc != PK_OK)
        return raise_for_pid(rc, (int)self->s.pid);
    Py_RETURN_NONE;
}

static PyObject *Sampler_stop(SamplerObject *self, PyObject *unused)
{
    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    pk_sampler_stop(&self->s);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *Sampler_wait(SamplerObject *self, PyObject *args)
{
    double timeout = -1.0, waited = 0.0;
    int done = 0;
    if (!PyArg_ParseTuple(args, "|d:wait", &timeout))
        return NULL;
    /* In slices, so that Ctrl-C reaches the program while it waits. */
    for (;;) {
        double slice = 0.05;
        if (timeout >= 0.0 && timeout - waited < slice)
            slice = timeout - waited;
        Py_BEGIN_ALLOW_THREADS
        done = pk_sampler_wait(&self->s, slice);
        Py_END_ALLOW_THREADS
        waited += slice;
        if (done || (timeout >= 0.0 && waited >= timeout))
            break;
        if (PyErr_CheckSignals() < 0)
            return NULL;
    }
    return PyBool_FromLong(done);
}

/* A copy of the sampler's samples (children: its child samples), taken
 * under its lock, since the thread may append to the array and move it
 * meanwhile; *n items.  PyMem_RawFree it. */
static void *snapshot(SamplerObject *self, int children, size_t *n)
{
    const void *array;
    size_t item;
    void *copy;
    pthread_mutex_lock(&self->s.mu);
    *n = children ? self->s.cn : self->s.n;
    array = children ? (const void *)self->s.csamples : (const void *)self->s.samples;
    item = children ? sizeof(PkChildSample) : sizeof(PkMemSample);
    copy = PyMem_RawMalloc(*n ? *n * item : 1);
    if (copy != NULL && *n)
        memcpy(copy, array, *n * item);
    pthread_mutex_unlock(&self->s.mu);
    return copy;
}

/* (MiB, unix time) */
static PyObject *sample_item(void *ctx, size_t i)
{
    const PkMemSample *s = (const PkMemSample *)ctx + i;
    return Py_BuildValue("(dd)", s->mib, s->t);
}

/* (pid, MiB, unix time) */
static PyObject *child_sample_item(void *ctx, size_t i)
{
    const PkChildSample *s = (const PkChildSample *)ctx + i;
    return Py_BuildValue("(idd)", (int)s->pid, s->mib, s->t);
}

/* The samples (children: the child samples) as a list of item()s. */
static PyObject *samples_list(SamplerObject *self, int children, ItemFn item)
{
    size_t n;
    void *copy = snapshot(self, children, &n);
    PyObject *list;

    if (copy == NULL)
        return PyErr_NoMemory();
    list = build_list(n, item, copy);
    PyMem_RawFree(copy);
    return list;
}

static PyObject *Sampler_samples(SamplerObject *self, PyObject *unused)
{
    (void)unused;
    return samples_list(self, 0, sample_item);
}

static PyObject *Sampler_child_samples(SamplerObject *self, PyObject *unused)
{
    (void)unused;
    return samples_list(self, 1, child_sample_item);
}

static PyObject *Sampler_summary(SamplerObject *self, PyObject *unused)
{
    PyObject *res;
    (void)unused;
    pthread_mutex_lock(&self->s.mu);
    res = Py_BuildValue("{s:l,s:d,s:d,s:d,s:d,s:O,s:O,s:i}", "count", self->s.count, "peak",
                        self->s.peak_mib, "peak_time", self->s.peak_t, "first_time", self->s.first_t,
                        "last_time", self->s.last_t, "gone", self->s.gone ? Py_True : Py_False,
                        "finished", self->s.finished ? Py_True : Py_False, "write_errno",
                        self->s.write_errno);
    pthread_mutex_unlock(&self->s.mu);
    return res;
}

static PyMethodDef Sampler_methods[] = {
    {"start", (PyCFunction)Sampler_start, METH_NOARGS,
     "Take the first sample, then sample every interval in a C thread."},
    {"stop", (PyCFunction)Sampler_stop, METH_NOARGS, "Take one last sample and end the thread."},
    {"wait", (PyCFunction)Sampler_wait, METH_VARARGS,
     "wait(timeout=-1) -> True once the thread has ended by itself"},
    {"samples", (PyCFunction)Sampler_samples, METH_NOARGS, "samples() -> [(MiB, unix time), ...]"},
    {"child_samples", (PyCFunction)Sampler_child_samples, METH_NOARGS,
     "child_samples() -> [(pid, MiB, unix time), ...]"},
    {"summary", (PyCFunction)Sampler_summary, METH_NOARGS,
     "summary() -> {'count', 'peak', 'peak_time', 'first_time', 'last_time', 'gone', ...}"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Sampler_slots[] = {
    PK_BASE_SLOTS(Sampler, "Sampler(pid=0, interval=0.1, backend='rss', children=0, fd=-1, "
                           "keep=True,\n        max_samples=0)\n\n"
                           "Samples a process's memory from a C thread; pid 0 is this process.\n"
                           "children: 1 adds descendants into each sample, 2 records each one.\n"
                           "fd: a descriptor that receives mprof .dat lines as they are taken."),
    {0, NULL},
};
PK_TYPE_SPEC(Sampler, SamplerObject, 0);

/* ---- module functions -------------------------------------------------- */

static PyObject *mod_clock_info(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return Py_BuildValue("{s:s,s:d}", "source", pk_timer_source(), "seconds_per_tick",
                         pk_timer_seconds_per_tick());
}

static PyObject *mod_clock_ticks(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyLong_FromLongLong(pk_timer_now());
}

static PyObject *mod_backend(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(pk_functracer_backend_name());
}

static PyObject *mod_self_rss(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyLong_FromUnsignedLongLong(pk_mem_self_rss());
}

static PyObject *mod_memory(PyObject *mod, PyObject *args)
{
    int pid = 0, backend;
    PyObject *bobj = NULL;
    uint64_t bytes = 0;
    int rc;
    (void)mod;
    if (!PyArg_ParseTuple(args, "|iO:memory", &pid, &bobj) || parse_backend(bobj, &backend) < 0)
        return NULL;
    if (pid < 0) {
        PyErr_SetString(PyExc_ValueError, "pid must not be negative");
        return NULL;
    }
    rc = pk_mem_read_once((pid_t)pid, backend, &bytes);
    if (rc != PK_OK)
        return raise_for_pid(rc, pid);
    return PyLong_FromUnsignedLongLong(bytes);
}

static PyObject *pid_item(void *ctx, size_t i)
{
    return PyLong_FromLong(((const pid_t *)ctx)[i]);
}

static PyObject *mod_descendants(PyObject *mod, PyObject *args)
{
    int pid = 0;
    pid_t kids[1024];
    size_t n;
    (void)mod;
    if (!PyArg_ParseTuple(args, "|i:descendants", &pid))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    n = pk_mem_descendants((pid_t)pid, kids, 1024);
    Py_END_ALLOW_THREADS
    return build_list(n, pid_item, kids);
}

static PyObject *mod_alloc_hook_numpy(PyObject *mod, PyObject *capsule)
{
    (void)mod;
    if (pk_alloc_level() != PK_TRACK_BYTES && pk_alloc_level() != PK_TRACK_EVENTS) {
        PyErr_SetString(PyExc_RuntimeError, "allocation tracking is off");
        return NULL;
    }
    if (pk_alloc_hook_numpy(capsule) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_alloc_counters(PyObject *mod, PyObject *unused)
{
    PkAllocCounters *c = pk_alloc_counters();
    (void)mod;
    (void)unused;
    return Py_BuildValue("{s:i,s:L,s:L,s:L,s:n,s:K}", "level", pk_alloc_level(), "allocated",
                         (long long)c->allocated, "live", (long long)c->live, "high",
                         (long long)c->high, "blocks", (Py_ssize_t)pk_alloc_tracked_blocks(),
                         "events", (unsigned long long)pk_alloc_events());
}

static PyObject *mod_hide_caller_file(PyObject *mod, PyObject *filename)
{
    PkModuleState *st = PyModule_GetState(mod);

    if (!PyUnicode_Check(filename)) {
        PyErr_SetString(PyExc_TypeError, "expected a file name");
        return NULL;
    }
    Py_INCREF(filename);
    Py_XSETREF(st->hidden_caller_file, filename);
    Py_RETURN_NONE;
}

/* _call_sites() -> (switched off, restarts) of the last profiling session
 * (callsites.h); (0, 0) before 3.12. */
static PyObject *mod_call_sites(PyObject *m, PyObject *unused)
{
    long off = 0, restarts = 0;

#if PK_HAVE_MONITORING
    pk_sites_counts(&off, &restarts);
#endif
    return Py_BuildValue("(ll)", off, restarts);
}

static PyMethodDef module_methods[] = {
    {"clock_info", mod_clock_info, METH_NOARGS,
     "clock_info() -> {'source': 'tsc'|'monotonic', 'seconds_per_tick': float}"},
    {"clock_ticks", mod_clock_ticks, METH_NOARGS, "clock_ticks() -> the engine clock, in ticks"},
    {"backend", mod_backend, METH_NOARGS,
     "backend() -> 'monitoring' or 'legacy': the hook the function profiler uses"},
    {"self_rss", mod_self_rss, METH_NOARGS,
     "self_rss() -> this process's resident set size in bytes (one pread of a kept fd)"},
    {"memory", mod_memory, METH_VARARGS,
     "memory(pid=0, backend='rss') -> bytes of memory of a process ('rss', 'pss' or 'uss')"},
    {"descendants", mod_descendants, METH_VARARGS,
     "descendants(pid=0) -> pids of the children of pid, their children, and so on"},
    {"alloc_hook_numpy", mod_alloc_hook_numpy, METH_O,
     "alloc_hook_numpy(numpy_c_api_capsule): count numpy's data buffers too"},
    {"_hide_caller_file", mod_hide_caller_file, METH_O,
     "_hide_caller_file(path): frames of that file are nobody's caller in memory reports"},
    {"_call_sites", mod_call_sites, METH_NOARGS,
     "_call_sites() -> (CALL sites switched off, restarts) in the last profiling session"},
    {"alloc_counters", mod_alloc_counters, METH_NOARGS,
     "alloc_counters() -> this thread's allocation counters, and the tracking level"},
    {NULL, NULL, 0, NULL},
};

/* ---- module state and init --------------------------------------------- */

static int engine_traverse(PyObject *m, visitproc visit, void *arg)
{
    PkModuleState *st = PyModule_GetState(m);
    Py_VISIT(st->profiler_type);
    Py_VISIT(st->linetracer_type);
    Py_VISIT(st->sampler_type);
    Py_VISIT(st->callback_type);
    Py_VISIT(st->hidden_caller_file);
    Py_VISIT(st->mon_missing);
    Py_VISIT(st->mon_disable);
    return 0;
}

static int engine_clear(PyObject *m)
{
    PkModuleState *st = PyModule_GetState(m);
    Py_CLEAR(st->profiler_type);
    Py_CLEAR(st->linetracer_type);
    Py_CLEAR(st->sampler_type);
    Py_CLEAR(st->callback_type);
    Py_CLEAR(st->hidden_caller_file);
    Py_CLEAR(st->mon_missing);
    Py_CLEAR(st->mon_disable);
    return 0;
}

static void engine_free(void *m)
{
    engine_clear((PyObject *)m);
}

/* Makes a heap type of module m from spec, keeps it in *type (strong) and
 * adds it to the module under its short name. */
static int add_type(PyObject *m, PyTypeObject **type, PyType_Spec *spec)
{
    *type = (PyTypeObject *)PyType_FromModuleAndSpec(m, spec, NULL);
    if (*type == NULL)
        return -1;
    return PyModule_AddType(m, *type);
}

/* Py_mod_exec: the process-level parts once (see the block at the top),
 * then this module's state.  0, or -1 with an exception set (the module
 * is dropped, and m_free releases what was made). */
static int engine_exec(PyObject *m)
{
    PkModuleState *st = PyModule_GetState(m);
    PyInterpreterState *interp = PyInterpreterState_Get();

    if (engine_interp != NULL && engine_interp != interp) {
        PyErr_SetString(PyExc_ImportError,
                        "profkit._engine serves one interpreter per process");
        return -1;
    }
    if (engine_interp == NULL) {
        if (pk_timer_init() != PK_OK) {
            PyErr_SetString(PyExc_RuntimeError, "cannot initialise the clock");
            return -1;
        }
        if (pk_functracer_module_init() < 0 || pk_linetracer_module_init() < 0)
            return -1;
        engine_interp = interp;
    }
    st->own_methods = Profiler_methods;
    st->n_own_methods = sizeof Profiler_methods / sizeof Profiler_methods[0] - 1;
    if (add_type(m, &st->profiler_type, &Profiler_spec) < 0 ||
        add_type(m, &st->linetracer_type, &LineTracer_spec) < 0 ||
        add_type(m, &st->sampler_type, &Sampler_spec) < 0)
        return -1;
#if PK_HAVE_MONITORING
    st->callback_type = pk_monitor_callback_type(m);
    if (st->callback_type == NULL || pk_monitor_constants(&st->mon_missing, &st->mon_disable) < 0)
        return -1;
#endif
    return 0;
}

static PyModuleDef_Slot engine_slots[] = {
    {Py_mod_exec, (void *)engine_exec},
    PK_MOD_ONE_INTERPRETER_SLOT
    {0, NULL},
};

static PyModuleDef engine_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "profkit._engine",
    .m_doc = "The C engine of profkit.",
    .m_size = sizeof(PkModuleState),
    .m_methods = module_methods,
    .m_slots = engine_slots,
    .m_traverse = engine_traverse,
    .m_clear = engine_clear,
    .m_free = engine_free,
};

PyMODINIT_FUNC PyInit__engine(void)
{
    return PyModuleDef_Init(&engine_module);
}
