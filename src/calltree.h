/* calltree.h: the function profiler's call tree, one per thread.
 *
 * A node is one path of calls from the thread's first frame: (parent node,
 * function).  It keeps cProfile's numbers for the calls made along that
 * path: total and inline ticks, calls, recursive calls, and the current
 * level that decides whether a return adds to the total.  Recursion makes
 * deeper nodes, so below the depth cap a node is never on the stack twice
 * and its level only goes 0 -> 1 -> 0.  Calls deeper than the cap are
 * folded: a call whose parent would sit deeper than `max_depth` goes to a
 * child of the node at the cap, keyed by function, so the folded nodes are
 * one flat layer (depth max_depth + 1) where recursion is counted by the
 * level, as cProfile counts it for a function.  Each call still lands on a
 * node of its own function, so a function's inline time and calls summed
 * over its nodes are its flat profile's, exactly.
 *
 * The hot path (pk_tree_enter) does no lookup in the common case: every
 * node caches the child last entered from it (`last`), and the tracer
 * keeps each open frame's node on its stack frame, so a call finds its
 * node with one load and one compare.  A miss looks the (parent, function)
 * pair up in the tree's hash map (pk_tree_child), and a new path allocates
 * a node from the tree's chunks.
 * Nodes never move once made, so frames may hold pointers to them until
 * the tree is freed.
 *
 * Pure C, no Python.h: a node's function `fn` is an opaque pointer (the
 * tracer's PkEntry), owned elsewhere.  Not thread-safe: a tree is written
 * by its own thread's events, all under the GIL, and read under it.
 * Must never: allocate on a cache hit, or move a node. */
#ifndef PROFKIT_CALLTREE_H
#define PROFKIT_CALLTREE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "stats.h" /* PkPtrMap */

typedef struct PkNode PkNode;

struct PkNode {
    void *fn;         /* the function (opaque); NULL for the root */
    PkNode *parent;   /* NULL for the root */
    PkNode *last;     /* where the last call made from here went: a child,
                         or for a folded node a sibling (cache only) */
    int64_t tt;       /* total ticks, counted at level 0 only */
    int64_t it;       /* inline ticks: total minus callees */
    long callcount;
    long reccount;    /* calls made while the node was already open */
    long level;       /* how many calls of this node are open now */
    uint32_t index;   /* position in its tree: a parent comes before its children */
    uint32_t depth;   /* 0 for the root; max_depth + 1 for folded nodes */
};

/* One thread's tree.  Trees of one profiler form a list (`next`); they
 * outlive the thread's stack records, so that several sessions of one
 * thread add to one tree (the tracer finds it again from the thread). */
typedef struct PkTree {
    struct PkTree *next;
    unsigned long ident;  /* the thread's PyThread_get_thread_ident() (reused
                             by the OS once a thread ends: a label, not a key) */
    uint32_t max_depth;   /* the cap: deeper calls are folded */
    size_t n_nodes;       /* nodes made, the root included */
    PkNode **chunks;      /* PK_TREE_CHUNK nodes each */
    size_t n_chunks, cap_chunks;
    PkPtrMap children;    /* (parent node, fn) -> child node */
} PkTree;

/* The depth cap of a profiler that names none (Profile(tree_depth=)). */
#define PK_TREE_DEFAULT_DEPTH 256

/* Nodes per chunk.  Debug builds use tiny chunks, so that a wrong index
 * reads outside an allocation (and ASan says so). */
#ifdef PK_DEBUG
#define PK_TREE_CHUNK 4
#else
#define PK_TREE_CHUNK 1024
#endif

/* A new empty tree (its root, node 0, made) for thread `ident`, capped at
 * `max_depth` levels (at least 1).  Caller frees with pk_tree_free.
 * NULL when out of memory. */
PkTree *pk_tree_new(unsigned long ident, uint32_t max_depth);

/* Frees t and its nodes (NULL is fine). */
void pk_tree_free(PkTree *t);

/* The root of t: borrowed, valid until pk_tree_free. */
PkNode *pk_tree_root(PkTree *t);

/* Node i of t (i < t->n_nodes): borrowed. */
PkNode *pk_tree_node(const PkTree *t, size_t i);

/* The slow path of pk_tree_enter: the node of a call of `fn` made from
 * node `parent` (of tree t), made when the path is new, and cached in
 * parent->last.  A call from a folded node goes to the folded layer (a
 * child of the node at the cap).  NULL only when out of memory. */
PkNode *pk_tree_child(PkTree *t, PkNode *parent, void *fn);

/* The node of a call of `fn` made from `parent`: the hot path.  One load
 * and one compare when the parent's last call went to the same function. */
PK_INLINE PkNode *pk_tree_enter(PkTree *t, PkNode *parent, void *fn)
{
    PkNode *c = parent->last;
    if (PK_LIKELY(c != NULL && c->fn == fn))
        return c;
    return pk_tree_child(t, parent, fn);
}

/* Sets every node's level of t back to 0 (when the profiler stops, every
 * open call has been completed or dropped). */
void pk_tree_reset_levels(PkTree *t);

#endif /* PROFKIT_CALLTREE_H */
