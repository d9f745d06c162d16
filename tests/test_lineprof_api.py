"""profkit.LineProfiler as line_profiler 5's users use it: several
profilers at once, every kind of callable people decorate, the members of
classes and modules, code whose source lives only in linecache, its keyword
arguments, kernprof's file names, and ``profile`` under plain python.
Where line_profiler is installed it runs the same code in the same test,
and the counts must agree."""
import functools
import importlib.util
import inspect
import io
import os
import subprocess
import sys
import time
import warnings

import pytest

import profkit
from conftest import write
from profkit import lineprof
from profkit.formats import lprof

try:
    import line_profiler
except ImportError:
    line_profiler = None

LEGACY = profkit._engine.backend() == "legacy"


def load(path, name=None):
    """A fresh copy of a module: line_profiler rewrites the __code__ of what
    it profiles, so each profiler gets its own functions."""
    spec = importlib.util.spec_from_file_location(name or f"m{time.monotonic_ns()}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def hits(prof):
    """{name: [(line from the def, hits)]} of a profiler's stats."""
    return {key[2].rsplit(".", 1)[-1]: sorted((ln - key[1], h) for ln, h, _ in lines)
            for key, lines in prof.get_stats().timings.items() if lines}


@pytest.fixture(autouse=True)
def process_wide_options():
    """wrap_trace and set_frame_local_trace are process-wide, as in line_profiler."""
    saved = lineprof._Tracer.wrap_trace, lineprof._Tracer.set_frame_local_trace
    yield
    lineprof._Tracer.wrap_trace, lineprof._Tracer.set_frame_local_trace = saved


# ---- several profilers at once ----------------------------------------------------

TWO = """\
def f(n):
    t = 0
    for i in range(n):
        t += i
    return t

def g(n):
    return f(n) + 1
"""


def two_profilers(cls, mod):
    a, b = cls(mod.f), cls(mod.f, mod.g)  # f registered with both
    a.enable()
    b.enable()
    mod.g(3)
    a.disable()  # b goes on alone
    mod.g(4)
    b.disable()
    mod.g(5)     # neither
    b.enable()   # b again, alone
    mod.f(1)
    b.disable()
    return hits(a), hits(b)


def test_several_profilers_at_once_keep_their_own_counts(tmp_path):
    path = write(tmp_path / "two.py", TWO)
    a, b = two_profilers(profkit.LineProfiler, load(path))
    assert a == {"f": [(1, 1), (2, 4), (3, 3), (4, 1)]}
    assert b == {"f": [(1, 3), (2, 11), (3, 8), (4, 3)], "g": [(1, 2)]}
    if line_profiler is not None:
        assert two_profilers(line_profiler.LineProfiler, load(path)) == (a, b)


def test_one_function_decorated_by_two_profilers(tmp_path):
    mod = load(write(tmp_path / "two.py", TWO))
    a, b = profkit.LineProfiler(), profkit.LineProfiler()
    f = a(b(mod.f))
    assert f(2) == 1 and f(3) == 3
    assert hits(a) == hits(b) == {"f": [(1, 2), (2, 7), (3, 5), (4, 2)]}
    assert a.enable_count == b.enable_count == 0


def test_a_memory_profiler_runs_alone():
    lp = profkit.LineProfiler()
    mp = profkit.LineMemoryProfiler()
    lp.enable()
    try:
        with pytest.raises(ValueError) as err:
            mp.enable()
    finally:
        lp.disable()
    assert str(err.value) == ("a profkit memory line profiler runs alone (its RSS reading and "
                              "allocation hooks are process-wide), and another line profiler "
                              "is enabled")
    mp.enable()  # alone it runs
    mp.disable()


def test_limits_of_several_profilers(tmp_path):
    mod = load(write(tmp_path / "two.py", TWO))
    on = [profkit.LineProfiler(mod.f) for _ in range(8)]
    for p in on:
        p.enable()
    try:
        with pytest.raises(ValueError) as err:
            profkit.LineProfiler(mod.g).enable()
        assert mod.g(2) == 2
    finally:
        for p in on:
            p.disable()
    assert str(err.value) == ("too many profkit line profilers are enabled at once (8): "
                              "disable one first")
    assert all(hits(p) == {"f": [(1, 1), (2, 3), (3, 2), (4, 1)]} for p in on)
    # code-object slots: 32 profilers can hold functions at once (a fresh
    # process, as CPython never takes a slot back)
    script = write(tmp_path / "slots.py", (
        "import profkit\n"
        "def f():\n    return 1\n"
        "held = [profkit.LineProfiler(f) for _ in range(32)]\n"
        "try:\n    profkit.LineProfiler(f)\nexcept RuntimeError as e:\n    print(e)\n"
        "del held[0]\n"
        "print(len(profkit.LineProfiler(f).functions))\n"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("too many profkit line profilers hold functions at once (32): "
                        "let go of some first\n1\n")


# ---- what people decorate ------------------------------------------------------------

KINDS = """\
import asyncio, functools, inspect

def build(prof):
    class K:
        def __init__(self):
            self.v = 2

        @prof
        @classmethod
        def cm(cls, x):
            y = x + 1
            return y

        @prof
        @staticmethod
        def sm(x):
            y = x * 2
            return y

        @prof
        @property
        def pr(self):
            y = self.v
            return y + 1

        @prof
        @functools.cached_property
        def cp(self):
            y = self.v * 10
            return y

        def meth(self, a, b):
            s = a + b
            return s * self.v

        pm = prof(functools.partialmethod(meth, 5))

    def plain(a, b):
        c = a + b
        return c

    part = prof(functools.partial(plain, 1))

    def gen(n):
        for i in range(n):
            yield i
        return "done"

    async def coro(x):
        await asyncio.sleep(0)
        y = x + 1
        return y

    async def agen(n):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    k = K()
    bound = prof(k.meth)
    wgen, wcoro, wagen = prof(gen), prof(coro), prof(agen)
    kinds = dict(
        cm=isinstance(K.__dict__["cm"], classmethod),
        sm=isinstance(K.__dict__["sm"], staticmethod),
        pr=isinstance(K.__dict__["pr"], property),
        cp=isinstance(K.__dict__["cp"], functools.cached_property),
        pm=isinstance(K.__dict__["pm"], functools.partialmethod),
        part=isinstance(part, functools.partial),
        bound=inspect.ismethod(bound) and bound.__self__ is k,
        gen=inspect.isgeneratorfunction(wgen),
        coro=inspect.iscoroutinefunction(wcoro),
        agen=inspect.isasyncgenfunction(wagen))

    async def consume():
        return [i async for i in wagen(3)]

    results = (K.cm(1), k.cm(2), K.sm(3), k.pr, k.cp, k.cp, k.pm(1), part(2), bound(1, 2),
               list(wgen(3)), asyncio.run(wcoro(1)), asyncio.run(consume()))
    return kinds, results
"""

KIND_HITS = {
    "cm": [(3, 2), (4, 2)], "sm": [(3, 1), (4, 1)], "pr": [(3, 1), (4, 1)],
    "cp": [(3, 1), (4, 1)],           # cached: computed once for two reads
    "meth": [(1, 2), (2, 2)],         # through the partialmethod and the bound method
    "plain": [(1, 1), (2, 1)],        # through the partial
    "gen": [(1, 4), (2, 3), (3, 1)],
    "coro": [(1, 1), (2, 1), (3, 1)],
    "agen": [(1, 4), (2, 3), (3, 3)],
}


def test_decorating_keeps_the_kind_and_counts_every_kind(tmp_path):
    path = write(tmp_path / "kinds.py", KINDS)
    prof = profkit.LineProfiler()
    kinds, results = load(path).build(prof)
    assert kinds == dict.fromkeys(kinds, True) and len(kinds) == 10
    assert results == (2, 3, 6, 3, 20, 20, 12, 3, 6, [0, 1, 2], 2, [0, 1, 2])
    assert hits(prof) == KIND_HITS
    assert prof.enable_count == 0
    if line_profiler is not None:
        theirs = line_profiler.LineProfiler()
        assert load(path).build(theirs) == (kinds, results)
        assert hits(theirs) == KIND_HITS


ECHO = """
def echo(log):
    try:
        got = None
        while True:
            try:
                got = yield got
            except ValueError as exc:
                got = "caught " + str(exc)
            log.append(got)
    finally:
        log.append("closed")
"""

# the same generator twice, plain and async, and a driver for each
STEPS = "import asyncio\n" + ECHO + ECHO.replace("def echo", "async def aecho") + """

def drive(make, prof):
    log, seen = [], []
    g = make(log)
    seen.append(next(g))
    seen.append(prof.enable_count if prof else 0)  # off while the consumer runs
    seen.append(g.send("a"))
    seen.append(g.throw(ValueError("v")))
    try:
        g.throw(KeyError("k"))
    except KeyError as exc:
        seen.append(repr(exc))
    seen.append(log[:])
    g = make(log)
    next(g)
    g.close()
    return seen, log


def adrive(make, prof):
    async def go():
        log, seen = [], []
        g = make(log)
        seen.append(await g.asend(None))
        seen.append(prof.enable_count if prof else 0)
        seen.append(await g.asend("a"))
        seen.append(await g.athrow(ValueError("v")))
        try:
            await g.athrow(KeyError("k"))
        except KeyError as exc:
            seen.append(repr(exc))
        seen.append(log[:])
        g = make(log)
        await g.asend(None)
        await g.aclose()
        return seen, log
    return asyncio.run(go())
"""


def test_wrapped_generators_pass_send_throw_and_close_on(tmp_path):
    """A decorated generator behaves as the generator itself under send(),
    throw() and close() (and their async forms), and the profiler is off
    while the consumer runs between two steps."""
    path = write(tmp_path / "steps.py", STEPS)
    plain = load(path)
    expected = (None, 0, "a", "caught v", "KeyError('k')", ["a", "caught v", "closed"])
    want_log = ["a", "caught v", "closed", "closed"]
    for drive, name in ((plain.drive, "echo"), (plain.adrive, "aecho")):
        assert drive(getattr(plain, name), None) == (list(expected), want_log)
        prof = profkit.LineProfiler()
        mod = load(path)
        assert drive(prof(getattr(mod, name)), prof) == (list(expected), want_log)
        assert prof.enable_count == 0
        counts = dict(hits(prof)[name])
        # the caught exception, the appends (a, caught v) and the clean-up of
        # both generators: the one a KeyError ended and the one closed
        assert (counts[7], counts[8], counts[10]) == (1, 2, 2)


def test_decorating_twice_wraps_once(tmp_path):
    mod = load(write(tmp_path / "two.py", TWO))
    lp = profkit.LineProfiler()
    once = lp(mod.f)
    assert lp(once) is once and once.__wrapped__ is mod.f
    cm = lp(classmethod(mod.f))
    assert lp(cm) is cm
    prop = lp(property(mod.f))
    assert lp(prop) is prop
    assert lp(lp(mod.g))(2) == 2
    assert hits(lp) == {"f": [(1, 1), (2, 3), (3, 2), (4, 1)], "g": [(1, 1)]}


def small(x):
    return x + 1


def test_c_functions_and_classes_and_what_is_not_callable(tmp_path):
    lp = profkit.LineProfiler()
    assert lp(len) is len and lp.add_callable(len) == 0
    cached = functools.lru_cache(small)  # a callable object: through its __wrapped__
    assert profkit.LineProfiler(cached).functions == [small]
    mod = load(write(tmp_path / "k.py", "class K:\n    def m(self):\n        return 1\n"))
    assert lp(mod.K) is mod.K and mod.K().m() == 1  # its methods wrapped in place
    assert hits(lp) == {"m": [(1, 1)]}
    with pytest.raises(TypeError) as err:
        lp(42)
    assert str(err.value) == ("cannot profile 42: it is not a function, method, class or other "
                              "callable")


# ---- classes and modules ----------------------------------------------------------------

MODULE = """\
import os
from os.path import join
from collections import OrderedDict
from functools import partial

def own(x):
    return x + 1

joined = partial(join, "a")

class K:
    join = staticmethod(join)
    Ordered = OrderedDict

    def m(self):
        return 2

    class Inner:
        def deep(self):
            return 3
"""


def registered(prof):
    return sorted({f"{f.__module__}.{f.__qualname__}" for f in prof.functions})


@pytest.mark.parametrize("policy, expected", [
    (None, ["M.K.Inner.deep", "M.K.m", "M.own"]),
    ("children", ["M.K.Inner.deep", "M.K.m", "M.own"]),
    ("exact", ["M.own"]),
    ({"func": "none", "class": "children", "module": "exact"},
     ["M.K.Inner.deep", "M.K.m", "M.own", "posixpath.join"]),
])
def test_add_module_profiles_what_the_module_defines(tmp_path, policy, expected):
    path = write(tmp_path / "M.py", MODULE)
    lp = profkit.LineProfiler()
    mod = load(path, "M")
    lp.add_module(mod, scoping_policy=policy)
    assert registered(lp) == expected
    if line_profiler is not None:
        theirs = line_profiler.LineProfiler()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs.add_module(load(path, "M"), scoping_policy=policy)
        assert registered(theirs) == expected


def test_add_class_and_a_class_as_a_callable_leave_foreign_functions_out(tmp_path):
    mod = load(write(tmp_path / "M.py", MODULE), "M")
    for add in (lambda lp: lp.add_class(mod.K), lambda lp: lp.add_callable(mod.K),
                lambda lp: lp(mod.K)):
        lp = profkit.LineProfiler()
        add(lp)
        assert registered(lp) == ["M.K.Inner.deep", "M.K.m"]
    assert not any(f.__module__ == "posixpath" for f in profkit.LineProfiler(mod.K).functions)


def test_add_module_with_wrap_profiles_without_enable(tmp_path):
    mod = load(write(tmp_path / "M.py", MODULE), "M")
    lp = profkit.LineProfiler()
    assert lp.add_module(mod, wrap=True) == 2  # own and K, as line_profiler counts
    assert mod.own(1) == 2 and mod.K().m() == 2 and mod.join is os.path.join
    assert hits(lp) == {"own": [(1, 1)], "m": [(1, 1)]}
    assert lp.enable_count == 0


# ---- source only in linecache -------------------------------------------------------------

CELL = "def cell(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n"


def test_source_only_in_linecache_is_shown():
    import linecache

    name = f"<ipython-input-{time.monotonic_ns()}-x>"
    linecache.cache[name] = (len(CELL), None, CELL.splitlines(True), name)
    try:
        ns = {}
        exec(compile(CELL, name, "exec"), ns)
        lp = profkit.LineProfiler(ns["cell"])
        assert lp.runcall(ns["cell"], 3) == 3
        out = io.StringIO()
        lp.print_stats(stream=out, output_unit=1)
    finally:
        linecache.cache.pop(name, None)
    text = out.getvalue()
    assert "Could not find file" not in text
    assert f"File: {name}\nFunction: cell at line 1\n" in text
    rows = [ln for ln in text.splitlines() if ln[:6].strip().isdigit()]
    assert [r[49:] for r in rows] == CELL.splitlines()  # the source, after the numbers
    assert [r.split()[:2] for r in rows[1:]] == [["2", "1"], ["3", "4"], ["4", "3"], ["5", "1"]]


# ---- line_profiler 5's keyword arguments ------------------------------------------------------


@pytest.mark.skipif(line_profiler is None, reason="line_profiler is not installed")
@pytest.mark.parametrize("method", ["add_callable", "add_module", "add_class", "__call__",
                                    "print_stats", "wrap_callable", "dump_stats", "runcall"])
def test_every_keyword_of_line_profiler_is_accepted(method):
    theirs = inspect.signature(getattr(line_profiler.LineProfiler, method)).parameters
    ours = inspect.signature(getattr(profkit.LineProfiler, method)).parameters
    for name, param in theirs.items():
        assert name in ours, name
        assert ours[name].kind == param.kind and ours[name].default == param.default, name


def test_init_keywords_and_their_process_wide_values():
    a = profkit.LineProfiler(wrap_trace=False, set_frame_local_trace=True)
    b = profkit.LineProfiler()  # None: inherits, as in line_profiler
    assert a.wrap_trace is b.wrap_trace is False
    assert a.set_frame_local_trace is b.set_frame_local_trace is LEGACY  # none under sys.monitoring
    b.wrap_trace = True
    assert a.wrap_trace is True


@pytest.mark.parametrize("policy, error, message", [
    ("bogus", ValueError, "scoping_policy: 'bogus' is not one of exact, children, descendants, "
                          "siblings, none"),
    (3, TypeError, "scoping_policy: expected a policy name (exact, children, descendants, "
                   "siblings, none) or a dict of them for 'func', 'class' and 'module', not int"),
    ({"func": "exact"}, ValueError, "scoping_policy: the dict lacks 'class', 'module'"),
])
def test_bad_scoping_policies_say_why(tmp_path, policy, error, message):
    mod = load(write(tmp_path / "M.py", MODULE), "M")
    with pytest.raises(error) as err:
        profkit.LineProfiler().add_module(mod, scoping_policy=policy)
    assert str(err.value) == message


def test_print_stats_refuses_a_config_file():
    with pytest.raises(ValueError) as err:
        profkit.LineProfiler().print_stats(config="pyproject.toml")
    assert str(err.value) == ("print_stats(config='pyproject.toml'): profkit reads no "
                              "line_profiler configuration file; pass output_unit, stripzeros, "
                              "details, summarize or sort instead")


# Saving, clearing and restoring sys.settrace inside a profiled function
# (doctest and debuggers do): set_frame_local_trace resumes line events at
# once on the legacy hook; under sys.monitoring nothing is lost at all.
RESTORE = """\
import json, sys
local = sys.argv[2] == "local"
if sys.argv[1] == "line_profiler":
    from line_profiler import LineProfiler
else:
    from profkit import LineProfiler

def f():
    a = 1
    saved = sys.gettrace()
    sys.settrace(None)
    b = 2
    sys.settrace(saved)
    c = 3
    return a + b + c

lp = LineProfiler(f, set_frame_local_trace=local)
lp.enable()
f()
lp.disable()
lines = list(lp.get_stats().timings.values())[0]
print(json.dumps(sorted([ln - f.__code__.co_firstlineno, h] for ln, h, _ in lines)))
"""


@pytest.mark.parametrize("local", ["local", "global"])
def test_set_frame_local_trace_resumes_lines_after_settrace_restore(tmp_path, local):
    write(tmp_path / "restore.py", RESTORE)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)

    def counts(tool):
        r = subprocess.run([sys.executable, "restore.py", tool, local], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    ours = counts("profkit")
    if not LEGACY:  # sys.monitoring: sys.settrace(None) does not stop it
        assert ours == "[[1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 1], [7, 1]]\n"
    elif local == "local":  # back at `c = 3`
        assert ours == "[[1, 1], [2, 1], [3, 1], [6, 1], [7, 1]]\n"
    else:  # back at the next call only
        assert ours == "[[1, 1], [2, 1]]\n"
    if line_profiler is not None and (LEGACY or sys.version_info >= (3, 12)):
        env["LINE_PROFILER_CORE"] = "ctrace" if LEGACY else "sysmon"
        assert counts("line_profiler") == ours


# ---- kernprof's file names, and profile under plain python ---------------------------------


def test_profkit_lines_saves_where_kernprof_does(cli, tmp_path):
    os.mkdir(tmp_path / "sub")
    write(tmp_path / "sub" / "app.py", "@profile\ndef f():\n    return 1\nf()\n")
    r = cli("lines", os.path.join("sub", "app.py"))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ("profkit: wrote app.py.lprof (show it again with: "
                        "profkit show app.py.lprof)\n")
    assert sorted(os.listdir(tmp_path)) == ["app.py.lprof", "sub"]
    kernprof = os.path.join(os.path.dirname(sys.executable), "kernprof")
    if os.path.exists(kernprof):
        os.unlink(tmp_path / "app.py.lprof")
        k = subprocess.run([kernprof, "-l", os.path.join("sub", "app.py")], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
        assert k.returncode == 0, k.stderr
        assert sorted(os.listdir(tmp_path)) == ["app.py.lprof", "sub"]


# a marked function, for the scripts below
MARKED_F = """\
@profile
def f(n):
    t = 0
    for i in range(n):
        t += i
    return t
"""

WITH_PROFILE = MARKED_F + """
with profile:
    a = f(3)
b = f(2)
print(a, b)
"""


def test_with_profile_block_in_a_script_runs_as_under_kernprof(cli, tmp_path):
    write(tmp_path / "blk.py", WITH_PROFILE)
    r = cli("lines", "blk.py")
    assert (r.returncode, r.stdout.splitlines()[0]) == (0, "3 1"), r.stderr
    mine = lprof.load(str(tmp_path / "blk.py.lprof"))
    got = {ln - key[1]: h for key, lines in mine.timings.items() for ln, h, _ in lines}
    assert got == {2: 2, 3: 7, 4: 5, 5: 2}  # from the decorator line
    kernprof = os.path.join(os.path.dirname(sys.executable), "kernprof")
    if os.path.exists(kernprof):
        k = subprocess.run([kernprof, "-l", "-o", "k.lprof", "blk.py"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
        assert (k.returncode, k.stdout.splitlines()[0]) == (0, "3 1"), k.stderr
        theirs = lprof.load(str(tmp_path / "k.lprof"))
        assert {ln - key[1]: h for key, lines in theirs.timings.items()
                for ln, h, _ in lines} == got


EXPLICIT = """\
import sys
from {module} import profile
{enable}
""" + MARKED_F + """
print(f(3), "profkit._engine" in sys.modules)
"""


def run_explicit(folder, env, module="profkit", enable=""):
    write(folder / "expl.py", EXPLICIT.format(module=module, enable=enable))
    full = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PROFKIT_PROFILE", "LINE_PROFILE")}
    full.update(env)
    r = subprocess.run([sys.executable, "expl.py"], cwd=folder, env=full, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("env", [{}, {"PROFKIT_PROFILE": "0"}, {"LINE_PROFILE": ""}])
def test_profile_is_a_no_op_unless_asked(tmp_path, env):
    r = run_explicit(tmp_path, env)
    assert (r.stdout, r.stderr) == ("3 False\n", "")  # no engine loaded
    assert os.listdir(tmp_path) == ["expl.py"]


@pytest.mark.parametrize("env, enable", [
    ({"PROFKIT_PROFILE": "1"}, ""),
    ({"LINE_PROFILE": "1"}, ""),
    ({}, "profile.enable()"),
])
def test_profile_when_asked_reports_at_exit(tmp_path, env, enable):
    r = run_explicit(tmp_path, env, enable=enable)
    out = r.stdout.splitlines()
    assert out[0] == "3 True"
    assert out[1] == "Timer unit: 1e-06 s"
    assert f"File: {tmp_path / 'expl.py'}" in out and "Function: f at line 4" in out
    assert r.stderr == ("profkit: wrote profile_output.lprof (show it again with: "
                        "profkit show profile_output.lprof)\n")
    ours = lprof.load(str(tmp_path / "profile_output.lprof")).timings
    counts = {k[2]: [(ln, h) for ln, h, _ in v] for k, v in ours.items()}
    assert counts == {"f": [(6, 1), (7, 4), (8, 3), (9, 1)]}
    if line_profiler is not None:  # the same script with line_profiler's profile
        theirs_dir = tmp_path / "lp"
        os.mkdir(theirs_dir)
        run_explicit(theirs_dir, {"LINE_PROFILE": "1"}, module="line_profiler")
        theirs = lprof.load(str(theirs_dir / "profile_output.lprof")).timings
        assert {k[2]: [(ln, h) for ln, h, _ in v] for k, v in theirs.items()} == counts
