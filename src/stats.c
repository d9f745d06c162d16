/* stats.c: entry and edge tables of the function profiler (see stats.h).
 * Pure C; callers hold the GIL.  Allocation happens only when a function or
 * a caller/callee pair is seen for the first time, never per event. */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

/* Fibonacci hashing of a pointer pair: one multiply per word.  Pointers are
 * aligned, so the low bits carry nothing and the top bits are kept. */
static size_t slot_of(uintptr_t a, uintptr_t b, size_t cap)
{
    uint64_t h = ((uint64_t)a * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)b * 0xC2B2AE3D27D4EB4Full);
    h ^= h >> 29;
    return (size_t)h & (cap - 1);
}

void *pk_map_get(const PkPtrMap *m, uintptr_t a, uintptr_t b)
{
    size_t i;

    if (m->cap == 0)
        return NULL;
    i = slot_of(a, b, m->cap);
    for (;;) {
        uintptr_t ka = m->keys[2 * i];
        if (ka == 0)
            return NULL;
        if (ka == a && m->keys[2 * i + 1] == b)
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
}

static int map_grow(PkPtrMap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    uintptr_t *nkeys = calloc(ncap * 2, sizeof *nkeys);
    void **nvals = calloc(ncap, sizeof *nvals);
    size_t i;

    if (nkeys == NULL || nvals == NULL) {
        free(nkeys);
        free(nvals);
        return PK_ENOMEM;
    }
    for (i = 0; i < m->cap; i++) {
        uintptr_t a = m->keys[2 * i];
        size_t j;
        if (a == 0)
            continue;
        j = slot_of(a, m->keys[2 * i + 1], ncap);
        while (nkeys[2 * j] != 0)
            j = (j + 1) & (ncap - 1);
        nkeys[2 * j] = a;
        nkeys[2 * j + 1] = m->keys[2 * i + 1];
        nvals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nkeys;
    m->vals = nvals;
    m->cap = ncap;
    return PK_OK;
}

int pk_map_put(PkPtrMap *m, uintptr_t a, uintptr_t b, void *val)
{
    size_t i;

    PK_ASSERT(a != 0);
    /* Keep the load under one half so probe runs stay short. */
    if (2 * (m->len + 1) > m->cap && map_grow(m) != PK_OK)
        return PK_ENOMEM;
    i = slot_of(a, b, m->cap);
    while (m->keys[2 * i] != 0) {
        if (m->keys[2 * i] == a && m->keys[2 * i + 1] == b) {
            m->vals[i] = val;
            return PK_OK;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[2 * i] = a;
    m->keys[2 * i + 1] = b;
    m->vals[i] = val;
    m->len++;
    return PK_OK;
}

void pk_map_free(PkPtrMap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

void pk_stats_init(PkStats *s)
{
    memset(s, 0, sizeof *s);
}

void pk_stats_clear(PkStats *s, void (*release)(void *obj))
{
    size_t i;

    for (i = 0; i < s->n_entries; i++) {
        PkEntry *e = s->entries[i];
        PkEdge *edge = e->calls;
        while (edge != NULL) {
            PkEdge *next = edge->next;
            free(edge);
            edge = next;
        }
        if (release != NULL && e->obj != NULL)
            release(e->obj);
        free(e);
    }
    free(s->entries);
    pk_map_free(&s->by_key);
    pk_map_free(&s->edges);
    pk_stats_init(s);
}

PkEntry *pk_stats_find(PkStats *s, const void *key)
{
    return pk_map_get(&s->by_key, (uintptr_t)key, 0);
}

PkEntry *pk_stats_add(PkStats *s, void *key, void *obj)
{
    PkEntry *e;

    if (s->n_entries == s->cap_entries) {
        size_t ncap = s->cap_entries ? s->cap_entries * 2 : 256;
        PkEntry **n = realloc(s->entries, ncap * sizeof *n);
        if (n == NULL)
            return NULL;
        s->entries = n;
        s->cap_entries = ncap;
    }
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->key = key;
    e->obj = obj;
    e->index = (uint32_t)s->n_entries;
    if (pk_map_put(&s->by_key, (uintptr_t)key, 0, e) != PK_OK) {
        free(e);
        return NULL;
    }
    s->entries[s->n_entries++] = e;
    return e;
}

PkEdge *pk_stats_find_edge(PkStats *s, PkEntry *caller, PkEntry *callee)
{
    PkEdge *last = callee->last_in;

    if (last != NULL && last->caller == caller)
        return last;
    last = pk_map_get(&s->edges, (uintptr_t)caller, (uintptr_t)callee);
    if (last != NULL)
        callee->last_in = last;
    return last;
}

PkEdge *pk_stats_edge(PkStats *s, PkEntry *caller, PkEntry *callee)
{
    PkEdge *edge = pk_stats_find_edge(s, caller, callee);

    if (edge != NULL)
        return edge;
    edge = calloc(1, sizeof *edge);
    if (edge == NULL)
        return NULL;
    edge->caller = caller;
    edge->callee = callee;
    if (pk_map_put(&s->edges, (uintptr_t)caller, (uintptr_t)callee, edge) != PK_OK) {
        free(edge);
        return NULL;
    }
    edge->next = caller->calls;
    caller->calls = edge;
    callee->last_in = edge;
    return edge;
}
