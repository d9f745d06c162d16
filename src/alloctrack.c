/* alloctrack.c: counting hooks on Python's allocators and numpy's (see
 * alloctrack.h).
 *
 * Concern: the allocation hot path.  The raw domain is called without the
 * GIL, from any thread, so everything shared here is either atomic or under
 * `table_mu`; per-thread counters live in TLS.  A thread-local flag keeps a
 * block from being counted twice when one hooked allocator calls another
 * (pymalloc hands blocks over 512 bytes to PyMem_RawMalloc).
 *
 * Its statics are process-wide, as the allocators it hooks are: one hook
 * per domain for the whole process, and tables that any thread's blocks go
 * into.
 *
 * Must never: allocate through Python (the table uses libc directly), raise,
 * or lose the chain to the allocator it replaced.
 */
#include "alloctrack.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define BIG_BLOCK ((size_t)64 * 1024)  /* a block this large may be mmap'ed */
#define SMALL_BATCH ((int64_t)256 * 1024) /* small bytes that count as one event */

PK_TLS int tls_in_hook;
PK_TLS PkAllocCounters tls_counters;

static int level;            /* PK_TRACK_*; read racily by the hooks, by design */
static uint64_t events;      /* atomic */
static int64_t small_bytes;  /* atomic */

/* ---- the block table: pointer -> size, open addressing ----------------- */

typedef struct {
    uintptr_t key; /* 0: empty */
    size_t size;
} Slot;

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static Slot *slots;
static size_t slot_mask; /* capacity - 1; capacity is a power of two */
static size_t n_blocks;  /* written under table_mu, read racily as a hint */

PK_INLINE size_t slot_of(uintptr_t key)
{
    return (size_t)(((uint64_t)key >> 4) * 0x9E3779B97F4A7C15ull >> 20) & slot_mask;
}

static int table_grow(void)
{
    size_t ncap = slots ? (slot_mask + 1) * 2 : 4096;
    Slot *n = calloc(ncap, sizeof *n);
    Slot *old = slots;
    size_t oldcap = slots ? slot_mask + 1 : 0;
    if (n == NULL)
        return PK_ENOMEM;
    slots = n;
    slot_mask = ncap - 1;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].key != 0) {
            size_t j = slot_of(old[i].key);
            while (slots[j].key != 0)
                j = (j + 1) & slot_mask;
            slots[j] = old[i];
        }
    }
    free(old);
    return PK_OK;
}

/* Call with table_mu held. */
static void table_put(uintptr_t key, size_t size)
{
    size_t j;
    if ((slots == NULL || (n_blocks + 1) * 10 > (slot_mask + 1) * 7) && table_grow() != PK_OK)
        return; /* out of memory: this block goes uncounted */
    j = slot_of(key);
    while (slots[j].key != 0 && slots[j].key != key)
        j = (j + 1) & slot_mask;
    if (slots[j].key == 0)
        n_blocks++;
    slots[j].key = key;
    slots[j].size = size;
}

/* Removes key; returns its size, or 0 when it was not there.  Call with
 * table_mu held.  Backward-shift deletion keeps probe chains unbroken. */
static size_t table_take(uintptr_t key)
{
    size_t j, size;
    if (slots == NULL)
        return 0;
    j = slot_of(key);
    while (slots[j].key != key) {
        if (slots[j].key == 0)
            return 0;
        j = (j + 1) & slot_mask;
    }
    size = slots[j].size;
    for (;;) {
        size_t k = j;
        slots[j].key = 0;
        for (;;) {
            size_t home;
            k = (k + 1) & slot_mask;
            if (slots[k].key == 0) {
                n_blocks--;
                return size;
            }
            home = slot_of(slots[k].key);
            /* move slots[k] into the hole unless its home lies in (j, k] */
            if (j <= k ? (home <= j || home > k) : (home <= j && home > k))
                break;
        }
        slots[j] = slots[k];
        j = k;
    }
}

/* ---- the shadow map: sizes of small blocks, by address ------------------
 *
 * Most tracked blocks are small objects, allocated and freed millions of
 * times.  Their sizes (below 0xFFFF) go in a three-level map indexed by
 * address, 16 bits per 8 bytes of address space, created as the heap grows:
 * no lock (a slot belongs to one live block), and neighbouring blocks share
 * cache lines, as pymalloc's pools keep them together.  Larger blocks, and
 * addresses the map does not cover, go to the locked table above; their
 * slot holds BIG_MARK. */

