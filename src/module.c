/* module.c: the Python/C boundary of profkit._engine.
 *
 * Concern: argument parsing, the Profiler type, and turning the C tables
 * into Python objects.  Only this file builds result objects; the tracers
 * and tables below it take and return plain C values.  GIL held throughout.
 */
#include "compat.h"

#include "common.h"
#include "functracer.h"
#include "legacy.h"
#include "alloctrack.h"
#include "linetracer.h"
#include "memsampler.h"

#include <math.h>
#include "timer.h"

/* ---- Profiler ---------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PkProfiler prof;
} ProfilerObject;

static int Profiler_init(ProfilerObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"timer", "timeunit", "subcalls", "builtins", "all_threads", NULL};
    PyObject *timer = NULL;
    double timeunit = 0.0;
    int subcalls = 1, builtins = 1, all_threads = 1;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|Odppp:Profiler", kwlist, &timer, &timeunit,
                                     &subcalls, &builtins, &all_threads))
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
    Py_XINCREF(timer);
    Py_XSETREF(self->prof.timer, timer);
    self->prof.timeunit = timeunit;
    self->prof.subcalls = subcalls;
    self->prof.builtins = builtins;
    self->prof.all_threads = all_threads;
    return 0;
}

static PyObject *Profiler_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    ProfilerObject *self = (ProfilerObject *)type->tp_alloc(type, 0);
    (void)args;
    (void)kwds;
    if (self != NULL)
        pk_functracer_init(&self->prof, (PyObject *)self);
    return (PyObject *)self;
}

static void Profiler_dealloc(ProfilerObject *self)
{
    /* An enabled profiler holds a reference to itself, so it is disabled
     * here; its hooks are gone. */
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pk_functracer_dealloc(&self->prof);
    tp->tp_free((PyObject *)self);
}

