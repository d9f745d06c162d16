/* calltree.c: per-thread call trees of the function profiler (see
 * calltree.h).  Pure C; callers hold the GIL.  Allocation happens only
 * when a path of calls is seen for the first time (one node, a new chunk
 * every PK_TREE_CHUNK nodes, the map's doubling), never on a cache hit.
 * Must never: move a node (open frames point at them). */
#include "calltree.h"

#include <stdlib.h>
#include <string.h>

PkNode *pk_tree_node(const PkTree *t, size_t i)
{
    PK_ASSERT(i < t->n_nodes);
    return &t->chunks[i / PK_TREE_CHUNK][i % PK_TREE_CHUNK];
}

PkNode *pk_tree_root(PkTree *t)
{
    return pk_tree_node(t, 0);
}

/* A zeroed node at the end of t, numbered; NULL when out of memory. */
static PkNode *new_node(PkTree *t)
{
    size_t i = t->n_nodes;
    PkNode *n;

    if (i > UINT32_MAX)
        return NULL; /* node indices are 32-bit */
    if (i / PK_TREE_CHUNK == t->n_chunks) { /* a new chunk is needed */
        /* The chunk array grows by doubling (by one in debug builds, so
         * an off-by-one shows under ASan); the chunks themselves never
         * move. */
        if (t->n_chunks == t->cap_chunks) {
#ifdef PK_DEBUG
            size_t ncap = t->cap_chunks + 1;
#else
            size_t ncap = t->cap_chunks ? 2 * t->cap_chunks : 8;
#endif
            PkNode **c = realloc(t->chunks, ncap * sizeof *c);
            if (c == NULL)
                return NULL;
            t->chunks = c;
            t->cap_chunks = ncap;
        }
        t->chunks[t->n_chunks] = calloc(PK_TREE_CHUNK, sizeof(PkNode));
        if (t->chunks[t->n_chunks] == NULL)
            return NULL;
        t->n_chunks++;
    }
    t->n_nodes = i + 1;
    n = pk_tree_node(t, i);
    n->index = (uint32_t)i;
    return n;
}

PkTree *pk_tree_new(unsigned long ident, uint32_t max_depth)
{
    PkTree *t = calloc(1, sizeof *t);

    if (t == NULL)
        return NULL;
    t->ident = ident;
    t->max_depth = max_depth ? max_depth : 1;
    if (new_node(t) == NULL) { /* the root: fn, parent and depth all 0 */
        pk_tree_free(t);
        return NULL;
    }
    return t;
}

void pk_tree_free(PkTree *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->n_chunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    pk_map_free(&t->children);
    free(t);
}

PkNode *pk_tree_child(PkTree *t, PkNode *parent, void *fn)
{
    PkNode *from = parent, *c;

    /* A folded node has no children: calls made from it are folded too,
     * into the layer under the node at the cap. */
    if (parent->depth > t->max_depth)
        parent = parent->parent;
    c = pk_map_get(&t->children, (uintptr_t)parent, (uintptr_t)fn);
    if (c == NULL) {
        c = new_node(t);
        if (c == NULL)
            return NULL;
        if (pk_map_put(&t->children, (uintptr_t)parent, (uintptr_t)fn, c) != PK_OK) {
            t->n_nodes--; /* give the node back: nothing points at it yet */
            return NULL;
        }
        c->fn = fn;
        c->parent = parent;
        c->depth = parent->depth + 1;
    }
    from->last = c;
    return c;
}

void pk_tree_reset_levels(PkTree *t)
{
    size_t i;

    for (i = 0; i < t->n_nodes; i++)
        pk_tree_node(t, i)->level = 0;
}
