/* alloctrack.h: Python's allocators (and numpy's) hooked, to count bytes
 * per thread and to tell the line tracer when RSS may have moved.
 *
 * Installed with PyMem_SetAllocator / PyObject_SetArenaAllocator (and
 * numpy's PyDataMem_SetHandler when numpy is in use); every hook chains to
 * the allocator it replaced and adds no header to blocks, so blocks from
 * before the hook (or after it) are freed through the same code as always.
 *
 * Two levels:
 *   PK_TRACK_EVENTS  only what may move RSS: the raw domain's large blocks,
 *                    pymalloc's arenas, numpy's large buffers.  Cheap: no
 *                    per-object work for small objects.
 *   PK_TRACK_BYTES   every block of the raw, mem and object domains and of
 *                    numpy, with its size kept by address (a lock-free
 *                    shadow map for small blocks, a locked table for large
 *                    ones), so frees are exact: per-thread allocated bytes,
 *                    live bytes and their high water mark.
 */
#ifndef PROFKIT_ALLOCTRACK_H
#define PROFKIT_ALLOCTRACK_H

#include "compat.h"

#include <stdint.h>

enum { PK_TRACK_OFF = 0, PK_TRACK_EVENTS = 1, PK_TRACK_BYTES = 2 };

/* Per-thread byte counters (PK_TRACK_BYTES).  Bytes a thread frees count
 * against that thread, so `live` may go below zero. */
typedef struct {
    int64_t allocated; /* bytes allocated by this thread, ever */
    int64_t live;      /* allocated minus freed by this thread */
    int64_t high;      /* highest `live` since pk_alloc_mark() */
} PkAllocCounters;

/* Install the hooks at `level` (GIL held).  0, or -1 with an exception. */
int pk_alloc_start(int level);
/* Remove them (or, if another hook was installed over ours, leave ours in
 * place doing nothing).  GIL held. */
void pk_alloc_stop(void);
int pk_alloc_level(void);

/* Hook numpy's data allocations through its C API table (the _ARRAY_API
 * capsule); requires numpy >= 1.22.  0, or -1 with an exception. */
int pk_alloc_hook_numpy(PyObject *api_capsule);

/* This thread's counters. */
PkAllocCounters *pk_alloc_counters(void);
/* Start a new high-water segment: high = live. */
void pk_alloc_mark(void);

/* A number that changes whenever memory may have been mapped or unmapped
 * since it was last read (large blocks, arenas). */
uint64_t pk_alloc_events(void);

/* Bytes of the block table itself: memory the program did not ask for,
 * which the RSS figures leave out. */
size_t pk_alloc_own_bytes(void);

/* Large blocks in the locked table, for tests. */
size_t pk_alloc_tracked_blocks(void);

#endif /* PROFKIT_ALLOCTRACK_H */