#define SHADOW_ADDR_BITS 47
#define LEAF_SLOTS 4096u   /* 8-byte slots: a leaf covers 32 KiB */
#define MID_LEAVES 32768u  /* a mid covers 1 GiB */
#define TOP_MIDS (1u << (SHADOW_ADDR_BITS - 30))
#define BIG_MARK 0xFFFFu

typedef struct {
    uint16_t size[LEAF_SLOTS];
} Leaf;

typedef struct {
    Leaf *leaf[MID_LEAVES];
} Mid;

static Mid **shadow_top;   /* TOP_MIDS pointers, made by pk_alloc_start */
static size_t shadow_bytes; /* atomic */

/* Threads inside the hooks that may run without the GIL (raw domain,
 * numpy): pk_alloc_stop() waits for them before freeing the structures. */
static int64_t unlocked_inflight;

/* Every mid and leaf made, so that clearing visits only them (a full walk
 * of the map costs about a millisecond, and the decorator's per-call
 * switching clears once per call). */
#define MAX_MIDS 4096
static pthread_mutex_t shadow_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t mid_index[MAX_MIDS]; /* their slots in shadow_top */
static size_t n_mids;
static Leaf **leaf_list;
static size_t n_leaves, cap_leaves;
static int shadow_unlisted; /* a list was full: clearing must walk it all */

static void note_made(void **slot, void *fresh)
{
    pthread_mutex_lock(&shadow_mu);
    if ((Mid **)slot >= shadow_top && (Mid **)slot < shadow_top + TOP_MIDS) {
        if (n_mids < MAX_MIDS)
            mid_index[n_mids++] = (size_t)((Mid **)slot - shadow_top);
        else
            shadow_unlisted = 1;
    } else {
        if (n_leaves == cap_leaves) {
            size_t ncap = cap_leaves ? cap_leaves * 2 : 256;
            Leaf **n = realloc(leaf_list, ncap * sizeof *n);
            if (n == NULL) {
                shadow_unlisted = 1;
                pthread_mutex_unlock(&shadow_mu);
                return;
            }
            leaf_list = n;
            cap_leaves = ncap;
        }
        leaf_list[n_leaves++] = fresh;
    }
    pthread_mutex_unlock(&shadow_mu);
}

/* Reserve `*slot` for a fresh zeroed block of `size`, unless another thread
 * did first; returns what the slot holds then (NULL: out of memory). */
