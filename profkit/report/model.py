"""The neutral model of a profile: what every output reads.

Each profiler turns its results into one of these tables, each reader in
``formats/`` gives one back, and each module of ``report/`` writes one in its
own format.  So a table shows the same whether it was just measured or read
from a file, and a new output needs only to read these classes.

* ``FunctionTable``: per function, the numbers pstats keeps, with callers.
* ``LineTable``: per function, per line, hits and time.
* ``MemoryTable``: per function, per line, memory as memory_profiler counts it.
* ``CallTree``: per thread, each path of calls with its own numbers (the
  flame graph, speedscope, collapsed stacks and callgrind read it);
  ``tree_from_stats`` guesses one from a pstats table's caller edges.

Nothing here imports the engine, another part of profkit, or anything slow.
"""

__all__ = ["FunctionTable", "LineTable", "MemoryTable", "FunctionMemory", "CallNode", "CallTree",
           "ThreadTree", "tree_from_stats", "func_label"]


class FunctionTable:
    """Per function, what cProfile measures: ``stats`` is a pstats dict,
    ``{(filename, lineno, funcname): (primitive calls, total calls, tottime,
    cumtime, {caller key: (total calls, primitive calls, tottime, cumtime)})}``
    with builtins keyed ``("~", 0, "<built-in method ...>")`` (see
    formats/pstats_io.py).  ``path`` and ``mtime``: the file it was read
    from, and when that file was written, if it was read from one.
    ``tree``: the CallTree measured with it, or None."""

    def __init__(self, stats, path=None, mtime=None, tree=None):
        self.stats = stats
        self.path = path
        self.mtime = mtime
        self.tree = tree

    def call_tree(self):
        """The measured tree, or one guessed from the caller edges (its
        ``exact`` is then False)."""
        return self.tree if self.tree is not None else tree_from_stats(self.stats)


class LineTable:
    """Per function, per line: ``timings`` is ``{(filename, first_lineno,
    name): [(lineno, hits, time), ...]}`` with lines in order and ``time`` in
    units of ``unit`` seconds; ``name`` is the qualified name on 3.11+.  The
    attributes are line_profiler's ``LineStats``'."""

    def __init__(self, timings, unit):
        self.timings = timings
        self.unit = unit

    def __repr__(self):
        return f"{type(self).__name__}({self.timings!r}, {self.unit:.2G})"

    def __eq__(self, other):
        return (isinstance(other, LineTable) and self.unit == other.unit
                and self.timings == other.timings)

    def total_time(self, key):
        """Seconds spent in the function ``key``."""
        return sum(t for _, _, t in self.timings.get(key, ())) * self.unit


class FunctionMemory:
    """The per-line figures of one function, in bytes: ``lines`` maps a line
    number to ``[occurrences, increment, mem usage, allocated, net, peak]``.
    ``caller`` is ``[name, file, line]`` of the call that first reached it,
    or None; ``precision`` and ``stream`` are the report options the
    function was marked with (memory_profiler's ``profile(stream=,
    precision=)``), or None."""

    def __init__(self, filename, first_line, name, last, lines, caller=None, precision=None,
                 stream=None):
        self.filename = filename
        self.first_line = first_line
        self.name = name
        self.last = last
        self.lines = lines
        self.caller = caller
        self.precision = precision
        self.stream = stream

    @property
    def calls(self):
        row = self.lines.get(self.first_line)
        return row[0] if row else 0

    def total(self, column):
        return sum(row[column] for row in self.lines.values())


class MemoryTable:
    """What a line-by-line memory profile measured: ``functions``
    (FunctionMemory, in the order they were registered) and the ``backend``
    that measured them: ``"rss"`` (memory_profiler's columns), ``"alloc"``
    (bytes from the allocation hooks) or ``"both"``."""

    def __init__(self, functions, backend):
        self.functions = functions
        self.backend = backend


# ---- the call tree -------------------------------------------------------------------


