"""profkit.Profile: a drop-in for cProfile.Profile on profkit's C engine.

The statistics are cProfile's, number for number: ``create_stats()`` builds
the same ``stats`` dict, so ``pstats.Stats(profile)``, ``print_stats`` and
``dump_stats`` behave as they do with cProfile.  Differences, all opt-out:

* every thread is profiled, each with its own call stack
  (``all_threads=False`` restores cProfile's one-thread behaviour);
* the default clock is the CPU's invariant TSC where there is one.

With ``tree=True`` the engine also keeps the exact call tree, per thread
(``get_tree()``), which the flame graph and the speedscope, collapsed and
callgrind files are written from.
"""
import sys
from collections import namedtuple

from profkit import _engine
from profkit.formats import pstats_io
from profkit import runcode
from profkit.runcode import RunsCode

__all__ = ["Profile", "run", "runctx", "profile_script", "profiler_entry", "profiler_subentry"]


# One callee of a profiler_entry, as in ``_lsprof.profiler_subentry``.
profiler_subentry = namedtuple("profiler_subentry", "code callcount reccallcount totaltime inlinetime")

# One function, as in ``_lsprof.profiler_entry``: ``code`` is the code object,
# or a label string such as ``"<built-in method builtins.len>"``; ``calls`` is
# a list of profiler_subentry or None.
profiler_entry = namedtuple("profiler_entry", "code callcount reccallcount totaltime inlinetime calls")


def label(code):
    """The pstats key of a code object or builtin label."""
    if isinstance(code, str):
        return ("~", 0, code)
    return (code.co_filename, code.co_firstlineno, code.co_name)


class Profile(RunsCode, _engine.Profiler):
    """Profile(timer=None, timeunit=0.0, subcalls=True, builtins=True, *, all_threads=True,
    tree=False, tree_depth=256)

    ``timer`` is an optional callable returning the time; its value is read
    as seconds, or as integer ticks of ``timeunit`` seconds when a unit is
    given.  ``subcalls`` records caller/callee pairs, ``builtins`` profiles C
    functions.  ``all_threads=False`` profiles only the thread that calls
    ``enable()``.  ``tree`` keeps the call tree (``get_tree()``); calls
    deeper than ``tree_depth`` levels are folded into one layer below it.
    """

    _on, _off = _engine.Profiler.enable, _engine.Profiler.disable

    def __init__(self, timer=None, timeunit=0.0, subcalls=True, builtins=True, *, all_threads=True,
                 tree=False, tree_depth=256):
        super().__init__(timer, timeunit, subcalls, builtins, all_threads, tree=tree,
                         tree_depth=tree_depth)
        # Source files whose functions are left out of the stats: the `with` block's __exit__ (and the CLI's runner) are profkit's
        # own frames, not the program's: left out of the stats.
        self._hidden_files = frozenset({runcode.__file__})

    # -- raw data ---------------------------------------------------------
    def getstats(self):
        """List of profiler_entry, like ``cProfile.Profile.getstats()``."""
        out = []
        for code, cc, rc, tt, it, calls in self._rawstats():
            if calls is not None:
                calls = [profiler_subentry(*c) for c in calls]
            out.append(profiler_entry(code, cc, rc, tt, it, calls))
        return out

    def create_stats(self):
        """Stop profiling and build ``self.stats`` (the pstats dict)."""
        self.disable()
        self.snapshot_stats()

    def snapshot_stats(self):
        """Build ``self.stats`` from what has been collected so far."""
        entries = [e for e in self._rawstats() if not self._is_hidden(e[0])]
        self.stats = {}
        callersdicts = {}
        for code, nc, rc, total, inline, _calls in entries:
            func = label(code)
            callers = {}
            callersdicts[id(code)] = callers
            # pstats: (primitive calls, total calls, tottime, cumtime, callers)
            self.stats[func] = (nc - rc, nc, inline, total, callers)
        for code, _nc, _rc, _tt, _it, calls in entries:
            if not calls:
                continue
            func = label(code)
            for sub_code, nc, rc, total, inline in calls:
                callers = callersdicts.get(id(sub_code))
                if callers is None:
                    continue
                cc = nc - rc
                if func in callers:
                    prev = callers[func]
                    nc += prev[0]
                    cc += prev[1]
                    inline += prev[2]
                    total += prev[3]
                # callers: (total calls, primitive calls, tottime, cumtime)
                callers[func] = nc, cc, inline, total

    def _is_hidden(self, code):
        return not isinstance(code, str) and code.co_filename in self._hidden_files

    def get_tree(self):
        """The call tree collected so far, as ``report.model.CallTree``: one
        tree per thread, the main thread first, with the same functions
        left out as in ``stats`` (their calls hang from the node above).
        Raises ValueError when the profile keeps no tree (``tree=False``)."""
        from profkit.report.model import CallNode, CallTree, ThreadTree

        if not self.tree:
            raise ValueError("this profile keeps no call tree: make it with Profile(tree=True)")
        import threading

        names = {t.ident: t.name for t in threading.enumerate()}
        main = threading.main_thread().ident
        threads, cap = [], None
        for ident, cap, raw in reversed(self._rawtree()):
            nodes, depth = [], []
            for parent, code, nc, rc, total, inline in raw:
                if code is None:  # the root
                    nodes.append(CallNode(None))
                    depth.append(0)
                    continue
                depth.append(depth[parent] + 1)
                node = CallNode(label(code), nc, rc, inline, total, folded=depth[-1] > cap)
                nodes.append(node)
                nodes[parent].children.append(node)
                if self._is_hidden(code):
                    node.func = None  # its calls hang from its parent instead
            root = nodes[0]
            _splice_hidden(root)
            root.total = sum(c.total for c in root.children)
            name = "MainThread" if ident == main else names.get(ident) or f"thread {ident}"
            threads.append(ThreadTree(ident, name, root))
        threads.sort(key=lambda t: t.ident != main)
        return CallTree(threads, exact=True, depth_cap=cap)

    # -- reporting --------------------------------------------------------
    def function_table(self):
        """Stop profiling and return the results as the reports' model
        (``report.model.FunctionTable``)."""
        from profkit.report.model import FunctionTable

        self.create_stats()
        return FunctionTable(self.stats, tree=self.get_tree() if self.tree else None)

    def print_stats(self, sort=-1):
        """Print the table ``python -m cProfile`` prints, ordered by ``sort``."""
        from profkit import report
        from profkit.report import model, text

        text.preload(model.FunctionTable)
        report.write(self.function_table(), sort=sort)

    def dump_stats(self, file):
        """Write a pstats file (atomically) that pstats.Stats, snakeviz and
        gprof2dot read."""
        self.create_stats()
        pstats_io.dump(self.stats, file)


