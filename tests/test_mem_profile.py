"""memory_profiler's ``profile`` where scripts use it, run side by side with
memory_profiler itself on the same script: ``with profile:``, ``stream=`` and
``precision=`` (per call, as memory_profiler writes them), the exit code when
nothing is profiled, and -f with modules imported for the first time."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

from conftest import ENTRIES, write
from test_mem import table

MIB_FIGURE = re.compile(r" +-?\d+\.(\d+) MiB")
BACKENDS = [{}] + ([{"PROFKIT_BACKEND": "legacy"}] if sys.version_info >= (3, 12) else [])
BACKEND_IDS = ["default"] + (["legacy"] if sys.version_info >= (3, 12) else [])


def memory_profiler(*args, cwd):
    """``python -m memory_profiler ARGS``; ``"-", ARGS``: plain ``python ARGS``
    (for a script that imports memory_profiler)."""
    pytest.importorskip("memory_profiler")
    words = list(args[1:]) if args[0] == "-" else ["-m", "memory_profiler", *args]
    return subprocess.run([sys.executable, *words], cwd=str(cwd), capture_output=True, text=True,
                          timeout=120)


def decimals(report):
    """The numbers of decimals the MiB figures of a report have."""
    return {len(d) for d in MIB_FIGURE.findall(report)}


def occurrences(out):
    return {ln: [row[0] for row in rows] for ln, rows in table(out).items()}


def shape(report):
    """A report with its MiB figures blanked (their decimals kept)."""
    return MIB_FIGURE.sub(lambda m: " x." + "d" * len(m.group(1)) + " MiB", report)


# ---- with profile: --------------------------------------------------------------------

WITH_BLOCK = """\
def helper():
    a = [0] * 100000
    return len(a)

@profile
def marked(n):
    b = [1] * n
    return len(b)

profile.add_function(helper)
x = marked(10)
with profile:
    y = [2] * 300000
    helper()
    marked(20)
    z = 4
print("done", x)
"""


@pytest.mark.parametrize("env", BACKENDS, ids=BACKEND_IDS)
def test_with_profile_profiles_the_registered_functions_run_in_its_block(cli, tmp_path, env):
    # memory_profiler's `with profile:` switches its tracer on for the
    # block: the registered functions that run in it are profiled, the
    # block's own lines are not (they belong to no function).
    script = write(tmp_path / "blk.py", WITH_BLOCK)
    theirs = memory_profiler(script, cwd=tmp_path)
    ours = cli("mem", script, env=env)
    assert theirs.returncode == ours.returncode == 0, ours.stderr
    assert ours.stdout.startswith("done 10\n") and theirs.stdout.startswith("done 10\n")
    assert occurrences(ours.stdout) == occurrences(theirs.stdout) == {
        1: [1], 2: [1], 3: [1], 5: [2], 7: [2], 8: [2]}
    assert ours.stderr == ""


@pytest.mark.parametrize("env", BACKENDS, ids=BACKEND_IDS)
def test_with_profile_and_nothing_registered_reports_nothing(cli, tmp_path, env):
    script = write(tmp_path / "blk.py", "with profile:\n    y = [2] * 1000\nprint('done')\n")
    theirs = memory_profiler(script, cwd=tmp_path)
    assert (theirs.returncode, theirs.stdout) == (0, "done\n")
    r = cli("mem", script, env=env)
    assert (r.returncode, r.stdout) == (0, "done\n")
    assert r.stderr.splitlines() == [
        "profkit mem: no function was profiled: mark functions with @profile, or choose them "
        "with -f PATTERN or --module MOD"]


def test_with_profile_keeps_a_whole_run_tracer_on(cli, tmp_path):
    # With sys.monitoring (or -f) the tracer is on for the whole run: the
    # end of a `with profile:` block must not switch it off.
    script = write(tmp_path / "blk.py", textwrap.dedent("""\
        @profile
        def f():
            return [0] * 10
        with profile:
            f()
        f()
        """))
    r = cli("mem", "-f", "f", script)
    assert r.returncode == 0, r.stderr
    assert occurrences(r.stdout) == {1: [2], 3: [2]}


# ---- stream= and precision= -------------------------------------------------------------

STREAMS = """\
import io
from memory_profiler import profile

buf = io.StringIO()

@profile(stream=buf, precision=2)
def f(n):
    a = [0] * n
    return len(a)

f(1000)
f(10)
print("read back", buf.getvalue().count("Filename:"))
with open("log.txt", "w") as log:
    @profile(stream=log, precision=4)
    def g():
        return f(5) + 1
    g()
