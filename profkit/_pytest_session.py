"""What profkit's pytest plugin (pytest_plugin.py) does once it is asked:
profile the tests of a session (``Session``), and check a test's limits
(``Limits``).  Loaded only then, since it loads the engine."""
import fnmatch
import io
import os
import types

import pytest

from profkit import _engine
from profkit.errors import ProfkitError

__all__ = ["Session", "Limits", "builtin_label", "machinery_files"]

MIB = 1048576.0


def machinery_files():
    """pytest's and pluggy's files that stand between a test and the
    profiler: their functions are left out of the profile, as the runner's
    are under ``profkit func``."""
    import _pytest.compat
    import _pytest.fixtures
    import _pytest.python
    import _pytest.runner
    import _pytest.unittest
    import pluggy

    files = {m.__file__ for m in (_pytest.compat, _pytest.fixtures, _pytest.python, _pytest.runner,
                                  _pytest.unittest)}
    files.add(__file__)
    folder = os.path.dirname(pluggy.__file__)
    files.update(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".py"))
    from profkit import pytest_plugin

    files.add(pytest_plugin.__file__)
    return frozenset(files)


def _fixtures_of(module):
    """A stand-in for ``module`` holding the functions behind its fixtures
    (pytest wraps them in an object the selector does not look into)."""
    standin = types.ModuleType(module.__name__)
    standin.__file__ = getattr(module, "__file__", None)
    for name, value in vars(module).items():
        inner = getattr(value, "__wrapped__", None)
        if isinstance(inner, types.FunctionType) and not isinstance(value, types.FunctionType):
            setattr(standin, name, inner)
    return standin


class Session:
    """``--profkit``, ``--profkit-lines`` or ``--profkit-mem``: one profiler
    for the session, on while each test's fixtures are set up and while
    the test runs (not while fixtures are torn down)."""

    def __init__(self, config, mode, path):
        self.config, self.mode, self.path = config, mode, path
        self.left_out = []  # tests whose call ran without the line profiler
        self.depth = 0  # fixture setups nest (getfixturevalue in a fixture)
        self.selector = None
        self._marking = None
        opt = config.option
        if mode == "func":
            from profkit.funcprof import Profile
            from profkit.report.text import sort_keys

            if opt.profkit_sort not in sort_keys():
                raise pytest.UsageError(f"--profkit-sort: invalid choice: {opt.profkit_sort!r} "
                                        f"(choose from {', '.join(sort_keys())})")
            if opt.profkit_top < 1:
                raise pytest.UsageError("--profkit-top must be positive")
            self.prof = Profile()
            self.prof._hidden_files |= machinery_files()
            self.on, self.off = self.prof.enable, self.prof.disable
            return
        from profkit import marking
        from profkit.selection import Selector

        if mode == "lines":
            from profkit.lineprof import LineProfiler

            self.prof = LineProfiler()
        else:
            from profkit.memprof import LineMemoryProfiler

            self.prof = LineMemoryProfiler(backend=opt.profkit_backend)
        try:
            self.selector = Selector(self.prof, opt.profkit_func, (), False, str(config.rootpath))
        except ProfkitError as exc:
            raise pytest.UsageError(f"--profkit-func: {exc}") from None
        self.on, self.off = self.prof.enable_by_count, self.prof.disable_by_count
        # @profkit.profile in the tests' code registers with this profiler
        self._marking = marking.line_profiler(self.prof)
        self._marking.__enter__()

    # -- the tests ---------------------------------------------------------------
    def pytest_collection_finish(self, session):
        if self.selector is not None:
            self.selector.install()  # the modules collected, and those imported from now on
            for module in {getattr(item, "module", None) for item in session.items} - {None}:
                self.selector.scan_live_module(_fixtures_of(module))

    def _phase(self, item, call=True):
        if call and self.mode != "func" and item.get_closest_marker("limit_memory"):
            self.left_out.append(item.nodeid)  # one line tracer at a time: the limit wins
            yield
            return
        self.depth += 1
        if self.depth == 1:
            self.on()
        try:
            yield
        finally:
            self.depth -= 1
            if self.depth == 0:
                self.off()

    # Profiled: each fixture's setup, and the test's call, starting as
    # close to the user's code as pytest lets a plugin (see direct()).
    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_fixture_setup(self, fixturedef, request):
        yield from self._phase(request.node, call=False)

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        yield from self._phase(pyfuncitem)

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_call(self, item):
        from profkit.pytest_plugin import direct

        if direct(item):
            yield
        else:
            yield from self._phase(item)

    # -- the end -------------------------------------------------------------------
    def pytest_sessionfinish(self, session):
        if self.selector is not None:
            self.selector.uninstall()
        if self._marking is not None:
            self._marking.__exit__(None, None, None)
            self._marking = None
        opt = self.config.option
        out = io.StringIO()
        from profkit import report

        if self.mode == "func":
            table = self.prof.function_table()
            from profkit.formats import pstats_io

            pstats_io.dump(table.stats, self.path)
            report.write(table, stream=out, sort=opt.profkit_sort, limits=(opt.profkit_top,))
            then = "read it with: python -m pstats {}"
        elif self.mode == "lines":
            from profkit.formats import lprof
            from profkit.lineprof import code_label
            from profkit.report import text

            registered = [code_label(f.__code__) for f in self.prof.functions]
            stats = text.source_order(self.prof.get_stats(), registered)
            lprof.dump(stats, self.path)
            if stats.timings:
                report.write(stats, stream=out, output_unit=1e-6, summarize=True)  # as profkit lines
            then = "show it again with: profkit show {}"
        else:
            stats = self.prof.get_stats()
            stats.dump(self.path)
            if stats.functions:
                report.write(stats, stream=out)
            then = "show it again with: profkit show {}"
        self.report = out.getvalue()
        shown = os.path.relpath(self.path, str(self.config.invocation_params.dir))
        self.wrote = f"profkit: wrote {shown} ({then.format(shown)})"

    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        title = {"func": "slowest functions", "lines": "line timing", "mem": "line memory"}[self.mode]
        tr.write_sep("-", f"profkit: {title}")
        if self.report:
            tr.write(self.report)
        elif self.mode != "func":
            tr.write_line("profkit: no function was profiled: choose them with --profkit-func "
                          "PATTERN, or mark them with @profkit.profile")
        if self.selector is not None:
            for label in self.selector.unmatched():
                tr.write_line(f"profkit: warning: --profkit-func {label[3:]} matched no function")
        if self.left_out:
            tr.write_line(f"profkit: {len(self.left_out)} test(s) marked limit_memory ran without "
                          "the line profiler (one line tracer at a time): "
                          + ", ".join(self.left_out))
        tr.write_line(self.wrote)