static void *claim(void **slot, size_t size)
{
    void *cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    void *expected = NULL, *fresh;
    if (cur != NULL)
        return cur;
    fresh = calloc(1, size);
    if (fresh == NULL)
        return NULL;
    if (!__atomic_compare_exchange_n(slot, &expected, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        free(fresh);
        return expected;
    }
    __atomic_add_fetch(&shadow_bytes, size, __ATOMIC_RELAXED);
    note_made(slot, fresh);
    return fresh;
}

PK_INLINE Leaf *leaf_of(uintptr_t a, int create)
{
    Mid *mid;
    Leaf *leaf;
    if ((a >> SHADOW_ADDR_BITS) != 0 || shadow_top == NULL)
        return NULL;
    mid = __atomic_load_n(&shadow_top[a >> 30], __ATOMIC_ACQUIRE);
    if (mid == NULL && (!create || (mid = claim((void **)&shadow_top[a >> 30], sizeof(Mid))) == NULL))
        return NULL;
    leaf = __atomic_load_n(&mid->leaf[(a >> 15) & (MID_LEAVES - 1)], __ATOMIC_ACQUIRE);
    if (leaf == NULL && create)
        leaf = claim((void **)&mid->leaf[(a >> 15) & (MID_LEAVES - 1)], sizeof(Leaf));
    return leaf;
}

#define SLOT_OF(a) (((a) >> 3) & (LEAF_SLOTS - 1))

static void block_put(uintptr_t a, size_t size)
{
    Leaf *leaf = leaf_of(a, 1);
    if (leaf != NULL && size < BIG_MARK) {
        leaf->size[SLOT_OF(a)] = (uint16_t)size;
        return;
    }
    pthread_mutex_lock(&table_mu);
    table_put(a, size);
    pthread_mutex_unlock(&table_mu);
    if (leaf != NULL)
        leaf->size[SLOT_OF(a)] = BIG_MARK;
}

/* Forget the block at a; its size, or 0 when it was not tracked. */
static size_t block_take(uintptr_t a)
{
    Leaf *leaf = leaf_of(a, 0);
    size_t size;
    if (leaf != NULL) {
        unsigned v = leaf->size[SLOT_OF(a)];
        if (v == 0)
            return 0;
        leaf->size[SLOT_OF(a)] = 0;
        if (v != BIG_MARK)
            return v;
    }
    if (__atomic_load_n(&n_blocks, __ATOMIC_RELAXED) == 0)
        return 0;
    pthread_mutex_lock(&table_mu);
    size = table_take(a);
    pthread_mutex_unlock(&table_mu);
    return size;
}

/* Free everything tracked.  No hook may be inside block_put/take. */
static void table_clear(void)
{
    pthread_mutex_lock(&table_mu);
    free(slots);
    slots = NULL;
    slot_mask = 0;
    n_blocks = 0;
    pthread_mutex_unlock(&table_mu);
    if (shadow_top != NULL) {
        /* shadow_top itself stays for the next session (zero pages cost
         * nothing); its mids and leaves go */
        if (!shadow_unlisted) {
            for (size_t i = 0; i < n_leaves; i++)
                free(leaf_list[i]);
            for (size_t i = 0; i < n_mids; i++) {
                free(shadow_top[mid_index[i]]);
                shadow_top[mid_index[i]] = NULL;
            }
        } else {
            for (size_t i = 0; i < TOP_MIDS; i++) {
                Mid *mid = shadow_top[i];
                if (mid == NULL)
                    continue;
                for (size_t j = 0; j < MID_LEAVES; j++)
                    free(mid->leaf[j]);
                free(mid);
                shadow_top[i] = NULL;
            }
        }
    }
    n_mids = n_leaves = 0;
    shadow_unlisted = 0;
    shadow_bytes = 0;
}

/* ---- counting ---------------------------------------------------------- */

PK_INLINE void count_size_event(size_t size)
{
    if (size >= BIG_BLOCK) {
        __atomic_add_fetch(&events, 1, __ATOMIC_RELAXED);
    } else if (__atomic_add_fetch(&small_bytes, (int64_t)size, __ATOMIC_RELAXED) >= SMALL_BATCH) {
        __atomic_store_n(&small_bytes, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&events, 1, __ATOMIC_RELAXED);
    }
}

static void on_alloc(void *p, size_t size)
{
    int lv = level;
    if (lv == PK_TRACK_BYTES) {
        PkAllocCounters *c = &tls_counters;
        block_put((uintptr_t)p, size);
        c->allocated += (int64_t)size;
        c->live += (int64_t)size;
        if (c->live > c->high)
            c->high = c->live;
    } else if (lv == PK_TRACK_EVENTS && size >= BIG_BLOCK) {
        block_put((uintptr_t)p, size);
    }
    if (lv != PK_TRACK_OFF)
        count_size_event(size);
}

/* Forget p; returns the size it was counted with (0: not ours). */
static size_t on_free(void *p)
{
    size_t size = block_take((uintptr_t)p);
    if (size != 0) {
        if (level == PK_TRACK_BYTES)
            tls_counters.live -= (int64_t)size;
        if (size >= BIG_BLOCK)
            __atomic_add_fetch(&events, 1, __ATOMIC_RELAXED);
    }
    return size;
}

/* Hooks that may run without the GIL announce themselves first, then look
 * at `level` (both sequentially consistent), so that pk_alloc_stop(), which
 * turns `level` off and then waits for none to be inside, never frees the
 * structures under them. */
#define UNLOCKED_ENTER() __atomic_add_fetch(&unlocked_inflight, 1, __ATOMIC_SEQ_CST)
#define UNLOCKED_LEAVE() __atomic_sub_fetch(&unlocked_inflight, 1, __ATOMIC_SEQ_CST)

/* ---- PyMem hooks ------------------------------------------------------- */

typedef struct {
    PyMemAllocatorDomain domain;
    PyMemAllocatorEx prev;
    int installed;
} Domain;

static Domain domains[3] = {{PYMEM_DOMAIN_RAW}, {PYMEM_DOMAIN_MEM}, {PYMEM_DOMAIN_OBJ}};

/* Count a new block, a freed one, or one a failed realloc left alive.
 * `unlocked`: the caller may not hold the GIL (see UNLOCKED_ENTER). */
static void track_alloc(int unlocked, void *p, size_t size)
{
    if (unlocked)
        UNLOCKED_ENTER();
    if (__atomic_load_n(&level, __ATOMIC_SEQ_CST) != PK_TRACK_OFF)
        on_alloc(p, size);
    if (unlocked)
        UNLOCKED_LEAVE();
}

static size_t track_free(int unlocked, void *p)
{
    size_t size = 0;
    if (unlocked)
        UNLOCKED_ENTER();
    if (__atomic_load_n(&level, __ATOMIC_SEQ_CST) != PK_TRACK_OFF)
        size = on_free(p);
    if (unlocked)
        UNLOCKED_LEAVE();
    return size;
}

static void track_restore(int unlocked, void *p, size_t size)
{
    if (unlocked)
        UNLOCKED_ENTER();
    if (__atomic_load_n(&level, __ATOMIC_SEQ_CST) != PK_TRACK_OFF) {
        block_put((uintptr_t)p, size);
        if (level == PK_TRACK_BYTES)
            tls_counters.live += (int64_t)size;
    }
    if (unlocked)
        UNLOCKED_LEAVE();
}

#define UNLOCKED(d) ((d)->domain == PYMEM_DOMAIN_RAW)

static void *h_malloc(void *ctx, size_t size)
{
    Domain *d = ctx;
    void *p;
    if (tls_in_hook)
        return d->prev.malloc(d->prev.ctx, size);
    tls_in_hook = 1;
    p = d->prev.malloc(d->prev.ctx, size);
    tls_in_hook = 0;
    if (p != NULL && level != PK_TRACK_OFF)
        track_alloc(UNLOCKED(d), p, size);
    return p;
}

static void *h_calloc(void *ctx, size_t nelem, size_t elsize)
{
    Domain *d = ctx;
    void *p;
    if (tls_in_hook)
        return d->prev.calloc(d->prev.ctx, nelem, elsize);
    tls_in_hook = 1;
    p = d->prev.calloc(d->prev.ctx, nelem, elsize);
    tls_in_hook = 0;
    if (p != NULL && level != PK_TRACK_OFF)
        track_alloc(UNLOCKED(d), p, nelem * elsize); /* no overflow: it succeeded */
    return p;
}

static void *h_realloc(void *ctx, void *ptr, size_t size)
{
    Domain *d = ctx;
    size_t old = 0;
    void *p;
    if (tls_in_hook)
        return d->prev.realloc(d->prev.ctx, ptr, size);
    /* Forget the old block first: once realloc has freed it, another
     * thread may be given the same address. */
    if (ptr != NULL && level != PK_TRACK_OFF)
        old = track_free(UNLOCKED(d), ptr);
    tls_in_hook = 1;
    p = d->prev.realloc(d->prev.ctx, ptr, size);
    tls_in_hook = 0;
    if (p == NULL) {
        if (old != 0) /* failed: the old block lives on */
            track_restore(UNLOCKED(d), ptr, old);
        return NULL;
    }
    if (level != PK_TRACK_OFF)
        track_alloc(UNLOCKED(d), p, size);
    return p;
}

static void h_free(void *ctx, void *ptr)
{
    Domain *d = ctx;
    if (ptr != NULL && !tls_in_hook && level != PK_TRACK_OFF)
        track_free(UNLOCKED(d), ptr);
    tls_in_hook++;
    d->prev.free(d->prev.ctx, ptr);
    tls_in_hook--;
}

/* ---- arenas: pymalloc's 256 KiB / 1 MiB mappings ------------------------ */

static PyObjectArenaAllocator prev_arena;
static int arena_installed;

static void *h_arena_alloc(void *ctx, size_t size)
{
    void *p = prev_arena.alloc(prev_arena.ctx, size);
    (void)ctx;
    if (p != NULL && level != PK_TRACK_OFF)
        __atomic_add_fetch(&events, 1, __ATOMIC_RELAXED);
    return p;
}

static void h_arena_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    prev_arena.free(prev_arena.ctx, ptr, size);
    if (level != PK_TRACK_OFF)
        __atomic_add_fetch(&events, 1, __ATOMIC_RELAXED);
}