print(buf.getvalue().count("Filename:"), end=" ")
print(open("log.txt").read().count("Filename:"))
open("buf.txt", "w").write(buf.getvalue())
"""


def test_stream_and_precision_get_each_calls_report_as_memory_profiler_writes_it(cli, tmp_path):
    # memory_profiler writes a function marked with stream= to that stream
    # at the end of each call: the program can read it back, or close it,
    # before it ends (profkit wrote it after the run, into a closed file).
    script = write(tmp_path / "st.py", STREAMS)
    theirs = memory_profiler(script, cwd=tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    expected = {name: (tmp_path / name).read_text() for name in ("buf.txt", "log.txt")}
    ours = cli("mem", script)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout == "read back 2\n3 1\n"
    assert ours.stderr == ""
    for name in ("buf.txt", "log.txt"):
        got = (tmp_path / name).read_text()
        assert shape(got) == shape(expected[name])
        assert occurrences(got) == occurrences(expected[name])
    buf = (tmp_path / "buf.txt").read_text()
    assert occurrences(buf) == {6: [1, 1, 1], 8: [1, 1, 1], 9: [1, 1, 1]}  # a table per call
    assert decimals(buf) == {2}
    assert decimals((tmp_path / "log.txt").read_text()) == {4}


def test_a_stream_without_precision_takes_the_commands(cli, tmp_path):
    script = write(tmp_path / "st.py", textwrap.dedent("""\
        import sys

        @profile(stream=sys.stderr)
        def f():
            return [0] * 10

        @profile
        def g():
            return f()

        g()
        """))
    r = cli("mem", "--precision", "3", script)
    assert r.returncode == 0, r.stderr
    assert occurrences(r.stderr) == {3: [1], 5: [1]} and decimals(r.stderr) == {3}
    assert occurrences(r.stdout) == {7: [1], 9: [1]} and decimals(r.stdout) == {3}


def test_saved_report_keeps_the_functions_reported_per_call(cli, tmp_path):
    script = write(tmp_path / "st.py", STREAMS)
    r = cli("mem", "-o", "all.json", script)
    assert r.returncode == 0, r.stderr
    shown = cli("show", "all.json")
    assert occurrences(shown.stdout) == {6: [3], 8: [3], 9: [3], 15: [1], 17: [1]}


def test_stream_precision_under_plain_python_match_memory_profiler(tmp_path):
    # profkit's memory_profiler decorator for plain python: a table at the
    # end of each call, where and as memory_profiler prints it.
    body = textwrap.dedent("""\

        @profile(precision=3)
        def f(n):
            a = [0] * n
            return len(a)

        @profile
        def g():
            return f(1000) + f(10)

        def squares(n):
            for i in range(n):
                yield i * i
        squares = profile(squares)

        print(g())
        print(sum(squares(3)))
        """)
    write(tmp_path / "theirs.py", "from memory_profiler import profile" + body)
    write(tmp_path / "ours.py", "from profkit.memscript import profile" + body)
    theirs = memory_profiler("-", "theirs.py", cwd=tmp_path)
    ours = subprocess.run([sys.executable, "ours.py"], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=120)
    assert theirs.returncode == ours.returncode == 0, ours.stderr
    # memory_profiler profiles a generator's creation, not its steps: its
    # table is empty and not printed; profkit's covers its iteration.
    ours_out = ours.stdout.replace("ours.py", "theirs.py")
    mine, rest = ours_out.split("1010\n")
    assert shape(mine + "1010\n") == shape(theirs.stdout.split("5\n")[0])
    assert rest.endswith("5\n") and occurrences(rest) == {11: [1], 12: [4], 13: [6]}
    assert occurrences(mine) == {2: [1, 1], 4: [1, 1], 5: [1, 1], 7: [1], 9: [1]}
    assert [decimals(t) for t in mine.split("Filename:")[1:]] == [{3}, {3}, {1}]


# ---- nothing profiled: the program's exit code stands ---------------------------------

@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
@pytest.mark.parametrize("status", [0, 3])
@pytest.mark.parametrize("mode", ["mem", "lines"])
def test_nothing_profiled_keeps_the_programs_exit_code(cli, tmp_path, mode, status):
    script = write(tmp_path / "plain.py", f"print('ran')\nraise SystemExit({status})\n")
    if mode == "mem":
        reference = memory_profiler(script, cwd=tmp_path)
    else:
        kernprof = os.path.join(os.path.dirname(sys.executable), "kernprof")
        if not os.path.exists(kernprof):
            pytest.skip("kernprof is not installed")
        reference = subprocess.run([kernprof, "-l", "-v", script], cwd=str(tmp_path),
                                   capture_output=True, text=True, timeout=120)
    r = cli(mode, script)
    assert r.returncode == reference.returncode == status
    assert r.stdout == "ran\n"
    extra = ", --module MOD or --all" if mode == "lines" else " or --module MOD"
    assert r.stderr.splitlines()[0] == (
        f"profkit {mode}: no function was profiled: mark functions with @profile, or choose "
        f"them with -f PATTERN{extra}")


@pytest.mark.parametrize("mode", ["mem", "lines"])
def test_a_pattern_that_matches_nothing_is_still_an_error(cli, tmp_path, mode):
    script = write(tmp_path / "plain.py", "print('ran')\n")
    r = cli(mode, "-f", "nothing_like_this", script)
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == f"profkit {mode}: error: -f nothing_like_this matched no function"


# ---- -f and modules imported for the first time ----------------------------------------

@pytest.mark.parametrize("cli", ENTRIES + ("script-no-site",), indirect=True)
@pytest.mark.parametrize("mode", ["mem", "lines"])
def test_name_patterns_with_a_module_imported_for_the_first_time(cli, tmp_path, mode):
    # The selector's import hook once re-entered itself (RecursionError)
    # when the program imported a module not loaded yet, on a regular
    # install; `decimal` imports more modules (numbers, contextvars...) on
    # every version.
    script = write(tmp_path / "dec.py", textwrap.dedent("""\
        import sys
        print("decimal" in sys.modules)
        import decimal

        def work():
            return decimal.Decimal("1.5") * 2

        print(work())
        """))
    r = cli(mode, "-f", "work", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("False\n3.0\n")
    assert "RecursionError" not in r.stderr
    if mode == "mem":
        assert occurrences(r.stdout) == {5: [1], 6: [1]}
    else:
        assert "Function: work at line 5" in r.stdout
