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
#include "linetracer.h"

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
    static char *kwlist[] = {"all_threads", NULL};
    int all_threads = 1;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$p:LineTracer", kwlist, &all_threads))
        return -1;
    if (!self->lt.enabled)
        self->lt.all_threads = all_threads;
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

/* [(code, [(lineno, hits, nanoseconds), ...]), ...] in registration order,
 * listing only lines that were hit.  New reference. */
static PyObject *LineTracer_rawstats(LineTracerObject *self, PyObject *unused)
{
    double ns_per_tick = pk_timer_seconds_per_tick() * 1e9;
    PyObject *result = PyList_New(0);
    size_t i;
    int j;
    (void)unused;

    if (result == NULL)
        return NULL;
    for (i = 0; i < self->lt.n_codes; i++) {
        PkLineCode *lc = self->lt.codes[i];
        PyObject *lines = PyList_New(0), *item;
        if (lines == NULL)
            goto error;
        for (j = 0; j < lc->n_lines; j++) {
            PyObject *row;
            if (lc->hits[j] == 0)
                continue;
            row = Py_BuildValue("(iLL)", lc->first_line + j, (long long)lc->hits[j],
                                (long long)llround((double)lc->ticks[j] * ns_per_tick));
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

static PyMethodDef module_methods[] = {
    {"clock_info", mod_clock_info, METH_NOARGS,
     "clock_info() -> {'source': 'tsc'|'monotonic', 'seconds_per_tick': float}"},
    {"clock_ticks", mod_clock_ticks, METH_NOARGS, "clock_ticks() -> the engine clock, in ticks"},
    {"backend", mod_backend, METH_NOARGS,
     "backend() -> 'monitoring' or 'legacy': the hook the function profiler uses"},
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
    if (PyType_Ready(&Profiler_Type) < 0 || PyType_Ready(&LineTracer_Type) < 0)
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