/* ---- numpy: PyDataMem_Handler (NEP 49, numpy >= 1.22) ------------------- */

typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr, size_t size);
} PkNpyAllocator;

typedef struct {
    char name[127];
    uint8_t version;
    PkNpyAllocator allocator;
} PkNpyHandler;

#define NPY_SET_HANDLER 304 /* slots of numpy's C API table (stable since 1.22) */
#define NPY_GET_HANDLER 305

static PyObject *(*np_set_handler)(PyObject *);
static PyObject *(*np_get_handler)(void);
static PyObject *np_prev_capsule; /* strong, kept: our blocks are freed through it */
static PkNpyAllocator np_prev;
static PyObject *np_ours_capsule;

static void *np_malloc(void *ctx, size_t size)
{
    void *p;
    (void)ctx;
    tls_in_hook++;
    p = np_prev.malloc(np_prev.ctx, size);
    tls_in_hook--;
    if (p != NULL && level != PK_TRACK_OFF && tls_in_hook == 0)
        track_alloc(1, p, size);
    return p;
}

static void *np_calloc(void *ctx, size_t nelem, size_t elsize)
{
    void *p;
    (void)ctx;
    tls_in_hook++;
    p = np_prev.calloc(np_prev.ctx, nelem, elsize);
    tls_in_hook--;
    if (p != NULL && level != PK_TRACK_OFF && tls_in_hook == 0)
        track_alloc(1, p, nelem * elsize);
    return p;
}

