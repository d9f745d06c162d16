/* tracer.h: the plumbing both tracers share (functracer.c, linetracer.c).
 *
 * - The process-wide state of a kind of tracer (PkTracerGlobals): the
 *   active tracer its callbacks find, the session and generation counters,
 *   and its code-object extra slot, with why each one is process-wide.
 * - Code-object extra slots: each code object a tracer knows carries, in
 *   the tracer's slot, the index of its record stamped with the tracer's
 *   generation.  A stamp of another generation reads as absent, so no
 *   tracer ever has to wipe the slots it wrote.
 * - Per-thread records: each thread that sends events has a record (its
 *   frame stack, and whatever else the tracer keeps per thread) in a list
 *   its tracer owns, and caches it in TLS for the current session, so the
 *   hot path finds it with one compare.  Stacks grow by doubling, so there
 *   is no allocation per event in steady state.
 *
 * GIL required for everything here; the TLS caches belong to their own
 * thread.  The pieces of the hot paths are inline here; the slow paths are
 * in tracer.c.
 * Must never: allocate per event, write a slot other than through the API,
 * or call into Python on the hot path. */
#ifndef PROFKIT_TRACER_H
#define PROFKIT_TRACER_H

#include "compat.h"

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* ---- process-wide state of a kind of tracer ----------------------------
 *
 * One static instance per tracer kind (functracer.c, linetracer.c), next to
 * that file's thread-locals.  The engine's other mutable statics are the
 * hooks' own (legacy.c, alloctrack.c), the clock's (timer.c), linemem.c's
 * RSS reading, memsampler.c's descriptor of this process's statm, and
 * module.c's interpreter; each file says why.  Each part is process-wide
 * for a reason:
 *   active       the enabled tracer of this kind, or NULL.  The hooks it
 *                installs are process-wide (a profile or trace function on
 *                every thread, a sys.monitoring tool id), and their
 *                callbacks are called with no argument that leads to the
 *                tracer cheaply, so they read it here: one load per event.
 *                One function profiler is enabled at a time; line
 *                tracers can be several, and `active` is then NULL
 *                (linetracer.c dispatches to each).
 *   session      bumped on every enable and disable (line tracers: one
 *                session per tracer enable), so that a thread's cached
 *                record from an earlier session (its TLS, which no other
 *                thread may clear) reads as stale in one compare.
 *   gen          the last generation handed out.  Slots live on code
 *                objects, which every tracer of the kind shares; each
 *                tracer (and each clear()) takes a fresh generation, so the
 *                slots another one stamped read as absent.
 *   extra_index  the kind's code-object extra slot.  CPython hands out a
 *                few per interpreter and takes none back, so it is
 *                requested once, at the first import (line tracers draw
 *                more from a pool, linetracer.c, one per tracer holding
 *                code). */
typedef struct {
    void *active;
    uint32_t session;
    uint32_t gen;
    Py_ssize_t extra_index;
} PkTracerGlobals;

#define PK_TRACER_GLOBALS_INIT(first_gen) {NULL, 1, (first_gen), -1}

/* Requests g's code-object extra slot, once per process.  Returns 0, or -1
 * with an exception set. */
int pk_tracer_request_slot(PkTracerGlobals *g);

/* ---- code-object extra slots ------------------------------------------- */

/* A slot holds a generation and a record index in one pointer, so slots
 * need 64-bit pointers. */
_Static_assert(sizeof(void *) == 8, "code-object slots pack two 32-bit numbers in a pointer");

/* The record index that `code`'s slot `slot` holds for generation `gen`:
 * 1 and *index, or 0 when the slot is empty or stamped by another
 * generation.  Reads the slot through compat.h's mirror, with no call. */
PK_INLINE int pk_tracer_slot_get(PyObject *code, Py_ssize_t slot, uint32_t gen, uint32_t *index)
{
    PkCodeExtra *extra = (PkCodeExtra *)((PyCodeObject *)code)->co_extra;
    uintptr_t u;

    if (PK_UNLIKELY(extra == NULL || slot >= extra->ce_size))
        return 0;
    u = (uintptr_t)extra->ce_extras[slot];
    if (PK_UNLIKELY((uint32_t)(u >> 32) != gen))
        return 0;
    *index = (uint32_t)u;
    return 1;
}

/* Stamps `code`'s slot with (gen, index), through the API.  Returns 0, or
 * -1 with an exception set. */
static inline int pk_tracer_slot_set(PyObject *code, Py_ssize_t slot, uint32_t gen, size_t index)
{
    return pk_code_set_extra(code, slot, (void *)(((uintptr_t)gen << 32) | (uintptr_t)index));
}

/* A tracer's hooks go in (on=1) or come out (on=0): sets *enabled, and
 * holds a reference to `self`, the object embedding the tracer, for as
 * long as they are in, so that it outlives them.  Turning off may drop the
 * last reference but one: the caller holds another. */
void pk_tracer_set_enabled(PyObject *self, int *enabled, int on);

/* ---- per-thread records ------------------------------------------------ */

/* What every per-thread record starts with: its place in its tracer's list
 * (a record is a PkThreadLink first, so either pointer converts to the
 * other). */
typedef struct PkThreadLink {
    struct PkThreadLink *next;
    unsigned long ident; /* PyThread_get_thread_ident() of its thread */
} PkThreadLink;

/* The fields every tracer object (PkProfiler, PkLineTracer) ends with:
 * its threads' records, the Python object embedding it, and that object's
 * module state (named by its tag, so that this header needs no module.h). */
struct PkModuleState;
#define PK_TRACER_TAIL                                                                          \
    PkThreadLink *threads;           /* its threads' records, newest first */                    \
    PyObject *self;                  /* borrowed: the Python object embedding this */            \
    const struct PkModuleState *mod; /* borrowed: its module's state (module.h) */

/* A thread's cache of its own record for one session: a single TLS block,
 * so that the hot path pays one TLS offset load.  A NULL record with a
 * current session means "this thread's events are ignored". */
typedef struct {
    void *thread;
    uint32_t session;
} PkThreadCache;

/* Slow path of a tracer's current-thread lookup: the calling thread's
 * record in *list (when `reuse` and there is one) or a new record of `size`
 * zeroed bytes linked at the head, cached in *cache for `session`.  NULL
 * when out of memory (the caller records it); the cache is then left stale
 * so that a later event tries again. */
void *pk_tracer_attach_thread(PkThreadCache *cache, uint32_t session, PkThreadLink **list,
                              size_t size, int reuse);

/* Frees every record of *list, each after release(record) has freed what
 * the record owns, and empties the list. */
void pk_tracer_free_threads(PkThreadLink **list, void (*release)(PkThreadLink *));

/* Grows a frame stack of `item`-byte frames: `first` frames, then twice as
 * many each time.  Returns the new array (the caller stores it; *cap is
 * updated), or NULL with the old array and *cap untouched. */
void *pk_tracer_grow_stack(void *frames, size_t *cap, size_t item, size_t first);

#endif /* PROFKIT_TRACER_H */
