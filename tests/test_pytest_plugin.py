"""profkit's pytest plugin, run as a user runs it: pytest in a subprocess
(pytester) on a small project, with the plugin loaded by its entry point
when profkit is installed with it, else with ``-p profkit.pytest_plugin``."""
import marshal
import os
import sys

import pytest

from profkit import pytest_plugin

pytest_plugins = ["pytester"]


def _entry_point_installed():
    from importlib.metadata import entry_points

    eps = entry_points()
    group = eps.select(group="pytest11") if hasattr(eps, "select") else eps.get("pytest11", [])
    return any(ep.value == "profkit.pytest_plugin" for ep in group)


PLUGIN = () if _entry_point_installed() else ("-p", "profkit.pytest_plugin")

with open(os.path.join(os.path.dirname(__file__), "workloads", "leafwork.py")) as f:
    APP = f.read()  # leaf at line 6, work at 10, make at 17, Box.get at 27

TESTS = """\
import unittest

import pytest

from app import Box, leaf, work


@pytest.fixture
def ready():
    return work(3)


def test_a(ready):
    assert work(7) == 42


def test_b():
    assert [leaf(i) for i in range(5)] == [0, 2, 4, 6, 8]


class TestCase(unittest.TestCase):
    def test_c(self):
        self.assertEqual(Box().get(), 2)
"""


@pytest.fixture
def project(pytester):
    pytester.makepyfile(app=APP, test_app=TESTS)
    return pytester


def run(pytester, *args):
    return pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider", "-W", "error", *args)


def summary(result):
    """The profkit section of the terminal summary."""
    out = result.stdout.str()
    start = out.index(" profkit: ")
    end = out.index("\n", out.index("profkit: wrote ", start))
    return out[out.rindex("\n", 0, start) + 1:end + 1]


# ---- off unless asked -----------------------------------------------------------


def test_off_unless_asked_and_nothing_of_profkit_loads(pytester):
    pytester.makepyfile(test_quiet="""
        import sys

        def test_nothing_loaded():
            assert "profkit.pytest_plugin" in sys.modules
            loaded = sorted(m for m in sys.modules if m.startswith("profkit"))
            assert loaded == ["profkit", "profkit.pytest_plugin"], loaded
    """)
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "profkit:" not in result.stdout.str()
    assert not (pytester.path / "prof").exists()
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(["profiling with profkit:", "  --profkit *"])


# ---- --profkit ------------------------------------------------------------------------


def test_one_combined_profile_and_the_slowest_functions(project):
    result = run(project, "--profkit", "--profkit-top", "3")
    result.assert_outcomes(passed=3)
    with open(project.path / "prof" / "combined.prof", "rb") as f:
        stats = marshal.load(f)
    calls = {(os.path.basename(k[0]), k[2]): v[1] for k, v in stats.items()}
    app = str(project.path / "app.py")
    # leaf: 3 (the fixture) + 7 (test_a) + 5 (test_b) + 1 (test_c); work: fixture + test_a
    assert stats[(app, 6, "leaf")][:2] == (16, 16)
    assert stats[(app, 10, "work")][:2] == (2, 2)
    assert calls[("test_app.py", "ready")] == 1
    assert calls[("test_app.py", "test_a")] == calls[("test_app.py", "test_c")] == 1
    # pytest's and pluggy's frames between the plugin and the tests are left out
    files = {os.path.basename(os.path.dirname(k[0])) + "/" + os.path.basename(k[0]) for k in stats}
    assert not [f for f in files if f.startswith(("pluggy/", "_pytest/python", "_pytest/fixtures",
                                                  "_pytest/runner", "profkit/"))], files
    lines = summary(result).splitlines()
    assert lines[0].startswith("-") and " profkit: slowest functions " in lines[0]
    assert lines[3:6] == ["   Ordered by: cumulative time",
                          f"   List reduced from {len(stats)} to 3 due to restriction <3>", ""]
    assert lines[-1] == "profkit: wrote prof/combined.prof (read it with: python -m pstats " \
                        "prof/combined.prof)"


def test_out_path_and_sort_key(project):
    os.mkdir(project.path / "out")
    result = run(project, "--profkit", "--profkit-out", "out/p.prof", "--profkit-sort", "calls")
    result.assert_outcomes(passed=3)
    assert "   Ordered by: call count" in summary(result)
    assert summary(result).endswith("profkit: wrote out/p.prof (read it with: python -m pstats "
                                    "out/p.prof)\n")
    assert not (project.path / "prof").exists()