static void *np_realloc(void *ctx, void *ptr, size_t size)
{
    size_t old = 0;
    void *p;
    (void)ctx;
    if (ptr != NULL && level != PK_TRACK_OFF && tls_in_hook == 0)
        old = track_free(1, ptr);
    tls_in_hook++;
    p = np_prev.realloc(np_prev.ctx, ptr, size);
    tls_in_hook--;
    if (p == NULL) {
        if (old != 0)
            track_restore(1, ptr, old);
        return NULL;
    }
    if (level != PK_TRACK_OFF && tls_in_hook == 0)
        track_alloc(1, p, size);
    return p;
}

static void np_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    if (ptr != NULL && level != PK_TRACK_OFF && tls_in_hook == 0)
        track_free(1, ptr);
    tls_in_hook++;
    np_prev.free(np_prev.ctx, ptr, size);
    tls_in_hook--;
}

static PkNpyHandler np_handler = {
    "profkit", 1, {NULL, np_malloc, np_calloc, np_realloc, np_free},
};

int pk_alloc_hook_numpy(PyObject *api_capsule)
{
    void **api;
    PyObject *current, *old;
    PkNpyHandler *prev;

    if (np_set_handler == NULL) {
        api = PyCapsule_GetPointer(api_capsule, NULL);
        if (api == NULL)
            return -1;
        np_set_handler = (PyObject * (*)(PyObject *)) api[NPY_SET_HANDLER];
        np_get_handler = (PyObject * (*)(void)) api[NPY_GET_HANDLER];
    }
    current = np_get_handler();
    if (current == NULL)
        return -1;
    if (np_ours_capsule != NULL && current == np_ours_capsule) {
        Py_DECREF(current);
        return 0; /* already ours in this context */
    }
    prev = PyCapsule_GetPointer(current, "mem_handler");
    if (prev == NULL || prev->version != 1) {
        Py_DECREF(current);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "unknown numpy memory handler version");
        return -1;
    }
    if (np_prev_capsule == NULL) {
        np_prev = prev->allocator;
        np_prev_capsule = current; /* kept for good */
    } else if (current != np_prev_capsule) {
        /* Someone else's handler now: chain to it from here on. Blocks of
         * ours made under the old one are freed through the new one, which
         * is what numpy itself would do for a handler change. */
        Py_DECREF(current);
        PyErr_SetString(PyExc_RuntimeError, "numpy's memory handler was replaced by another tool");
        return -1;
    } else {
        Py_DECREF(current);
    }
    if (np_ours_capsule == NULL) {
        np_ours_capsule = PyCapsule_New(&np_handler, "mem_handler", NULL);
        if (np_ours_capsule == NULL)
            return -1;
    }
    old = np_set_handler(np_ours_capsule);
    if (old == NULL)
        return -1;
    Py_DECREF(old);
    return 0;
}

/* Puts numpy's previous handler back if ours is current.  A teardown step
 * (pk_alloc_stop): the exception in flight, if any, is kept, and a failure
 * here leaves ours in place, passing every call through. */
static void unhook_numpy(void)
{
    PyObject *current, *old;
    PkSavedError saved;

    if (np_get_handler == NULL || np_ours_capsule == NULL)
        return;
    pk_error_save(&saved);
    current = np_get_handler();
    if (current == NULL) {
        PyErr_Clear();
    }
    else {
        if (current == np_ours_capsule) {
            old = np_set_handler(np_prev_capsule);
            if (old == NULL)
                PyErr_Clear();
            Py_XDECREF(old);
        }
        Py_DECREF(current);
    }
    pk_error_restore(&saved);
}

