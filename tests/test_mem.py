"""profkit mem and profkit.LineMemoryProfiler: line-by-line memory, tested
against memory_profiler where it reports, and against exact byte counts."""
import io
import os
import re
import sys
import textwrap

import pytest

import profkit
from conftest import ENTRIES, EXAMPLES, RSS_FALLS_ON_FREE, write
from profkit.memprof import LineMemoryProfiler, show_results

MIB = 1048576
MEM = os.path.join(EXAMPLES, "memory")
ROW = re.compile(r"^\s*(\d+)((?:\s+-?[\d.]+ MiB)*)\s+(\d+)((?:\s+-?[\d.]+ MiB)*)\s")
HEAD_RSS = "Line #    Mem usage    Increment  Occurrences   Line Contents"
HEAD_BOTH = ("Line #    Mem usage    Increment  Occurrences    Allocated          Net         Peak"
             "   Line Contents")
HEAD_ALLOC = "Line #  Occurrences    Allocated          Net         Peak   Line Contents"


def table(out):
    """{lineno: [occurrences, MiB figures...]} of a printed report (the RSS
    figures come first, then the allocation ones, as printed)."""
    rows = {}
    for line in out.splitlines():
        m = ROW.match(line + " ")
        if m:
            before = [float(x) for x in re.findall(r"(-?[\d.]+) MiB", m.group(2))]
            after = [float(x) for x in re.findall(r"(-?[\d.]+) MiB", m.group(4))]
            rows.setdefault(int(m.group(1)), []).append([int(m.group(3))] + before + after)
    return rows