# ---- limits ----------------------------------------------------------------------


def builtin_label(func):
    """The label cProfile (and profkit) give a builtin's calls, as
    _lsprof.c's normalizeUserObj makes it."""
    if isinstance(func, (types.MethodDescriptorType, types.WrapperDescriptorType,
                         types.ClassMethodDescriptorType)):
        return repr(func)
    name = func.__name__
    owner = getattr(func, "__self__", None)
    module = getattr(func, "__module__", None)
    if owner is None:
        return f"<{module}.{name}>" if module and module != "builtins" else f"<{name}>"
    for klass in type(owner).__mro__:
        if name in vars(klass):
            return repr(vars(klass)[name])
    return f"<built-in method {module}.{name}>" if isinstance(module, str) else f"<built-in method {name}>"


_BUILTIN = (types.BuiltinFunctionType, types.MethodDescriptorType, types.WrapperDescriptorType,
            types.ClassMethodDescriptorType, types.MethodWrapperType)


def _matcher(target):
    """(a test on a profile entry's code or label, whether builtins are
    needed, the target's name)."""
    if isinstance(target, str):
        def match(code):
            if isinstance(code, str):
                return fnmatch.fnmatchcase(code, target)
            qual = getattr(code, "co_qualname", code.co_name)
            return fnmatch.fnmatchcase(qual, target) or fnmatch.fnmatchcase(code.co_name, target)
        return match, True, target
    if isinstance(target, _BUILTIN):
        label = builtin_label(target)
        return (lambda code: code == label), True, label
    from profkit.lineprof import unwrap_callable

    codes = set() if isinstance(target, type) else \
        {f.__code__ for f in unwrap_callable(target) if hasattr(f, "__code__")}
    if not codes:
        pytest.fail(f"limit_calls: cannot count the calls of {target!r}: give a function, a method, "
                    "a builtin or a name", pytrace=False)
    name = getattr(target, "__qualname__", getattr(target, "__name__", repr(target)))
    return (lambda code: code in codes), False, name


def _calls(prof, matchers):
    counts = [0] * len(matchers)
    for code, callcount, *_rest in prof._rawstats():
        for i, (match, _builtins, _name) in enumerate(matchers):
            if match(code):
                counts[i] += callcount
    return counts


class Limits:
    """The limits of one test's call: bytes at the peak (``size``), and
    calls of functions (``calls``: [(target, n)])."""

    def __init__(self, item, size, calls):
        self.size, self.calls = size, calls
        self.session = item.config.pluginmanager.get_plugin("profkit-session")
        self.prof = self.mem = None

    def start(self):
        if self.calls:
            self.matchers = [_matcher(target) for target, _n in self.calls]
            if self.session is not None and self.session.mode == "func":
                self.prof, self.own = self.session.prof, False  # one profile hook at a time
            else:
                from profkit.funcprof import Profile

                builtins = any(b for _m, b, _n in self.matchers)
                self.prof, self.own = Profile(builtins=builtins), True
            self.before = _calls(self.prof, self.matchers)
            if self.own:
                self.prof.enable()
        if self.size is not None:
            from profkit.memprof import LineMemoryProfiler

            # the allocation hooks, with no line to profile: only this
            # thread's counters (src/alloctrack.h) are read
            self.mem = LineMemoryProfiler(backend="alloc")
            self.mem.enable()
            self.live0 = _engine.alloc_counters()["live"]

    def stop(self):
        """The limits broken, as lines of text."""
        broken = []
        if self.mem is not None:
            counters = _engine.alloc_counters()
            self.mem.disable()
            peak = max(counters["high"] - self.live0, 0)
            if peak > self.size:
                broken.append(f"Test was limited to {self.size / MIB:.1f} MiB but allocated "
                              f"{peak / MIB:.1f} MiB at its peak")
        if self.prof is not None:
            if self.own:
                self.prof.disable()
            after = _calls(self.prof, self.matchers)
            for (target, limit), (_m, _b, name), n0, n1 in zip(self.calls, self.matchers,
                                                                self.before, after):
                if n1 - n0 > limit:
                    broken.append(f"{name} was called {n1 - n0} times, more than the limit of {limit}")
        return broken
