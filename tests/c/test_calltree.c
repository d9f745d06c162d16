/* Plain C tests of the call tree (calltree.c), built and run by
 * tests/test_c_units.py with AddressSanitizer and UBSan, in a debug build
 * (PK_DEBUG: four nodes per chunk, so indexing crosses chunks at once).
 * Exit status 0 means every check passed; a failed check prints its line. */
#include <stdio.h>
#include <stdlib.h>

#include "../../src/calltree.h"
#include "check.h"

static int fa, fb, fc; /* functions: only their addresses matter */

static void test_paths_and_cache(void)
{
    PkTree *t = pk_tree_new(7, 10);
    PkNode *root, *a, *ab, *ab2, *ac, *b;

    CHECK(t != NULL && t->n_nodes == 1 && t->ident == 7);
    root = pk_tree_root(t);
    CHECK(root->fn == NULL && root->parent == NULL && root->depth == 0 && root->index == 0);
    a = pk_tree_enter(t, root, &fa);
    CHECK(a != NULL && a->parent == root && a->depth == 1 && a->fn == &fa);
    CHECK(root->last == a);
    CHECK(pk_tree_enter(t, root, &fa) == a); /* the cache hit */
    ab = pk_tree_enter(t, a, &fb);
    ac = pk_tree_enter(t, a, &fc);
    CHECK(ab != ac && a->last == ac);
    ab2 = pk_tree_enter(t, a, &fb); /* a miss that finds the node */
    CHECK(ab2 == ab && a->last == ab);
    b = pk_tree_enter(t, root, &fb);
    CHECK(b != ab && b->depth == 1);
    CHECK(t->n_nodes == 5);
    /* indices: each node is where its index says, parents first */
    CHECK(pk_tree_node(t, a->index) == a && pk_tree_node(t, ac->index) == ac);
    CHECK(a->index < ab->index && ab->index < ac->index);
    a->level = 3;
    pk_tree_reset_levels(t);
    CHECK(a->level == 0);
    pk_tree_free(t);
}

static void test_depth_cap_folds(void)
{
    PkTree *t = pk_tree_new(1, 2);
    PkNode *n = pk_tree_root(t), *cap, *f1, *f2, *f3;

    n = pk_tree_enter(t, n, &fa);    /* depth 1 */
    cap = pk_tree_enter(t, n, &fa);  /* depth 2: the cap */
    f1 = pk_tree_enter(t, cap, &fa); /* depth 3: folded */
    CHECK(f1->depth == 3 && f1->parent == cap);
    f2 = pk_tree_enter(t, f1, &fa);  /* deeper: the same folded node */
    CHECK(f2 == f1);
    f3 = pk_tree_enter(t, f1, &fb);  /* another function: a sibling in the layer */
    CHECK(f3 != f1 && f3->parent == cap && f3->depth == 3);
    CHECK(pk_tree_enter(t, f3, &fa) == f1);
    CHECK(f3->last == f1); /* a folded node's cache points into its layer */
    pk_tree_free(t);
}

static void test_many_nodes(void)
{
    /* one parent with many children, and a long chain: chunks, the map's
     * doubling, and the node indices over several chunks */
    static int fns[3000];
    PkTree *t = pk_tree_new(1, 5000);
    PkNode *root = pk_tree_root(t), *n = root;
    size_t i;

    for (i = 0; i < 3000; i++)
        CHECK(pk_tree_enter(t, root, &fns[i]) != NULL);
    for (i = 0; i < 3000; i++) {
        PkNode *c = pk_tree_enter(t, root, &fns[i]);
        CHECK(c->fn == &fns[i] && c->index == i + 1);
    }
    for (i = 0; i < 2000; i++)
        n = pk_tree_enter(t, n, &fa);
    CHECK(n->depth == 2000 && t->n_nodes == 5001);
    for (i = 0; i < t->n_nodes; i++)
        CHECK(pk_tree_node(t, i)->index == i);
    pk_tree_free(t);
    pk_tree_free(NULL);
}

int main(void)
{
    test_paths_and_cache();
    test_depth_cap_folds();
    test_many_nodes();
    return pk_checks_done("calltree");
}
