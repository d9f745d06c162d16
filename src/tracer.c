/* tracer.c: the slow paths of the plumbing both tracers share (see
 * tracer.h): requesting a code-object slot, attaching a thread, freeing
 * the threads, growing a stack, holding a tracer while it is enabled.
 *
 * GIL held throughout (the callers' callbacks and setup run under it).
 * Never on the hot path: each runs once per thread per session, once per
 * doubling of a stack, or at setup and teardown.  Must never: call Python
 * (only the slot request does, at import) or raise from a callback's path
 * (an allocation failure returns NULL for the caller to record). */
#include "tracer.h"

#include <stdlib.h>

#include "pythread.h"

int pk_tracer_request_slot(PkTracerGlobals *g)
{
    if (g->extra_index >= 0)
        return 0;
    g->extra_index = pk_request_code_extra(NULL);
    if (g->extra_index < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "no code-object extra slot available");
        return -1;
    }
    return 0;
}

void pk_tracer_set_enabled(PyObject *self, int *enabled, int on)
{
    *enabled = on;
    if (on)
        Py_INCREF(self);
    else
        Py_DECREF(self);
}

void *pk_tracer_attach_thread(PkThreadCache *cache, uint32_t session, PkThreadLink **list,
                              size_t size, int reuse)
{
    unsigned long ident = PyThread_get_thread_ident();
    PkThreadLink *t = NULL;

    if (reuse) {
        for (t = *list; t != NULL && t->ident != ident; t = t->next)
            ;
    }
    if (t == NULL) {
        t = calloc(1, size);
        if (t == NULL) {
            cache->session = 0;
            cache->thread = NULL;
            return NULL;
        }
        t->ident = ident;
        t->next = *list;
        *list = t;
    }
    cache->session = session;
    cache->thread = t;
    return t;
}

void pk_tracer_free_threads(PkThreadLink **list, void (*release)(PkThreadLink *))
{
    PkThreadLink *t = *list;

    while (t != NULL) {
        PkThreadLink *next = t->next;
        release(t);
        free(t);
        t = next;
    }
    *list = NULL;
}

void *pk_tracer_grow_stack(void *frames, size_t *cap, size_t item, size_t first)
{
    size_t ncap = *cap ? *cap * 2 : first;
    void *n = realloc(frames, ncap * item);

    if (n != NULL)
        *cap = ncap;
    return n;
}

