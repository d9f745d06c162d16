"""The exact call tree (Profile(tree=True), get_tree()): its totals are the
flat profile's, exactly, on a fake clock; its shape is the program's.

On 3.12+ each test runs with both backends (PROFKIT_BACKEND=legacy forces
PyEval_SetProfile); the fake clock (one tick per read) takes the general
path of the tracer, and the engine clock its fast paths."""
import gc
import itertools
import sys
import threading

import pytest

import mixed
import profkit
from calls import leaf, middle, top
from profkit.report.model import CallNode, CallTree, ThreadTree, tree_from_stats

BACKENDS = ["default"] + (["legacy"] if sys.version_info >= (3, 12) else [])


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    if request.param == "legacy":
        monkeypatch.setenv("PROFKIT_BACKEND", "legacy")
    else:
        monkeypatch.delenv("PROFKIT_BACKEND", raising=False)
    return request.param


def fake_profile(func, **kw):
    ticks = itertools.count()
    prof = profkit.Profile(lambda: next(ticks), 1.0, **kw)
    prof.enable()
    func()
    prof.disable()
    prof.create_stats()
    return prof


def per_function(tree):
    """func -> [calls, inline] summed over every node of every thread."""
    sums = {}
    for t in tree.threads:
        for _path, node in t.root.walk():
            if node.func is not None:
                s = sums.setdefault(node.func, [0, 0.0])
                s[0] += node.calls
                s[1] += node.inline
    return sums


def names(node):
    return [c.func[2] for c in node.children]


def child(node, name):
    found = [c for c in node.children if c.func[2] == name]
    assert len(found) == 1, names(node)
    return found[0]


# ---- the totals are the flat profile's --------------------------------------------


@pytest.mark.parametrize("builtins", [True, False])
def test_tree_sums_equal_flat_profile_exactly_on_fake_clock(builtins, backend):
    prof = fake_profile(mixed.main, builtins=builtins, tree=True)
    sums = per_function(prof.get_tree())
    flat = {k: [v[1], v[2]] for k, v in prof.stats.items()}
    assert sums == flat
    assert len(flat) >= (20 if builtins else 15)


@pytest.mark.parametrize("builtins", [True, False])
def test_tree_gives_back_the_whole_pstats_dict(builtins, backend):
    # cumulative times, primitive calls and caller edges too, with
    # cProfile's rule for recursion applied along each path
    prof = fake_profile(mixed.main, builtins=builtins, tree=True)
    assert prof.get_tree().function_stats() == prof.stats


def test_flat_stats_do_not_change_with_the_tree(backend):
    with_tree = fake_profile(mixed.main, tree=True).stats
    without = fake_profile(mixed.main).stats
    assert with_tree == without


def test_fast_path_counts_are_exact_and_times_agree(backend):
    # the engine clock: the tracer's fast paths keep the tree
    prof = profkit.Profile(tree=True)
    with prof:
        mixed.main()
        mixed.fib(15)
    prof.create_stats()
    sums = per_function(prof.get_tree())
    assert {k: v[0] for k, v in sums.items()} == {k: v[1] for k, v in prof.stats.items()}
    for k, v in prof.stats.items():
        assert sums[k][1] == pytest.approx(v[2], rel=1e-9, abs=1e-12)
    assert prof.get_tree().function_stats().keys() == prof.stats.keys()


# ---- the shape ------------------------------------------------------------------


def test_paths_calls_and_order(backend):
    prof = fake_profile(top, builtins=False, tree=True)
    tree = prof.get_tree()
    assert [t.name for t in tree.threads] == ["MainThread"]
    root = tree.threads[0].root
    assert names(root) == ["top"]
    t = child(root, "top")
    assert (t.calls, names(t)) == (1, ["middle", "leaf"])
    assert child(t, "middle").calls == 2
    assert child(child(t, "middle"), "leaf").calls == 4
    assert child(t, "leaf").calls == 1
    # each node's total is its inline time and its children's totals
    for _p, node in root.walk():
        if node.func is not None:
            assert node.total == node.inline + sum(c.total for c in node.children)
    assert root.total == t.total
    assert tree.exact and not tree.folded and tree.depth_cap == 256


def test_the_profilers_own_frames_are_left_out():
    prof = profkit.Profile(builtins=False, tree=True)
    with prof:
        top()
    files = {n.func[0] for _p, n in prof.get_tree().threads[0].root.walk() if n.func}
    assert files == {top.__code__.co_filename}


def test_recursion_makes_deeper_nodes(backend):
    prof = fake_profile(lambda: mixed.fib(6), builtins=False, tree=True)
    root = prof.get_tree().threads[0].root
    (lam,) = root.children
    chain, node = [], child(lam, "fib")
    while node is not None:
        chain.append(node.calls)
        node = node.children[0] if node.children else None
    # fib(6) calls fib at depth d this many times
    assert chain == [1, 2, 4, 8, 8, 2]
    fib = prof.stats[(mixed.__file__, mixed.fib.__code__.co_firstlineno, "fib")]
    assert fib[:2] == (1, 25) and sum(chain) == 25


def test_depth_cap_folds_deeper_calls_and_keeps_the_sums(backend):
    prof = fake_profile(lambda: mixed.fib(8), builtins=False, tree=True, tree_depth=3)
    tree = prof.get_tree()
    assert tree.folded and tree.depth_cap == 3
    depth = {}
    for path, node in tree.threads[0].root.walk():
        depth[id(node)] = len(path)
        assert node.folded == (len(path) > 3)
        if node.folded:
            assert node.children == []
    folded = [n for _p, n in tree.threads[0].root.walk() if n.folded]
    assert len(folded) == 1 and folded[0].func[2] == "fib"
    assert folded[0].reccalls > 0  # recursion below the cap is counted by its level
    assert per_function(tree) == {k: [v[1], v[2]] for k, v in prof.stats.items()}
    fib = (mixed.__file__, mixed.fib.__code__.co_firstlineno, "fib")
    got = tree.function_stats()[fib]
    assert got[:4] == prof.stats[fib][:4]


