/* stats.h: the function profiler's tables.
 *
 * A PkEntry is one function: a code object, or the PyMethodDef of a
 * builtin.  A PkEdge is one caller -> callee pair.  Both keep cProfile's
 * five numbers: total and inline ticks, calls, recursive calls, and the
 * current recursion level that decides whether a return adds to the total.
 *
 * Recursion is a property of one thread's stack.  The level stored here
 * counts the calls of one thread only, its `owner` (an opaque pointer that
 * the tracer gives meaning to); another thread that runs the same function
 * at the same time keeps its own level in a table of its own (see
 * functracer.c), so concurrent calls are never mistaken for recursion.
 *
 * Pure C, no Python.h: keys are opaque pointers and `obj` is an opaque
 * owned pointer that the caller (functracer.c) releases through the
 * release callback given to pk_stats_clear().  Not thread-safe: every call
 * must hold the GIL (the tracers run under it).
 *
 * Lookups by key go through an open-addressing table; the tracer avoids even
 * that for code objects by caching the entry index in a code-object extra
 * slot, so this table is its slow path.  Entries and edges never move once
 * created, so the tracer may keep pointers to them until pk_stats_clear(). */
#ifndef PROFKIT_STATS_H
#define PROFKIT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct PkEdge PkEdge;
typedef struct PkEntry PkEntry;

struct PkEntry {
    void *key;         /* code object or PyMethodDef*, identity only */
    void *obj;         /* owned: the code object, or a label string */
    int64_t tt;        /* total ticks, counted at recursion level 0 only */
    int64_t it;        /* inline ticks: total minus callees */
    long callcount;
    long reccount;     /* calls made while already on the stack */
    long level;        /* how many times it is on the owner's stack now */
    void *owner;       /* the thread whose calls `level` counts, or NULL */
    uint32_t index;    /* position in PkStats.entries */
    PkEdge *calls;     /* edges where this entry is the caller */
    PkEdge *last_in;   /* the edge that last had this entry as callee */
    void *sites;       /* owned by the tracer: its call sites (callsites.h), or NULL */
};

struct PkEdge {
    PkEntry *caller;
    PkEntry *callee;
    PkEdge *next;      /* next edge of the same caller */
    int64_t tt, it;
    long callcount, reccount, level;
    void *owner;       /* as PkEntry.owner */
};

/* Open-addressing map from a pair of pointers to a pointer. */
typedef struct {
    uintptr_t *keys; /* 2 words per slot; a zero first word marks empty */
    void **vals;
    size_t cap;      /* power of two, or 0 */
    size_t len;
} PkPtrMap;

typedef struct {
    PkEntry **entries;
    size_t n_entries, cap_entries;
    PkPtrMap by_key;   /* key -> PkEntry* */
    PkPtrMap edges;    /* (caller, callee) -> PkEdge* */
} PkStats;

/* Zero-initialises a table.  Never fails. */
void pk_stats_init(PkStats *s);

/* Frees every entry and edge, calling release(obj) for each entry's obj
 * first.  The table is empty and reusable afterwards. */
void pk_stats_clear(PkStats *s, void (*release)(void *obj));

/* Entry for key, or NULL. */
PkEntry *pk_stats_find(PkStats *s, const void *key);

/* Adds an entry for key holding obj (ownership passes to the table on
 * success).  Returns NULL on allocation failure, leaving obj to the caller.
 * The key must not be present yet. */
PkEntry *pk_stats_add(PkStats *s, void *key, void *obj);

/* Edge caller -> callee, or NULL. */
PkEdge *pk_stats_find_edge(PkStats *s, PkEntry *caller, PkEntry *callee);

/* Edge caller -> callee, created with zero counts when missing.  NULL only
 * on allocation failure. */
PkEdge *pk_stats_edge(PkStats *s, PkEntry *caller, PkEntry *callee);

/* Lower-level map API, exposed for tests. */
void *pk_map_get(const PkPtrMap *m, uintptr_t a, uintptr_t b);
int pk_map_put(PkPtrMap *m, uintptr_t a, uintptr_t b, void *val); /* PK_OK / PK_ENOMEM */
void pk_map_free(PkPtrMap *m);

#endif /* PROFKIT_STATS_H */