@pytest.mark.parametrize("args, message", [
    (["--profkit", "--profkit-lines"], "--profkit, --profkit-lines and --profkit-mem: choose one"),
    (["--profkit-func", "leaf"], "--profkit-func chooses functions for --profkit-lines or "
                                 "--profkit-mem: give one of them"),
    (["--profkit", "--profkit-sort", "fastest"], "--profkit-sort: invalid choice: 'fastest' (choose "
                                                 "from calls, cumtime, *"),
    (["--profkit", "--profkit-out", "nofolder/p.prof"], "--profkit-out nofolder/p.prof: no such folder"),
    (["--profkit-lines", "--profkit-func", "nomod:f"],
     "--profkit-func: -f nomod:f: no module named 'nomod'"),
])
def test_usage_errors(project, args, message):
    result = run(project, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_not_under_xdist(project):
    # pytest-xdist's -n, declared as xdist declares it
    project.makeconftest("""
        def pytest_addoption(parser):
            parser.getgroup("xdist")._addoption("-n", "--numprocesses", dest="numprocesses", type=int)
    """)
    result = run(project, "--profkit", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --profkit options profile one process: run them without "
                                 "xdist's -n"])
    run(project, "--profkit", "-n", "0").assert_outcomes(passed=3)


# ---- --profkit-lines / --profkit-mem --------------------------------------------------


def test_lines_of_chosen_functions_agree_with_line_profiler(project):
    result = run(project, "--profkit-lines", "--profkit-func", "app:leaf", "--profkit-func", "work",
                 "--profkit-func", "nothing_like_it")
    result.assert_outcomes(passed=3)
    text = summary(result)
    assert " profkit: line timing " in text.splitlines()[0]
    assert "profkit: warning: --profkit-func nothing_like_it matched no function\n" in text
    assert text.endswith("profkit: wrote prof/combined.lprof (show it again with: profkit show "
                         "prof/combined.lprof)\n")
    from profkit.formats import lprof

    stats = lprof.load(str(project.path / "prof" / "combined.lprof"))
    app = str(project.path / "app.py")
    hits = {k[2]: [(ln, h) for ln, h, _t in v] for k, v in stats.timings.items()}
    assert hits == {"leaf": [(7, 16)], "work": [(11, 2), (12, 12), (13, 10), (14, 2)]}
    # line_profiler, on the same calls
    line_profiler = pytest.importorskip("line_profiler")
    sys.path.insert(0, str(project.path))
    try:
        import app as mod
    finally:
        sys.path.remove(str(project.path))
    lp = line_profiler.LineProfiler(mod.leaf, mod.work)
    lp.runcall(lambda: (mod.work(3), mod.work(7), [mod.leaf(i) for i in range(5)], mod.leaf(1)))
    ref = {k[2]: [(ln, h) for ln, h, _t in v] for k, v in lp.get_stats().timings.items()
           if k[0] == app}
    assert ref == hits
    assert f"File: {app}\nFunction: leaf at line 6\n" in text


def test_memory_of_chosen_functions_and_fixtures(project):
    project.makepyfile(test_mem="""
        import pytest
        from app import make

        @pytest.fixture
        def blob():
            return make(1 << 20)

        def test_m(blob):
            for _ in range(3):
                make(1 << 16)
    """)
    result = run(project, "--profkit-mem", "--profkit-backend", "alloc", "--profkit-func", "make",
                 "--profkit-func", "blob")
    result.assert_outcomes(passed=4)
    from profkit.formats import linemem

    table = linemem.load(str(project.path / "prof" / "combined-mem.json"))
    assert table.backend == "alloc"
    rows = {f.name: {ln: row[0] for ln, row in f.lines.items()} for f in table.functions}
    assert rows["make"] == {17: 4, 18: 4}  # occurrences, as memory_profiler counts them
    assert rows["blob"][6] == 1
    text = summary(result)
    assert "Line #  Occurrences    Allocated          Net         Peak   Line Contents" in text
    assert text.endswith("profkit: wrote prof/combined-mem.json (show it again with: profkit show "
                         "prof/combined-mem.json)\n")