def _splice_hidden(node):
    """Replace each child of ``node`` whose func is None (a hidden function)
    by its own children, merged with their namesakes, all the way down."""
    kids, spliced = [], False
    for child in node.children:
        _splice_hidden(child)
        spliced = spliced or child.func is None
        kids.extend(child.children if child.func is None else [child])
    if spliced:
        merged = {}
        for k in kids:
            if k.func in merged:
                merged[k.func].merge(k)
            else:
                merged[k.func] = k
        kids = list(merged.values())
    node.children = kids


def _run_and_report(prof, statement, filename, sort, globals, locals):
    try:
        prof.runctx(statement, globals, locals)
    except SystemExit:
        pass
    finally:
        if filename is not None:
            prof.dump_stats(filename)
        else:
            prof.print_stats(sort)


def run(statement, filename=None, sort=-1):
    """Like ``cProfile.run``: profile ``exec(statement)`` in ``__main__``, then
    print the table, or save it to ``filename``."""
    import __main__

    d = __main__.__dict__
    return _run_and_report(Profile(), statement, filename, sort, d, d)


def runctx(statement, globals, locals, filename=None, sort=-1):
    """Like ``cProfile.runctx``: profile ``exec(statement, globals, locals)``."""
    return _run_and_report(Profile(), statement, filename, sort, globals, locals)


def profile_script(target, builtins=True, all_threads=True, tree=False, tree_depth=256):
    """``profkit func``: run ``target`` (see runner) under a Profile whose
    report leaves the runner's frames out; returns (profile, outcome)."""
    from profkit import marking, runner

    prof = Profile(builtins=builtins, all_threads=all_threads, tree=tree, tree_depth=tree_depth)
    prof._hidden_files |= {runner.__file__}
    # Scripts marked up for kernprof (a bare @profile) run here too.
    with marking.builtin_profile(marking.passthrough):
        outcome = runner.run_target(target, prof.enable, prof.disable, prof._pause_thread)
    return prof, outcome


if sys.version_info < (3, 11):
    DEFAULT_SORT = -1  # what python -m cProfile uses on 3.9 and 3.10
else:
    DEFAULT_SORT = 2
