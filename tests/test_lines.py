"""profkit.LineProfiler and profkit lines: line_profiler's hits, exactly,
its report layout, and the ways of choosing functions without editing code."""
import asyncio
import importlib.util
import io
import os
import pickle
import re
import subprocess
import sys
import time

import pytest

import profkit
from conftest import ENTRIES, EXAMPLES, WORKLOADS, write
from profkit.formats import lprof
from profkit.report import text as text_report

TIME = os.path.join(EXAMPLES, "time")
MONITORING = sys.version_info >= (3, 12) and os.environ.get("PROFKIT_BACKEND") != "legacy"


def fresh_module(name="linework"):
    """A new copy of a workload module: line_profiler rewrites __code__, so
    each profiler gets its own functions."""
    spec = importlib.util.spec_from_file_location(f"{name}_{time.monotonic_ns()}",
                                                  os.path.join(WORKLOADS, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def hits_of(stats):
    """{function name: {lineno: hits}} from LineStats-like timings."""
    return {key[2].rsplit(".", 1)[-1]: {ln: h for ln, h, _ in lines}
            for key, lines in stats.timings.items()}


def profile_linework(cls):
    mod = fresh_module()
    lp = cls()
    for f in mod.FUNCTIONS:
        lp.add_function(f)
    lp.runcall(mod.run_all)
    return hits_of(lp.get_stats())


def test_hits_equal_line_profiler():
    line_profiler = pytest.importorskip("line_profiler")
    if sys.version_info >= (3, 12) and not MONITORING:
        pytest.skip("line_profiler's default core on 3.12+ is sys.monitoring")
    ours = profile_linework(profkit.LineProfiler)
    theirs = profile_linework(line_profiler.LineProfiler)
    assert ours == theirs
    assert sum(len(v) for v in ours.values()) > 30


def test_reference_hits_that_hold_everywhere():
    h = profile_linework(profkit.LineProfiler)["main"]
    with open(os.path.join(WORKLOADS, "linework.py")) as f:
        src = f.read().splitlines()

    def line(text):
        return next(i + 1 for i, s in enumerate(src) if s.strip() == text)

    assert h[line("for i in range(5):")] == 6          # n + 1
    assert h[line("t += i")] == 5
    assert h[line("while j < 3:")] == 4
    assert h[line("sq = [k * k for k in range(4)]")] == 1 if MONITORING or sys.version_info < (3, 12) else 5
    assert h[line("for v in gen(3):")] == 4
    assert h[line("boom()")] == 1 and h[line("except ValueError:")] == 1
    assert h[line("z = foo(")] == 2
    assert line("2 +") not in h                          # continuation lines have no events
    g = profile_linework(profkit.LineProfiler)
    assert g["fact"] == {line("if n <= 1:"): 4, line("return 1"): 1,
                         line("r = n * fact(n - 1)"): 3, line("return r"): 3}
    one = g["onel"]
    loop, wloop = line("for i in range(5): t += i"), line("while t > 0: t -= 1")
    if MONITORING:
        assert (one[loop], one[wloop]) == (1, 1)       # LINE fires once per line
    else:
        assert one[loop] == 6 and one[wloop] in (10, 11)  # legacy: every backward jump


def test_times_are_nonnegative_and_add_up(capsys):
    mod = fresh_module()
    lp = profkit.LineProfiler(*mod.FUNCTIONS)
    lp.runcall(mod.run_all)
    stats = lp.get_stats()
    assert stats.unit == 1e-9
    for key, lines in stats.timings.items():
        assert all(t >= 0 and h > 0 for _, h, t in lines), key
        assert lines == sorted(lines)
    key = [k for k in stats.timings if k[2].endswith("main")][0]
    lp.print_stats(output_unit=1e-9)
    out = capsys.readouterr().out
    total = sum(t for _, _, t in stats.timings[key])
    assert "Total time: %g s" % (total * 1e-9) in out


def test_generator_suspension_is_not_charged():
    def spin(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    def g():
        yield 1
        spin(0.02)
        yield 2

    lp = profkit.LineProfiler(g)

    def consume():
        for _ in g():
            spin(0.05)

    lp.enable()
    consume()
    lp.disable()
    lines = list(lp.get_stats().timings.values())[0]
    ms = {ln - g.__code__.co_firstlineno: t / 1e6 for ln, _, t in lines}
    assert ms[1] < 5 and ms[3] < 5           # the yields: the consumer's 100 ms is not here
    assert 18 < ms[2] < 60                   # the spin between them


def test_decorator_function_generator_coroutine_and_by_count():
    lp = profkit.LineProfiler()

    @lp
    def f(x):
        return x + 1

    @lp
    def gen(n):
        for i in range(n):
            yield i

    @lp
    async def co(x):
        await asyncio.sleep(0)
        return x * 2

    assert f(1) == 2 and f.__name__ == "f"
    assert list(gen(3)) == [0, 1, 2]
    assert asyncio.run(co(4)) == 8
    assert lp.enable_count == 0
    h = hits_of(lp.get_stats())
    assert list(h["f"].values()) == [1]
    assert sorted(h["gen"].values()) == [3, 4]
    assert sorted(h["co"].values()) == [1, 1]


def test_add_module_class_and_kinds_of_callables(tmp_path):
    path = write(tmp_path / "kinds.py", (
        "import functools\n"
        "def deco(fn):\n"
        "    @functools.wraps(fn)\n"
        "    def wrapper(*a):\n"
        "        return fn(*a)\n"
        "    return wrapper\n"
        "class K:\n"
        "    def m(self): return 1\n"
        "    @staticmethod\n"
        "    def s(): return 2\n"
        "    @classmethod\n"
        "    def c(cls): return 3\n"
        "    @property\n"
        "    def p(self): return 4\n"
        "@deco\n"
        "def wrapped(): return 5\n"
        "def closure():\n"
        "    y = 6\n"
        "    def inner(): return y\n"
        "    return inner()\n"
    ))
    spec = importlib.util.spec_from_file_location("kinds_mod", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    lp = profkit.LineProfiler()
    # members added, as line_profiler counts them: deco, K (once), wrapped, closure
    assert lp.add_module(mod) == 4
    assert len(lp.functions) == 7  # deco, K.m/s/c/p, wrapped (its inner function), closure
    try:
        import line_profiler
    except ImportError:
        pass
    else:  # on a copy: line_profiler rewrites the functions' __code__
        import warnings

        copy = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(copy)
        with warnings.catch_warnings():  # it warns about `wrapped`'s __wrapped__
            warnings.simplefilter("ignore")
            assert line_profiler.LineProfiler().add_module(copy) == 4
    lp.enable()
    k = mod.K()
    assert (k.m(), k.s(), k.c(), k.p, mod.wrapped(), mod.closure()) == (1, 2, 3, 4, 5, 6)
    lp.disable()
    names = {key[2].rsplit(".", 1)[-1] for key, lines in lp.get_stats().timings.items() if lines}
    assert {"m", "s", "c", "p", "wrapped", "closure"} <= names


def test_dump_and_load_round_trip_and_line_profiler_reads_it(tmp_path):
    mod = fresh_module()
    lp = profkit.LineProfiler(*mod.FUNCTIONS)
    lp.runcall(mod.run_all)
    path = tmp_path / "x.lprof"
    lp.dump_stats(str(path))
    assert os.listdir(tmp_path) == ["x.lprof"]
    loaded = lprof.load(str(path))
    assert loaded == lp.get_stats()
    try:
        import line_profiler
    except ImportError:
        return
    theirs = line_profiler.load_stats(str(path))
    assert {k: [tuple(x) for x in v] for k, v in theirs.timings.items()} == loaded.timings


def test_loads_line_profiler_files_without_running_code(tmp_path, monkeypatch):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    bad = tmp_path / "evil.lprof"
    bad.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ValueError, match="not a line-profile"):
        lprof.load(str(bad))
    # a file as line_profiler writes it, class path and all
    timings = {("a.py", 1, "f"): [(2, 3, 400)]}
    try:
        from line_profiler.line_profiler import LineStats as Theirs

        data = pickle.dumps(Theirs(timings, 1e-9), pickle.HIGHEST_PROTOCOL)
    except ImportError:
        import types

        pkg = types.ModuleType("line_profiler")
        sub = types.ModuleType("line_profiler.line_profiler")

        class LineStats:
            pass

        LineStats.__module__ = "line_profiler.line_profiler"
        LineStats.__qualname__ = "LineStats"
        sub.LineStats = LineStats
        pkg.line_profiler = sub
        monkeypatch.setitem(sys.modules, "line_profiler", pkg)
        monkeypatch.setitem(sys.modules, "line_profiler.line_profiler", sub)
        theirs = LineStats()
        theirs.timings, theirs.unit = timings, 1e-9
        data = pickle.dumps(theirs, 5)
    assert b"line_profiler" in data and b"profkit" not in data
    good = tmp_path / "lp.lprof"
    good.write_bytes(data)
    assert lprof.load(str(good)).timings == timings


def test_report_layout_is_line_profilers():
    path = os.path.join(WORKLOADS, "linework.py")
    with open(path) as f:
        first = f.read().splitlines().index("def boom():") + 1
    out = io.StringIO()
    text_report.show_func(path, first, "boom", [(first + 1, 2, 3000)], 1e-9, output_unit=1e-6, stream=out)
    assert out.getvalue().splitlines() == [
        "Total time: 3e-06 s",
        f"File: {path}",
        f"Function: boom at line {first}",
        "",
        "Line #      Hits         Time  Per Hit   % Time  Line Contents",
        "==============================================================",
        "%6d                                           def boom():" % first,
        "%6d         2          3.0      1.5    100.0      raise ValueError(\"x\")" % (first + 1),
        "",
    ]


def test_from_profkit_import_profile_is_a_no_op_under_plain_python(tmp_path):
    script = write(tmp_path / "plain.py", (
        "from profkit import profile\n"
        "@profile\n"
        "def f():\n"
        "    return 41 + 1\n"
        "print(f(), f.__name__)\n"
    ))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "42 f\n"


# ---- the command line -----------------------------------------------------------

ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s{2}(.*)$")


def table(out, fields=lambda m: (int(m.group(2)), float(m.group(5)))):
    """{(function, source text): (hits, percent)} of a printed report, or
    whatever ``fields`` takes from each row's match (3: the Time column)."""
    rows, func = {}, None
    for line in out.splitlines():
        if line.startswith("Function: "):
            func = line.split()[1]
        m = ROW.match(line)
        if m:
            rows[(func, m.group(6).strip())] = fields(m)
    return rows


def test_slow_kern_shows_three_functions_with_sleeps_dominating(cli, tmp_path):
    r = cli("lines", os.path.join(TIME, "slow_kern.py"), env={})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Timer unit: 1e-06 s\n")
    assert [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("Function:")] == \
        ["func1", "func2", "func3"]
    t = table(r.stdout)
    us = table(r.stdout, lambda m: float(m.group(3)))  # timer units: microseconds
    for f, d in (("func1", "0.1"), ("func2", "0.2"), ("func3", "0.4")):
        hits, pct = t[(f, f"time.sleep({d})")]
        # The sleep takes at least its argument (1% for the clock's rate),
        # and no other line of the function takes as long: the arithmetic's
        # share grows under sanitizers and on a loaded machine, so it is
        # bounded by the sleep's, not by a fixed percentage.
        others = [v[1] for (g, text), v in t.items() if g == f and not text.startswith("time.sleep")]
        assert hits == 1 and us[(f, f"time.sleep({d})")] >= 0.99 * float(d) * 1e6, (f, us)
        assert pct > max(others) and pct > 40, (f, pct, others)
    assert t[("func3", "for i in range(4 * STEPS):")][0] == 120001
    # the summary, largest first
    summary = [ln for ln in r.stdout.splitlines() if " seconds - " in ln]
    assert [s.rsplit(" - ", 1)[1] for s in summary] == ["func3", "func2", "func1"]
    # saved where kernprof saves it: here, not beside the script
    assert r.stderr.splitlines()[-1] == \
        "profkit: wrote slow_kern.py.lprof (show it again with: profkit show slow_kern.py.lprof)"
    assert os.listdir(tmp_path) == ["slow_kern.py.lprof"]
    assert not os.path.exists(os.path.join(TIME, "slow_kern.py.lprof"))
    again = cli("show", "slow_kern.py.lprof")
    assert again.returncode == 0 and again.stdout == r.stdout


def test_linalg_hot_line_with_decorator_and_with_pattern(cli, tmp_path):
    pytest.importorskip("numpy")
    pytest.importorskip("scipy")
    hot = "if i * n_cols + j in doomed:"
    r1 = cli("lines", "-o", "k.lprof", os.path.join(TIME, "linalg_kern.py"))
    r2 = cli("lines", "-o", "f.lprof", "-f", "make_sparse", os.path.join(TIME, "linalg.py"))
    for r in (r1, r2):
        assert r.returncode == 0, r.stderr
        rows = {text: v for (func, text), v in table(r.stdout).items() if func == "make_sparse"}
        assert max(rows, key=lambda text: rows[text][1]) == hot
        assert rows[hot][0] == 20000


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_patterns_reach_every_kind_of_function(cli, tmp_path):
    write(tmp_path / "helper.py", "def helped(x):\n    return x * 2\n")
    script = write(tmp_path / "kinds.py", (
        "import asyncio, functools, helper\n"
        "def deco(fn):\n"
        "    @functools.wraps(fn)\n"
        "    def wrapper(*a):\n"
        "        return fn(*a)\n"
        "    return wrapper\n"
        "class Matrix:\n"
        "    def scale(self, k):\n"
        "        return k\n"
        "    @staticmethod\n"
        "    def zeros():\n"
        "        return 0\n"
        "    @classmethod\n"
        "    def eye(cls):\n"
        "        return 1\n"
        "    @property\n"
        "    def size(self):\n"
        "        return 2\n"
        "@deco\n"
        "def decorated():\n"
        "    return 3\n"
        "def outer():\n"
        "    z = 4\n"
        "    def inner():\n"
        "        return z\n"
        "    return inner()\n"
        "def numbers():\n"
        "    yield 5\n"
        "async def later():\n"
        "    await asyncio.sleep(0)\n"
        "    return 6\n"
        "m = Matrix()\n"
        "print(m.scale(1), m.zeros(), m.eye(), m.size, decorated(), outer(), list(numbers()),\n"
        "      asyncio.run(later()), helper.helped(7))\n"
    ))
    r = cli("lines", "-f", "Matrix.*", "-f", "decorated", "-f", "inner", "-f", "numbers",
            "-f", "later", "-f", "helper:helped", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("1 0 1 2 3 4 [5] 6 14\n")
    funcs = [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("Function:")]
    expected = {"Matrix.scale", "Matrix.zeros", "Matrix.eye", "Matrix.size", "decorated",
                "outer.<locals>.inner", "numbers", "later", "helped"}
    if sys.version_info < (3, 11):  # code objects carry no qualified name there
        expected = {e.rsplit(".", 1)[-1] for e in expected}
    assert set(funcs) == expected
    hits = table(r.stdout)
    assert all(v[0] >= 1 for (f, text), v in hits.items() if text.startswith("return"))


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_module_and_all(cli, tmp_path):
    write(tmp_path / "lib.py", "def a():\n    return 1\ndef b():\n    return a() + 1\n")
    script = write(tmp_path / "app.py", (
        "import lib\n"
        "def slow():\n"
        "    return sum(range(200000))\n"
        "def quick():\n"
        "    return 1\n"
        "def never():\n"
        "    return 0\n"
        "slow(); quick(); print(lib.b())\n"
    ))
    r = cli("lines", "--module", "lib", script)
    assert r.returncode == 0, r.stderr
    assert [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("Function:")] == ["a", "b"]
    r = cli("lines", "--all", script)
    assert r.returncode == 0, r.stderr
    funcs = [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("Function:")]
    assert funcs[0] == "slow" and "never" not in funcs and set(funcs) == {"slow", "quick"}


def test_profile_import_works_under_profkit_lines(cli, tmp_path):
    script = write(tmp_path / "imp.py", (
        "from profkit import profile\n"
        "@profile\n"
        "def f():\n"
        "    return 1\n"
        "f(); f()\n"
    ))
    r = cli("lines", script)
    assert r.returncode == 0, r.stderr
    assert table(r.stdout)[("f", "return 1")][0] == 2


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
@pytest.mark.parametrize("args, message", [
    (["lines", "-f", "nosuchmod:func", "x.py"], "profkit: error: -f nosuchmod:func: no module named 'nosuchmod'"),
    (["lines", "--module", "nosuchmod", "x.py"], "profkit: error: --module nosuchmod: no module named 'nosuchmod'"),
    (["lines", "-u", "0", "x.py"], "profkit lines: error: argument -u/--unit: must be positive: '0'"),
    (["show", "nosuch.lprof"], "profkit: error: can't open file 'nosuch.lprof': [Errno 2] No such file or directory"),
])
def test_bad_input_lines(cli, tmp_path, args, message):
    write(tmp_path / "x.py", "pass\n")
    r = cli(*args)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [message]


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_pattern_matching_nothing_is_an_error_after_the_report(cli, tmp_path):
    write(tmp_path / "x.py", "def f():\n    return 1\nf()\n")
    r = cli("lines", "-f", "f", "-f", "nothing_like_this", "x.py")
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == "profkit lines: error: -f nothing_like_this matched no function"
    assert "Function: f at line 1" in r.stdout


def test_show_refuses_corrupt_and_foreign_files(cli, tmp_path):
    (tmp_path / "junk.lprof").write_bytes(b"\x80\x05garbage")
    (tmp_path / "text.txt").write_text("hello\n")
    for name in ("junk.lprof", "text.txt"):
        r = cli("show", name)
        assert r.returncode == 2
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("profkit show: error: "), r.stderr


def test_show_prints_a_pstats_file(cli, tmp_path):
    r = cli("func", "-o", "s.prof", os.path.join(TIME, "slow.py"))
    assert r.returncode == 0
    r = cli("show", "-s", "tottime", "s.prof")
    assert r.returncode == 0
    assert "Ordered by: internal time" in r.stdout and "slow.py:31(func3)" in r.stdout


def test_script_errors_still_save_the_line_profile(cli, tmp_path):
    write(tmp_path / "bad.py", "@profile\ndef f():\n    raise KeyError(1)\nf()\n")
    r = cli("lines", "bad.py")
    assert r.returncode == 1
    assert r.stderr.rstrip().endswith("KeyError: 1")
    assert (tmp_path / "bad.py.lprof").exists()
    assert table(r.stdout)[("f", "raise KeyError(1)")][0] == 1


def test_results_are_stable_across_reads():
    mod = fresh_module()
    lp = profkit.LineProfiler(*mod.FUNCTIONS)
    lp.runcall(mod.run_all)
    first = lp.get_stats()
    time.sleep(0.06)  # past the clock's calibration window
    assert lp.get_stats() == first


def test_legacy_hook_is_on_only_inside_profiled_calls(cli, tmp_path):
    """With the legacy trace hook (3.9-3.11), code outside @profile functions
    must not be traced: @profile wraps, as under kernprof.  With
    sys.monitoring the tracer is free outside them and @profile returns the
    function itself."""
    write(tmp_path / "w.py", (
        "import sys\n"
        "@profile\n"
        "def f():\n"
        "    return sys.gettrace() is not None\n"
        "outside = sys.gettrace() is not None\n"
        "print(f(), outside, hasattr(f, '__wrapped__'))\n"
    ))
    r = cli("lines", "w.py")
    assert r.returncode == 0, r.stderr
    legacy = profkit._engine.backend() == "legacy"
    # legacy: sys.gettrace() shows the C hook's object inside f only;
    # sys.monitoring: no trace function at all.
    assert r.stdout.splitlines()[0] == f"{legacy} False {legacy}"
    assert table(r.stdout)[("f", "return sys.gettrace() is not None")][0] == 1


def test_per_thread_switching_counts_every_thread():
    import threading

    lp = profkit.LineProfiler(all_threads=False)

    @lp
    def work(n):
        total = 0
        for i in range(n):
            total += i
        return total

    threads = [threading.Thread(target=work, args=(1000,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    work(1000)
    assert lp.enable_count == 0
    hits = sorted(hits_of(lp.get_stats())["work"].values())
    assert hits == [5, 5, 5000, 5005]