def func_label(func):
    """How a function reads in a report: ``name (file:line)``, or a
    builtin's label (``<built-in method builtins.len>``) alone."""
    filename, line, name = func
    if filename == "~" and line == 0:
        return name
    return f"{name} ({filename}:{line})"


class CallNode:
    """One path of calls: the calls of ``func`` (a pstats key; None for a
    thread's root) made from the path of its parent.  ``calls`` and
    ``reccalls`` (calls made while this node was already open: only at a
    folded node), ``inline`` and ``total`` seconds with cProfile's
    arithmetic; ``children`` in the order of their first call.  ``folded``:
    the node gathers the calls of ``func`` deeper than the tree's cap (see
    CallTree)."""

    __slots__ = ("func", "calls", "reccalls", "inline", "total", "children", "folded")

    def __init__(self, func, calls=0, reccalls=0, inline=0.0, total=0.0, folded=False):
        self.func = func
        self.calls = calls
        self.reccalls = reccalls
        self.inline = inline
        self.total = total
        self.children = []
        self.folded = folded

    def __repr__(self):
        return (f"CallNode({self.func!r}, calls={self.calls}, inline={self.inline!r}, "
                f"total={self.total!r}, children={len(self.children)})")

    def walk(self, path=()):
        """(path, node) for this node and each one below, depth first, in
        order; ``path`` holds the nodes above, from the root."""
        stack = [(self, path)]
        while stack:
            node, above = stack.pop()
            yield above, node
            below = above + (node,)
            stack.extend((c, below) for c in reversed(node.children))

    def merge(self, other):
        """Add ``other`` (a node of the same function) and its subtree into
        this node."""
        self.calls += other.calls
        self.reccalls += other.reccalls
        self.inline += other.inline
        self.total += other.total
        self.folded = self.folded or other.folded
        mine = {c.func: c for c in self.children}
        for child in other.children:
            if child.func in mine:
                mine[child.func].merge(child)
            else:
                copy = CallNode(child.func, folded=child.folded)
                copy.merge(child)
                self.children.append(copy)
                mine[child.func] = copy


class ThreadTree:
    """One thread's tree: ``ident`` (threading.get_ident()), a ``name`` for
    the report, and its ``root`` (a CallNode of func None whose children are
    the thread's outermost calls, and whose ``total`` is theirs summed)."""

    def __init__(self, ident, name, root):
        self.ident = ident
        self.name = name
        self.root = root


class CallTree:
    """The call tree of a function profile: one ThreadTree per thread in
    ``threads``.  ``exact``: measured call by call (False when guessed from
    a pstats file's caller edges); ``depth_cap``: calls deeper than this
    many levels were folded into one layer of nodes below that depth (see
    ``folded``), or None."""

    def __init__(self, threads, exact=True, depth_cap=None):
        self.threads = threads
        self.exact = exact
        self.depth_cap = depth_cap

    @property
    def folded(self):
        """True when some calls went deeper than the cap and were folded."""
        return any(node.folded for t in self.threads for _p, node in t.root.walk())

    def merged(self):
        """One root for every thread: their trees added path by path."""
        root = CallNode(None)
        for t in self.threads:
            root.merge(t.root)
        return root

    def function_stats(self):
        """The pstats dict of this tree (see FunctionTable), with cProfile's
        arithmetic: a call counts in a function's cumulative time only when
        no call of it is open above (the same for a caller edge), and is
        primitive under the same rule.  Exact for a measured tree above the
        cap; below it the folded layer loses the callers."""
        stats = {}
        for t in self.threads:
            on_path, pairs = {}, {}  # function or (caller, callee) -> open count
            # (node, its parent's func, entering?): leaving undoes entering.
            stack = [(c, None, True) for c in reversed(t.root.children)]
            while stack:
                node, parent, entering = stack.pop()
                func, pair = node.func, (parent, node.func)
                if not entering:
                    on_path[func] -= 1
                    pairs[pair] -= 1
                    continue
                outer = not on_path.get(func)
                cc, nc, tt, ct, callers = stats.get(func, (0, 0, 0.0, 0.0, {}))
                stats[func] = (cc + (node.calls - node.reccalls if outer else 0), nc + node.calls,
                               tt + node.inline, ct + (node.total if outer else 0.0), callers)
                if parent is not None:
                    edge_outer = not pairs.get(pair)
                    enc, epc, ett, ect = callers.get(parent, (0, 0, 0.0, 0.0))
                    callers[parent] = (enc + node.calls,
                                       epc + (node.calls - node.reccalls if edge_outer else 0),
                                       ett + node.inline, ect + (node.total if edge_outer else 0.0))
                on_path[func] = on_path.get(func, 0) + 1
                pairs[pair] = pairs.get(pair, 0) + 1
                stack.append((node, parent, False))
                stack.extend((c, func, True) for c in reversed(node.children))
        return stats