static int Profiler_traverse(ProfilerObject *self, visitproc visit, void *arg)
{
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
    if (pk_functracer_disable(&self->prof) < 0)
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

/* [(code_or_label, callcount, reccallcount, totaltime, inlinetime,
 *   calls), ...] with calls None or [(code_or_label, callcount,
 * reccallcount, totaltime, inlinetime), ...]: cProfile's getstats() shape
 * as plain tuples; profkit.Profile wraps them.  New reference. */
static PyObject *Profiler_getstats(ProfilerObject *self, PyObject *unused)
{
    PkStats *s = &self->prof.stats;
    double factor = pk_functracer_factor(&self->prof);
    PyObject *result = PyList_New(0);
    size_t i;
    (void)unused;

    if (result == NULL)
        return NULL;
    for (i = 0; i < s->n_entries; i++) {
        PkEntry *e = s->entries[i];
        PyObject *calls, *item;
        PkEdge *edge;

        if (e->callcount == 0)
            continue;
        if (e->calls == NULL) {
            calls = pk_newref(Py_None);
        }
        else {
            calls = PyList_New(0);
            if (calls == NULL)
                goto error;
            for (edge = e->calls; edge != NULL; edge = edge->next) {
                PyObject *sub;
                if (edge->callcount == 0)
                    continue;
                sub = Py_BuildValue("(Olldd)", (PyObject *)edge->callee->obj, edge->callcount,
                                    edge->reccount, factor * (double)edge->tt,
                                    factor * (double)edge->it);
                if (sub == NULL || PyList_Append(calls, sub) < 0) {
                    Py_XDECREF(sub);
                    Py_DECREF(calls);
                    goto error;
                }
                Py_DECREF(sub);
            }
        }
        item = Py_BuildValue("(OllddN)", (PyObject *)e->obj, e->callcount, e->reccount,
                             factor * (double)e->tt, factor * (double)e->it, calls);
        if (item == NULL || PyList_Append(result, item) < 0) {
            Py_XDECREF(item);
            goto error;
        }
        Py_DECREF(item);
    }
    return result;
error:
    Py_DECREF(result);
    return NULL;
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
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Profiler_getset[] = {
    {"enabled", (getter)Profiler_get_enabled, NULL, "True while collecting.", NULL},
    {"all_threads", (getter)Profiler_get_all_threads, NULL, "True when every thread is profiled.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject Profiler_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "profkit._engine.Profiler",
    .tp_basicsize = sizeof(ProfilerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Profiler(timer=None, timeunit=0.0, subcalls=True, builtins=True, all_threads=True)\n\n"
              "Deterministic function profiler with cProfile's statistics.",
    .tp_new = Profiler_new,
    .tp_init = (initproc)Profiler_init,
    .tp_dealloc = (destructor)Profiler_dealloc,
    .tp_traverse = (traverseproc)Profiler_traverse,
    .tp_clear = (inquiry)Profiler_clear_refs,
    .tp_methods = Profiler_methods,
    .tp_getset = Profiler_getset,
};

/* ---- LineTracer -------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PkLineTracer lt;
} LineTracerObject;

static PyObject *LineTracer_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    LineTracerObject *self = (LineTracerObject *)type->tp_alloc(type, 0);
    (void)args;
    (void)kwds;
    if (self != NULL)
        pk_linetracer_init(&self->lt, (PyObject *)self);
    return (PyObject *)self;
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

static void LineTracer_dealloc(LineTracerObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pk_linetracer_dealloc(&self->lt);
    tp->tp_free((PyObject *)self);
}

static int LineTracer_traverse(LineTracerObject *self, visitproc visit, void *arg)
{
    (void)self;
    (void)visit;
    (void)arg;
    return 0; /* holds only code objects, which cannot reach it */
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

static PyObject *LineTracer_disable(LineTracerObject *self, PyObject *unused)
{
    (void)unused;
    if (pk_linetracer_disable(&self->lt) < 0)
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

/* [(code, [row, ...]), ...] in registration order, listing only lines that
 * ran.  New reference. */
static PyObject *stats_list(LineTracerObject *self, RowFn make_row, double scale)
{
    PyObject *result = PyList_New(0);
    if (result == NULL)
        return NULL;
    for (size_t i = 0; i < self->lt.n_codes; i++) {
        PkLineCode *lc = self->lt.codes[i];
        PyObject *lines = PyList_New(0), *item;
        if (lines == NULL)
            goto error;
        for (int j = 0; j < lc->n_lines; j++) {
            PyObject *row;
            if (lc->hits[j] == 0)
                continue;
            row = make_row(lc, j, scale);
            if (row == NULL || PyList_Append(lines, row) < 0) {
                Py_XDECREF(row);
                Py_DECREF(lines);
                goto error;
            }
            Py_DECREF(row);
        }
        item = Py_BuildValue("(ON)", lc->code, lines);
        if (item == NULL || PyList_Append(result, item) < 0) {
            Py_XDECREF(item);
            goto error;
        }
        Py_DECREF(item);
    }
    return result;
error:
    Py_DECREF(result);
    return NULL;
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

/* Memory mode: [(code, (caller name, filename, line)), ...] for registered
 * code called from outside the profiled code. */
static PyObject *LineTracer_callers(LineTracerObject *self, PyObject *unused)
{
    PyObject *result = PyList_New(0);
    (void)unused;
    for (size_t i = 0; result != NULL && i < self->lt.n_codes; i++) {
        PkLineCode *lc = self->lt.codes[i];
        PyCodeObject *c = (PyCodeObject *)lc->caller;
        PyObject *item;
        if (c == NULL)
            continue;
        item = Py_BuildValue("(O(OOi))", lc->code, c->co_name, c->co_filename, lc->caller_line);
        if (item == NULL || PyList_Append(result, item) < 0)
            Py_CLEAR(result);
        Py_XDECREF(item);
    }
    return result;
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

static PyTypeObject LineTracer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "profkit._engine.LineTracer",
    .tp_basicsize = sizeof(LineTracerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "LineTracer(*, all_threads=True)\n\nLine hits and times of registered code objects.",
    .tp_new = LineTracer_new,
    .tp_init = (initproc)LineTracer_init,
    .tp_dealloc = (destructor)LineTracer_dealloc,
    .tp_traverse = (traverseproc)LineTracer_traverse,
    .tp_methods = LineTracer_methods,
    .tp_getset = LineTracer_getset,
};

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
    if (rc == -ESRCH) {
        PyErr_Format(PyExc_ProcessLookupError, "no process with pid %d", (int)self->s.pid);
        return NULL;
    }
    if (rc != PK_OK) {
        errno = -rc;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
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

static PyObject *Sampler_samples(SamplerObject *self, PyObject *unused)
{
    size_t n;
    PkMemSample *copy = snapshot(self, 0, &n);
    PyObject *list;
    (void)unused;
    if (copy == NULL)
        return PyErr_NoMemory();
    list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *item = Py_BuildValue("(dd)", copy[i].mib, copy[i].t);
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    PyMem_RawFree(copy);
    return list;
}

static PyObject *Sampler_child_samples(SamplerObject *self, PyObject *unused)
{
    size_t n;
    PkChildSample *copy = snapshot(self, 1, &n);
    PyObject *list;
    (void)unused;
    if (copy == NULL)
        return PyErr_NoMemory();
    list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *item = Py_BuildValue("(idd)", (int)copy[i].pid, copy[i].mib, copy[i].t);
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    PyMem_RawFree(copy);
    return list;
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

static PyTypeObject Sampler_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "profkit._engine.Sampler",
    .tp_basicsize = sizeof(SamplerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Sampler(pid=0, interval=0.1, backend='rss', children=0, fd=-1, keep=True,\n"
              "        max_samples=0)\n\n"
              "Samples a process's memory from a C thread; pid 0 is this process.\n"
              "children: 1 adds descendants into each sample, 2 records each one.\n"
              "fd: a descriptor that receives mprof .dat lines as they are taken.",
    .tp_new = Sampler_new,
    .tp_init = (initproc)Sampler_init,
    .tp_dealloc = (destructor)Sampler_dealloc,
    .tp_methods = Sampler_methods,
};

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
    if (rc == PK_EGONE || rc == -ESRCH) {
        PyErr_Format(PyExc_ProcessLookupError, "no process with pid %d", pid);
        return NULL;
    }
    if (rc != PK_OK) {
        errno = -rc;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromUnsignedLongLong(bytes);
}

static PyObject *mod_descendants(PyObject *mod, PyObject *args)
{
    int pid = 0;
    pid_t kids[1024];
    size_t n;
    PyObject *list;
    (void)mod;
    if (!PyArg_ParseTuple(args, "|i:descendants", &pid))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    n = pk_mem_descendants((pid_t)pid, kids, 1024);
    Py_END_ALLOW_THREADS
    list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list != NULL && i < n; i++) {
        PyObject *v = PyLong_FromLong(kids[i]);
        if (v == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    return list;
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
    (void)mod;
    if (!PyUnicode_Check(filename)) {
        PyErr_SetString(PyExc_TypeError, "expected a file name");
        return NULL;
    }
    pk_linetracer_hide_caller_file(filename);
    Py_RETURN_NONE;
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
    {"alloc_counters", mod_alloc_counters, METH_NOARGS,
     "alloc_counters() -> this thread's allocation counters, and the tracking level"},
    {"_thread_hook", pk_legacy_thread_hook, METH_VARARGS,
     "Installed with threading.setprofile(); hooks new threads in C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef engine_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "profkit._engine",
    .m_doc = "The C engine of profkit.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__engine(void)
{
    PyObject *m;

    if (pk_timer_init() != PK_OK) {
        PyErr_SetString(PyExc_RuntimeError, "cannot initialise the clock");
        return NULL;
    }
    if (pk_functracer_module_init() < 0 || pk_linetracer_module_init() < 0)
        return NULL;
    pk_functracer_set_own_methods(Profiler_methods,
                                  sizeof Profiler_methods / sizeof Profiler_methods[0] - 1);
    if (PyType_Ready(&Profiler_Type) < 0 || PyType_Ready(&LineTracer_Type) < 0 ||
        PyType_Ready(&Sampler_Type) < 0)
        return NULL;
    m = PyModule_Create(&engine_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&Profiler_Type);
    if (PyModule_AddObject(m, "Profiler", (PyObject *)&Profiler_Type) < 0) {
        Py_DECREF(&Profiler_Type);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&LineTracer_Type);
    if (PyModule_AddObject(m, "LineTracer", (PyObject *)&LineTracer_Type) < 0) {
        Py_DECREF(&LineTracer_Type);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&Sampler_Type);
    if (PyModule_AddObject(m, "Sampler", (PyObject *)&Sampler_Type) < 0) {
        Py_DECREF(&Sampler_Type);
        Py_DECREF(m);
        return NULL;
    }
    {
        PyObject *hook = PyObject_GetAttrString(m, "_thread_hook");
        if (hook == NULL) {
            Py_DECREF(m);
            return NULL;
        }
        pk_legacy_set_thread_hook(hook);
        Py_DECREF(hook);
    }
    return m;
}