def test_folded_calls_from_other_functions_join_the_same_layer(backend):
    prof = fake_profile(lambda: mixed.is_even(12), builtins=False, tree=True, tree_depth=4)
    root = prof.get_tree().threads[0].root
    node, depth = root, 0
    while node.children and not node.children[0].folded:
        node, depth = node.children[0], depth + 1
    assert depth == 4
    assert sorted(names(node)) == ["is_even", "is_odd"]
    assert sum(c.calls for c in node.children) == 13 - 3  # 13 calls, 3 above the cap


def test_tree_depth_is_checked():
    with pytest.raises(ValueError, match="tree_depth must be between 1 and 100000"):
        profkit.Profile(tree=True, tree_depth=0)


def test_get_tree_needs_the_tree():
    prof = profkit.Profile()
    prof.runcall(leaf)
    assert prof.tree is False
    with pytest.raises(ValueError, match=r"keeps no call tree: make it with Profile\(tree=True\)"):
        prof.get_tree()
    prof.create_stats()
    assert prof.function_table().tree is None


# ---- sessions, clear, threads -----------------------------------------------------


def test_sessions_add_to_one_tree_and_clear_drops_it(backend):
    prof = profkit.Profile(builtins=False, tree=True)
    for _ in range(3):
        prof.runcall(middle)
    (t,) = prof.get_tree().threads
    assert [(n.func[2], n.calls) for _p, n in t.root.walk() if n.func] == [("middle", 3), ("leaf", 6)]
    prof.clear()
    assert prof.get_tree().threads == []
    prof.runcall(leaf)
    (t,) = prof.get_tree().threads
    assert [(n.func[2], n.calls) for _p, n in t.root.walk() if n.func] == [("leaf", 1)]


def test_clear_while_enabled_starts_a_new_tree(backend):
    prof = profkit.Profile(builtins=False, tree=True)

    def work():
        middle()
        prof.clear()
        leaf()

    prof.runcall(work)
    (t,) = prof.get_tree().threads
    assert [(n.func[2], n.calls) for _p, n in t.root.walk() if n.func] == [("leaf", 1)]


def test_each_thread_has_its_tree_and_they_merge(backend):
    def worker():
        for _ in range(5):
            middle()

    prof = profkit.Profile(builtins=False, tree=True)
    prof.enable()
    threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    top()
    prof.disable()
    prof.create_stats()
    tree = prof.get_tree()
    assert tree.threads[0].name == "MainThread"
    assert len(tree.threads) == 4
    for t in tree.threads[1:]:
        found = [n for _p, n in t.root.walk() if n.func and n.func[2] == "middle"]
        assert [n.calls for n in found] == [5]
    merged = tree.merged()
    middles = [n for _p, n in merged.walk() if n.func and n.func[2] == "middle"]
    assert sorted(n.calls for n in middles) == [2, 15]
    sums = per_function(tree)
    assert {k: v[0] for k, v in sums.items()} == {k: v[1] for k, v in prof.stats.items()}


def test_open_calls_are_completed_on_disable_in_the_tree():
    prof = profkit.Profile(lambda: 0.0, tree=True)

    def outer():
        prof.disable()

    prof.enable()
    outer()
    root = prof.get_tree().threads[0].root
    assert [(n.func[2], n.calls) for _p, n in root.walk() if n.func] == [("outer", 1)]


def test_no_code_object_leaks_through_the_tree():
    def run():
        prof = profkit.Profile(tree=True)
        prof.runcall(mixed.main)
        prof.get_tree()

    code = mixed.fib.__code__
    run()
    gc.collect()
    before = sys.getrefcount(code)
    for _ in range(5):
        run()
    gc.collect()
    after = sys.getrefcount(code)
    assert after == before


# ---- the model on its own ----------------------------------------------------------


def test_tree_from_stats_is_marked_inexact_and_follows_caller_edges():
    prof = fake_profile(top, builtins=False)
    tree = tree_from_stats(prof.stats)
    assert not tree.exact
    root = tree.threads[0].root
    assert names(root) == ["top"]
    assert sorted(names(root.children[0])) == ["leaf", "middle"]
    t = root.children[0]
    assert t.total == prof.stats[t.func][3]
    m = child(t, "middle")
    assert (m.calls, m.total) == (2, prof.stats[m.func][4][t.func][3])
    assert names(m) == ["leaf"]


def test_merge_adds_path_by_path():
    a = CallNode(None)
    x = CallNode(("f", 1, "x"), calls=1, inline=1.0, total=3.0)
    x.children.append(CallNode(("f", 2, "y"), calls=2, inline=2.0, total=2.0))
    a.children.append(x)
    b = CallNode(None)
    x2 = CallNode(("f", 1, "x"), calls=1, inline=0.5, total=0.5)
    b.children.append(x2)
    root = CallTree([ThreadTree(1, "a", a), ThreadTree(2, "b", b)]).merged()
    (m,) = root.children
    assert (m.calls, m.inline, m.total) == (2, 1.5, 3.5)
    assert [(c.func, c.calls) for c in m.children] == [(("f", 2, "y"), 2)]
    assert len(x.children) == 1  # the inputs are left as they were