def tree_from_stats(stats, max_depth=64, min_fraction=1e-4, max_nodes=100_000):
    """A CallTree guessed from a pstats dict's caller edges (as snakeviz and
    flameprof draw one): from each function nobody calls, each callee takes
    the share of its caller's time that the edge's cumulative time gives it.
    A function already on the path is not entered again, and subtrees under
    ``min_fraction`` of the whole are left out.  ``exact`` is False.

    The parts under a node never add up to more than its total: a file
    whose edges claim more time than their caller had (damaged or crafted;
    a consistent file never does) has them scaled down, so totals shrink
    down the tree and at most 1 / min_fraction nodes fit in each level.
    Nodes are expanded largest first, and no more than ``max_nodes`` are
    made: the smallest are left out, as those under ``min_fraction`` are."""
    import heapq

    callees = {}
    for func, (_cc, _nc, _tt, _ct, callers) in stats.items():
        for caller, edge in callers.items():
            callees.setdefault(caller, []).append((func, edge))
    claims = {}  # caller -> {callee: the edge's cumulative time, if positive}
    for func, edges in callees.items():
        edges.sort(key=lambda x: -x[1][3])
        claims[func] = {c: e[3] for c, e in edges if e[3] > 0}
    claimed = {f: sum(c.values()) for f, c in claims.items()}
    tops = [f for f, v in stats.items() if not v[4]]
    root = CallNode(None)
    whole = sum(max(stats[f][3], 0.0) for f in tops) or 1.0
    floor = whole * min_fraction
    heap, made = [], 0  # (-total, order made, node, path): the largest is expanded first

    def make(parent, func, calls, total, path):
        nonlocal made
        ct, tt = stats[func][3], stats[func][2]
        share = total / ct if ct else 0.0
        node = CallNode(func, calls=calls, inline=tt * min(share, 1.0), total=total)
        parent.children.append(node)
        made += 1
        if len(path) < max_depth and func in callees and stats[func][3] > 0:
            heapq.heappush(heap, (-total, made, node, path))

    def expand(node, path):
        func, total, ct = node.func, node.total, stats[node.func][3]
        mine = claims[func]  # what the callees not on the path claim, the shorter way
        given = sum(v for c, v in mine.items() if c not in path) if len(mine) <= len(path) \
            else claimed[func] - sum(mine.get(f, 0.0) for f in path)
        if given <= 0:
            return
        share = total / ct
        # more than the caller had: each takes its share of what is claimed
        scaled = given > ct * (1 + 1e-9) or share == float("inf")
        for callee, (enc, _epc, _ett, ect) in callees[func]:
            part = total * min(ect / given, 1.0) if scaled else ect * share
            if part < floor:
                break  # sorted: the rest are smaller
            if callee not in path:
                if made >= max_nodes:
                    return
                make(node, callee, enc, part, path | {callee})

    for func in sorted(tops, key=lambda f: -stats[f][3])[:max_nodes]:
        make(root, func, stats[func][1], stats[func][3], frozenset({func}))
    while heap and made < max_nodes:
        _total, _n, node, path = heapq.heappop(heap)
        expand(node, path)
    root.total = sum(c.total for c in root.children)
    return CallTree([ThreadTree(None, "all threads", root)], exact=False)
