"""The call tree guessed from a pstats file's caller edges (report.model.
tree_from_stats), which the HTML report, speedscope, collapsed stacks and
callgrind draw for a pstats file: the same tree as always for a consistent
file, and a bounded one, made fast, for any file at all."""
import marshal

import fuzzing

from profkit.formats import html as html_file
from profkit.report.model import tree_from_stats

MAIN, A, B, C = (("app.py", 1, "main"), ("app.py", 5, "a"), ("app.py", 9, "b"),
                 ("app.py", 13, "c"))


def paths(tree):
    """(names on the path, calls, inline, total) for each node, depth first."""
    return [(tuple(n.func[2] for n in above[1:]) + (node.func[2],), node.calls, node.inline,
             node.total) for above, node in tree.threads[0].root.walk() if node.func]


def test_a_consistent_file_gives_each_callee_its_edges_share():
    # main (1 s) calls a (0.6 s) and b (0.4 s); both call c: 0.3 s from a, 0.1 s from b
    stats = {MAIN: (1, 1, 0.0, 1.0, {}),
             A: (1, 1, 0.3, 0.6, {MAIN: (1, 1, 0.3, 0.6)}),
             B: (1, 1, 0.3, 0.4, {MAIN: (1, 1, 0.3, 0.4)}),
             C: (2, 2, 0.4, 0.4, {A: (1, 1, 0.3, 0.3), B: (1, 1, 0.1, 0.1)})}
    tree = tree_from_stats(stats)
    assert tree.exact is False
    assert paths(tree) == [(("main",), 1, 0.0, 1.0), (("main", "a"), 1, 0.3, 0.6),
                           (("main", "a", "c"), 1, 0.3, 0.3), (("main", "b"), 1, 0.3, 0.4),
                           (("main", "b", "c"), 1, 0.1, 0.1)]


def test_callees_never_take_more_than_their_caller_had():
    # a -> x -> a -> y, as cProfile counts it: the edge a -> y (0.9 s, made by the inner a)
    # and the edge a -> x (1.0 s) both lie inside the outer a's 1.0 s
    x, y = ("app.py", 20, "x"), ("app.py", 30, "y")
    stats = {MAIN: (1, 1, 0.0, 1.0, {}),
             A: (1, 2, 0.1, 1.0, {MAIN: (1, 1, 0.0, 1.0), x: (1, 1, 0.05, 0.9)}),
             x: (1, 1, 0.0, 1.0, {A: (1, 1, 0.0, 1.0)}), y: (1, 1, 0.9, 0.9, {A: (1, 1, 0.9, 0.9)})}
    got = {p: total for p, _calls, _inline, total in paths(tree_from_stats(stats))}
    # before, a's callees took 1.0 + 0.9 s of its 1.0 s: scaled to 1.0 / 1.9 and 0.9 / 1.9
    assert got[("main", "a")] == 1.0
    assert got[("main", "a", "x")] == 1.0 / 1.9 and got[("main", "a", "y")] == 0.9 / 1.9


def dense(n, claim):
    """n functions called by main and by one another, each edge claiming
    ``claim`` times its callee's whole time."""
    funcs = [("d.py", k, f"d{k}") for k in range(n)]
    stats = {MAIN: (1, 1, 0.0, 1.0, {})}
    for f in funcs:
        stats[f] = (1, 1, 0.5, 1.0, {g: (1, 1, 0.5, claim) for g in funcs + [MAIN] if g != f})
    return stats


def test_a_dense_graph_of_inflated_edges_is_drawn_in_a_moment(tmp_path):
    # Every path of 12 functions (12! of them) used to be grown to depth 64: `show -o x.html`
    # never ended.  Now each level shares what its parent had: 12 nodes of 1/12, 132 of 1/132,
    # 1320 of 1/1320, and the next level is under min_fraction (1e-4) of the whole.
    with open(tmp_path / "x.prof", "wb") as f:
        f.write(marshal.dumps(dense(12, 5.0)))
    code, out, err, tb = fuzzing.run_main(["show", str(tmp_path / "x.prof"), "-o",
                                           str(tmp_path / "x.html")], limit=10.0)
    assert (code, tb, out) == (0, None, "")
    nodes = html_file.load(str(tmp_path / "x.html"))["threads"][0]
    depth = {0: 0}
    for i, parent in enumerate(nodes["parent"][1:], 1):
        depth[i] = depth[parent] + 1
    sizes = [sum(1 for d in depth.values() if d == level) for level in range(1, 6)]
    assert sizes == [1, 12, 132, 1320, 0]
    children = {}
    for i, parent in enumerate(nodes["parent"]):
        children.setdefault(parent, []).append(nodes["total"][i])
    for i, total in enumerate(nodes["total"]):
        assert sum(children.get(i, [])) <= total * (1 + 1e-9)


def test_at_most_max_nodes_are_made_the_largest_first():
    tree = tree_from_stats(dense(12, 5.0), max_nodes=50)
    got = paths(tree)
    assert len(got) == 50
    # main, its 12 callees (1/12 each), then 37 of the 1/132 nodes below the first callees
    assert [len(p) for p, *_ in got].count(2) == 12 and [len(p) for p, *_ in got].count(3) == 37
    assert {total for p, _c, _i, total in got if len(p) == 3} == {(1.0 / 12) * (1.0 / 11)}