/* ---- fork -------------------------------------------------------------- */

/* A fork while another thread holds table_mu would leave the child's copy
 * locked for good: hold it across fork() so the child gets a consistent
 * table and an unlocked mutex. */
static void before_fork(void)
{
    pthread_mutex_lock(&table_mu);
}

static void after_fork(void)
{
    pthread_mutex_unlock(&table_mu);
}

/* ---- install / remove -------------------------------------------------- */

static int is_ours(PyMemAllocatorDomain domain, Domain *d)
{
    PyMemAllocatorEx now;
    PyMem_GetAllocator(domain, &now);
    return now.malloc == h_malloc && now.ctx == d;
}

int pk_alloc_start(int lv)
{
    int n_domains = lv == PK_TRACK_BYTES ? 3 : 1;
    if (lv != PK_TRACK_EVENTS && lv != PK_TRACK_BYTES) {
        PyErr_SetString(PyExc_ValueError, "bad allocation tracking level");
        return -1;
    }
    if (level != PK_TRACK_OFF) {
        PyErr_SetString(PyExc_RuntimeError, "allocation tracking is already on");
        return -1;
    }
    {
        static int atfork_done;
        if (!atfork_done && pthread_atfork(before_fork, after_fork, after_fork) == 0)
            atfork_done = 1;
    }
    table_clear();
    if (shadow_top == NULL && (shadow_top = calloc(TOP_MIDS, sizeof *shadow_top)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < n_domains; i++) {
        Domain *d = &domains[i];
        if (!d->installed) {
            PyMemAllocatorEx ours = {d, h_malloc, h_calloc, h_realloc, h_free};
            PyMem_GetAllocator(d->domain, &d->prev);
            PyMem_SetAllocator(d->domain, &ours);
            d->installed = 1;
        }
    }
    if (!arena_installed) {
        PyObjectArenaAllocator ours = {NULL, h_arena_alloc, h_arena_free};
        PyObject_GetArenaAllocator(&prev_arena);
        PyObject_SetArenaAllocator(&ours);
        arena_installed = 1;
    }
    memset(&tls_counters, 0, sizeof tls_counters);
    __atomic_store_n(&level, lv, __ATOMIC_RELEASE);
    return 0;
}

void pk_alloc_stop(void)
{
    if (level == PK_TRACK_OFF)
        return;
    __atomic_store_n(&level, PK_TRACK_OFF, __ATOMIC_SEQ_CST);
    unhook_numpy();
    /* Put the previous allocators back where ours is still the current one;
     * under someone else's hook ours stays, passing every call through. */
    for (int i = 2; i >= 0; i--) {
        Domain *d = &domains[i];
        if (d->installed && is_ours(d->domain, d)) {
            PyMem_SetAllocator(d->domain, &d->prev);
            d->installed = 0;
        }
    }
    if (arena_installed) {
        PyObjectArenaAllocator now;
        PyObject_GetArenaAllocator(&now);
        if (now.alloc == h_arena_alloc) {
            PyObject_SetArenaAllocator(&prev_arena);
            arena_installed = 0;
        }
    }
    /* hooks running without the GIL may still be counting: let them finish */
    while (__atomic_load_n(&unlocked_inflight, __ATOMIC_SEQ_CST) != 0)
        sched_yield();
    table_clear();
}

int pk_alloc_level(void)
{
    return level;
}

PkAllocCounters *pk_alloc_counters(void)
{
    return &tls_counters;
}

void pk_alloc_mark(void)
{
    tls_counters.high = tls_counters.live;
}

uint64_t pk_alloc_events(void)
{
    return __atomic_load_n(&events, __ATOMIC_RELAXED);
}

size_t pk_alloc_own_bytes(void)
{
    /* read racily: a hint for the RSS figures, off by a page at most */
    Slot *cur = __atomic_load_n(&slots, __ATOMIC_RELAXED);
    size_t shadow = __atomic_load_n(&shadow_bytes, __ATOMIC_RELAXED);
    /* the top level is mostly untouched zero pages: not counted */
    return shadow + (cur != NULL ? (slot_mask + 1) * sizeof(Slot) : 0);
}

size_t pk_alloc_tracked_blocks(void)
{
    return __atomic_load_n(&n_blocks, __ATOMIC_RELAXED);
}