def test_refactored_example_shows_rise_fall_rise(cli):
    r = cli("mem", os.path.join(MEM, "mem_kern_refactored.py"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("150 lists alive\nFilename: ")
    lines = r.stdout.splitlines()
    assert lines[3] == HEAD_RSS and lines[4] == "=" * len(HEAD_RSS)
    t = table(r.stdout)
    assert sorted(t) == [17, 19, 20, 21, 22]
    assert all(rows[0][0] == 1 for rows in t.values())
    (_, mem19, inc19), (_, _, inc20), (_, mem21, inc21) = t[19][0], t[20][0], t[21][0]
    assert inc19 > 300 and inc21 > 300
    if RSS_FALLS_ON_FREE:
        assert inc20 < -100  # half the lists go back to the kernel
    assert mem21 > mem19
    assert "    18                                         def main():" in lines


def test_both_backends_add_the_exact_columns(cli, tmp_path):
    script = write(tmp_path / "exact.py", """
        @profile
        def work():
            x = bytearray(50_000_000)
            y = 1
            del x
            return y

        work()
    """.replace("\n        ", "\n"))
    r = cli("mem", "--backend", "both", "--precision", "3", script)
    assert r.returncode == 0, r.stderr
    assert HEAD_BOTH in r.stdout
    t = table(r.stdout)
    occ, mem, inc, alloc, net, peak = t[4][0]
    assert occ == 1
    assert alloc == pytest.approx(50_000_000 / MIB, rel=0.01)
    assert net == pytest.approx(50_000_000 / MIB, rel=0.01)
    assert peak == pytest.approx(50_000_000 / MIB, rel=0.01)
    assert t[6][0][4] == pytest.approx(-50_000_000 / MIB, rel=0.01)  # del x: Net
    assert abs(t[5][0][3]) < 0.01  # y = 1 allocates nothing
    r = cli("mem", "--backend", "alloc", script)
    assert HEAD_ALLOC in r.stdout and "Mem usage" not in r.stdout


def test_numpy_buffers_are_counted_before_their_pages_are_touched(cli, tmp_path):
    np = pytest.importorskip("numpy")
    if tuple(int(x) for x in np.__version__.split(".")[:2]) < (1, 22):
        pytest.skip("numpy < 1.22 has no memory handler API")
    script = write(tmp_path / "np.py", "import numpy\n\n@profile\ndef f():\n"
                   "    a = numpy.zeros((4000, 4000))\n    return a.shape\n\nf()\n")
    r = cli("mem", "-b", "alloc", "-p", "2", script)
    assert r.returncode == 0, r.stderr
    occ, alloc, net, peak = table(r.stdout)[5][0]
    assert alloc == pytest.approx(128_000_000 / MIB, rel=0.01)


OCC_SCRIPT = """\
@profile
def loops(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            total += i
        else:
            total -= 1
    k = 0
    while k < 5:
        k += 1
    squares = [x * x for x in range(10)]
    evens = {x for x in range(10) if x % 2 == 0}
    try:
        raise ValueError("x")
    except ValueError:
        total += 1
    return total + len(squares) + len(evens)


@profile
def rec(n):
    if n <= 1:
        return 1
    return n * rec(n - 1)


@profile
def outer():
    def inner(a):
        return a + 1
    s = 0
    for i in range(4):
        s += inner(i)
    f = lambda q: q * 2
    return s + f(3)


loops(20)
loops(7)
rec(5)
outer()
"""


def test_occurrences_equal_memory_profilers_line_for_line(cli, tmp_path):
    pytest.importorskip("memory_profiler")
    import subprocess

    script = write(tmp_path / "occ.py", OCC_SCRIPT)
    theirs = subprocess.run([sys.executable, "-m", "memory_profiler", script], capture_output=True,
                            text=True, cwd=str(tmp_path))
    assert theirs.returncode == 0, theirs.stderr
    ours = cli("mem", script)
    assert ours.returncode == 0, ours.stderr
    a = {ln: [row[0] for row in rows] for ln, rows in table(theirs.stdout).items()}
    b = {ln: [row[0] for row in rows] for ln, rows in table(ours.stdout).items()}
    assert len(a) >= 25
    assert a == b
    src = OCC_SCRIPT.splitlines()
    loop_head = src.index("    for i in range(n):") + 1
    outer_for = src.index("    for i in range(4):") + 1
    assert b[loop_head] == [29] and b[outer_for] == [5]  # 21 + 8 loop tests; 4 + 1


def test_occurrences_with_the_legacy_hook_on_312(cli, tmp_path):
    if sys.version_info < (3, 12):
        pytest.skip("the legacy hook is the only one before 3.12")
    script = write(tmp_path / "occ.py", OCC_SCRIPT)
    mon = table(cli("mem", script).stdout)
    leg = table(cli("mem", script, env={"PROFKIT_BACKEND": "legacy"}).stdout)
    assert {k: [r[0] for r in v] for k, v in mon.items()} == {k: [r[0] for r in v] for k, v in leg.items()}


def test_generators_are_reported(cli, tmp_path):
    script = write(tmp_path / "gen.py", "@profile\ndef gen(n):\n    for i in range(n):\n"
                   "        yield i * 2\n\nprint(sum(gen(5)))\n")
    r = cli("mem", script)
    assert r.stdout.startswith("20\n")
    t = table(r.stdout)
    assert t[3][0][0] == 6 and t[4][0][0] == 10


def test_pitfall_example_reports_the_inner_function_and_hints_at_the_caller(cli):
    r = cli("mem", "-b", "both", os.path.join(MEM, "mem_kern.py"))
    assert r.returncode == 0, r.stderr
    t = table(r.stdout)
    occ, _mem, inc, alloc, net, _peak = t[16][0]
    assert occ == 200 and t[14][0][0] == 200
    assert alloc > 600 and net > 600  # 200 lists of 100_000 ints, 3.4 to 3.8 MiB each
    hints = [ln for ln in r.stderr.splitlines() if "hint:" in ln]
    assert len(hints) == 1
    assert "make_list returned what it allocated" in hints[0]
    assert "its caller build (mem_kern.py:" in hints[0] and "-f build" in hints[0]


def test_memory_profiler_imports_run_unchanged(cli, tmp_path):
    script = write(tmp_path / "mp.py", textwrap.dedent("""\
        from memory_profiler import profile

        log = open("report.txt", "w")

        @profile(precision=3, stream=log)
        def f():
            a = [0] * 1000
            return len(a)

        @profile
        def g():
            return f() + 1

        print(g())
        """))
    r = cli("mem", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("1001\n")
    assert "def g():" in r.stdout and "def f():" not in r.stdout
    report = (tmp_path / "report.txt").read_text()
    assert "def f():" in report and re.search(r"\d+\.\d{3} MiB", report)


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_profkit_profile_and_name_patterns(cli, tmp_path):
    script = write(tmp_path / "pat.py", textwrap.dedent("""\
        from profkit import profile

        def helper():
            return [1] * 10

        @profile
        def marked():
            return helper()

        marked()
        """))
    r = cli("mem", "-f", "helper", script)
    assert r.returncode == 0, r.stderr
    assert "def helper():" in r.stdout and "def marked():" in r.stdout
    r = cli("mem", "-f", "nothing_like_this", script)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == "profkit mem: error: -f nothing_like_this matched no function"


def test_no_marked_function_says_so_and_still_runs(cli, tmp_path):
    script = write(tmp_path / "plain.py", "print('ran')\n")
    r = cli("mem", script)
    assert r.stdout == "ran\n"
    assert r.returncode == 0  # the program's, as under python -m memory_profiler
    assert r.stderr.strip().splitlines() == [
        "profkit mem: no function was profiled: mark functions with @profile, or choose "
        "them with -f PATTERN or --module MOD"]


def test_saved_report_shows_again_and_damage_is_one_line(cli, tmp_path):
    script = write(tmp_path / "s.py", "@profile\ndef f():\n    return [0] * 10\n\nf()\n")
    r = cli("mem", "-o", "rep.json", "-b", "both", script)
    assert r.returncode == 0, r.stderr
    shown = cli("show", "rep.json")
    assert shown.returncode == 0
    assert shown.stdout == r.stdout
    (tmp_path / "bad.json").write_text('{"format": "profkit-line-memory", "functions": [{"lines"')
    bad = cli("show", "bad.json")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "damaged memory report" in bad.stderr


def test_script_errors_and_exit_codes_pass_through(cli, tmp_path):
    script = write(tmp_path / "boom.py", "@profile\ndef f():\n    x = [1] * 5\n    raise KeyError('k')\n\nf()\n")
    r = cli("mem", script)
    assert r.returncode == 1
    assert "def f():" in r.stdout and "KeyError: 'k'" in r.stderr
    assert table(r.stdout)[4][0][0] == 1
    script = write(tmp_path / "exit.py", "import sys\n@profile\ndef f():\n    sys.exit(4)\n\nf()\n")
    assert cli("mem", script).returncode == 4


def test_other_threads_never_charge_the_wrong_line(cli, tmp_path):
    script = write(tmp_path / "th.py", textwrap.dedent("""\
        import threading

        def worker(out):
            out.append(bytearray(40_000_000))

        @profile
        def in_thread():
            y = bytearray(10_000_000)
            return len(y)

        @profile
        def main():
            out = []
            t = threading.Thread(target=worker, args=(out,))
            t.start()
            t.join()
            w = threading.Thread(target=in_thread)
            w.start()
            w.join()
            return len(out)

        main()
        """))
    r = cli("mem", "-b", "alloc", "-p", "2", script)
    assert r.returncode == 0, r.stderr
    t = table(r.stdout)
    # main's lines: the worker's 40 MB is nobody's line in main
    assert all(rows[0][1] < 1.0 for ln, rows in t.items() if 13 <= ln <= 20)
    # in_thread, profiled in its own thread: its own 10 MB on its own line
    assert t[8][0][1] == pytest.approx(10_000_000 / MIB, rel=0.01)


def test_blocks_from_before_the_hook_are_freed_safely(tmp_path):
    before = bytearray(30_000_000)
    lp = LineMemoryProfiler(backend="alloc")

    def drop(b):
        b.clear()
        return bytearray(1000)

    lp.add_function(drop)
    lp.runcall(drop, before)
    [func] = lp.get_stats().functions
    row = func.lines[drop.__code__.co_firstlineno + 1]  # b.clear()
    assert row[0] == 1
    assert abs(row[4]) < 4096  # the 30 MB freed were not ours to count (a few small blocks may be)


def test_line_memory_profiler_api():
    lp = LineMemoryProfiler(backend="both")

    @lp
    def build(n):
        data = [bytearray(1000) for _ in range(n)]
        return len(data)

    assert build(200) == 200
    assert build(100) == 100
    stats = lp.get_stats()
    [func] = stats.functions
    first = build.__wrapped__.__code__.co_firstlineno
    assert func.lines[first][0] == 2
    assert func.lines[first + 3][0] == 2  # the return line, once per call
    assert func.lines[first + 2][3] >= 300 * 1000  # bytes allocated by the comprehension line
    cmap = lp.code_map
    [(code, rows)] = cmap.items()
    assert code is build.__wrapped__.__code__
    assert all(len(v) == 3 for v in rows.values())
    buf = io.StringIO()
    show_results(lp, stream=buf, precision=2)
    text = buf.getvalue()
    assert "Filename: " + build.__wrapped__.__code__.co_filename in text
    assert HEAD_BOTH in text and "data = [bytearray(1000) for _ in range(n)]" in text
    with pytest.raises(ValueError, match="unknown backend"):
        LineMemoryProfiler(backend="psutil")


def test_profile_decorator_is_a_no_op_outside_profkit_mem():
    def f():
        return 3

    assert profkit.profile(f) is f


@pytest.mark.parametrize("words", [
    [], ["-o", "r.json"], ["--outfile=r.json", "-f", "a", "--func", "b.*"], ["--module", "m", "-p", "3"],
    ["--precision=0", "-b", "alloc"], ["--backend", "both", "-f", "x", "-f", "y"],
])
def test_quick_option_reading_agrees_with_argparse(words):
    from profkit.cli import mem

    quick = mem.quick_options(words)
    full = mem.parser().parse_args(words)
    assert quick is not None
    assert vars(quick) == vars(full)


@pytest.mark.parametrize("words", [["-h"], ["-p", "12"], ["-b", "psutil"], ["--prec", "2"], ["-p3"],
                                   ["-o"], ["--unknown"]])
def test_quick_option_reading_leaves_the_unusual_to_argparse(words):
    from profkit.cli import mem

    assert mem.quick_options(words) is None