def test_lines_with_nothing_chosen(project):
    result = run(project, "--profkit-lines")
    result.assert_outcomes(passed=3)
    assert "profkit: no function was profiled: choose them with --profkit-func PATTERN, or mark " \
           "them with @profkit.profile\n" in summary(result)


# ---- the markers ----------------------------------------------------------------------

LIMITS = """\
import pytest

from app import Box, leaf, make, work

MIB = 1 << 20


@pytest.mark.limit_memory("4 MB")
def test_mem_over():
    make(5 * MIB)


@pytest.mark.limit_memory("4 MB")
def test_mem_peak_not_total():
    for _ in range(3):
        make(3 * MIB)  # 9 MiB in all, never more than 3 at once


@pytest.mark.limit_memory("lots")
def test_mem_bad_size():
    pass


@pytest.mark.limit_calls(leaf, 7)
def test_calls_at_the_limit():
    work(7)


@pytest.mark.limit_calls(leaf, 6)
def test_calls_over():
    work(7)


@pytest.mark.limit_calls(Box.get, 1)
@pytest.mark.limit_calls("lea*", 2)
def test_calls_method_and_name():
    Box().get()
    Box().get()


@pytest.mark.limit_calls(len, 2)
def test_calls_builtin():
    for _ in range(3):
        len([])


@pytest.mark.limit_calls(Box, 1)
def test_calls_bad_target():
    pass


@pytest.mark.limit_calls(leaf, 0)
def test_own_failure_stands():
    assert work(2) == 0
"""


@pytest.mark.parametrize("mode", [[], ["--profkit"], ["--profkit-lines", "--profkit-func", "work"]])
def test_limits(project, mode):
    project.makepyfile(test_limits=LIMITS)
    result = run(project, "test_limits.py", "-v", *mode)
    result.assert_outcomes(passed=2, failed=7)
    result.stdout.fnmatch_lines_random([
        "test_limits.py::test_mem_peak_not_total PASSED*",
        "test_limits.py::test_calls_at_the_limit PASSED*",
        "Test was limited to 4.0 MiB but allocated 5.0 MiB at its peak",
        "limit_memory: not a size: 'lots' (write it as '24 MB', '512 KiB', '1.5 GB')",
        "leaf was called 7 times, more than the limit of 6",
        "Box.get was called 2 times, more than the limit of 1",
        "<built-in method builtins.len> was called 3 times, more than the limit of 2",
        "limit_calls: cannot count the calls of <class 'app.Box'>: give a function, a method, a "
        "builtin or a name",
        ">       assert work(2) == 0",
    ])
    out = result.stdout.str()
    assert "During handling" not in out and "lea* was called" not in out  # two calls: at its limit
    if mode[:1] == ["--profkit-lines"]:
        # (test_mem_bad_size failed before it ran)
        assert "profkit: 2 test(s) marked limit_memory ran without the line profiler (one line " \
               "tracer at a time): test_limits.py::test_mem_over, test_limits.py::" \
               "test_mem_peak_not_total\n" in out


@pytest.mark.parametrize("text, size", [
    ("24 MB", 24 << 20), ("24MB", 24 << 20), ("24 mb", 24 << 20), ("1.5 GiB", 3 << 29),
    ("512 KiB", 512 << 10), ("512 kb", 512 << 10), ("100 B", 100), (".5 MiB", 1 << 19),
    ("2 GB", 2 << 30), ("1 TB", 1 << 40),
])
def test_sizes_as_pytest_memray_reads_them(text, size):
    assert pytest_plugin.parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "24", "MB", "-1 MB", "24 XB", "1e3 MB"])
def test_sizes_that_are_not(text):
    with pytest.raises(ValueError, match=r"not a size: "):
        pytest_plugin.parse_size(text)


def test_builtin_labels_are_cprofiles():
    import cProfile
    import time

    from profkit._pytest_session import builtin_label

    prof = cProfile.Profile()
    box = []
    prof.runcall(lambda: (len(box), box.append(1), time.perf_counter(), dict.fromkeys("a"),
                          "".join([])))
    prof.create_stats()
    labels = {k[2] for k in prof.stats if k[0] == "~"}
    for func in (len, box.append, list.append, time.perf_counter, dict.fromkeys, "".join):
        if func is list.append:
            assert builtin_label(func) == builtin_label(box.append)
            continue
        assert builtin_label(func) in labels, (func, labels)
