"""``-m MODULE`` runs as ``python -m`` and ``python -m cProfile -m`` run it:
the package is imported inside the profiled run, its errors print as python
prints them, and ``-f MOD:PATTERN`` finds the module the program runs as
``__main__``.  Also: ``profkit run``'s summary of a program that ends at
once."""
import os
import pstats
import re
import subprocess
import sys
import types

import pytest

from conftest import ENTRIES, write
from test_mem_profile import occurrences

SLOW_INIT = """\
import sys
import colorsys
from . import helpers

print("init", sys.argv[0])


def setup(n):
    return sum(helpers.square(i) for i in range(n))


TABLE = setup(200)
"""

HELPERS = """\
def square(x):
    return x * x


def cube(x):
    return x * square(x)
"""

MAIN = """\
import sys
from slowpkg import helpers, TABLE


def main():
    return sum(helpers.cube(i) for i in range(10))


print(sys.argv[1:], TABLE, main())
"""


def make_package(root, init=SLOW_INIT, main=MAIN):
    os.mkdir(root / "slowpkg")
    write(root / "slowpkg" / "__init__.py", init)
    write(root / "slowpkg" / "helpers.py", HELPERS)
    if main is not None:
        write(root / "slowpkg" / "__main__.py", main)
    return str(root / "slowpkg")


def python(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, *args], cwd=str(cwd), env=env, capture_output=True,
                          text=True, timeout=120)


# ---- the package's import is part of the run ----------------------------------------------

@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_package_import_is_profiled_as_cprofile_profiles_it(cli, tmp_path):
    pkg = make_package(tmp_path)
    ours = cli("func", "-o", "ours.prof", "-m", "slowpkg", "a")
    theirs = python("-m", "cProfile", "-o", "theirs.prof", "-m", "slowpkg", "a", cwd=tmp_path)
    assert ours.returncode == theirs.returncode == 0, ours.stderr + theirs.stderr
    assert ours.stdout == f"init -m\n['a'] 2646700 2025\n"
    colorsys = __import__("colorsys").__file__

    def counts(path):
        # the program's functions: the package's and what it imports first
        stats = pstats.Stats(str(tmp_path / path)).stats
        return {k: v[:2] for k, v in stats.items() if k[0].startswith(pkg + os.sep) or k[0] == colorsys}

    a, b = counts("ours.prof"), counts("theirs.prof")
    assert a == b
    names = {(os.path.basename(f), name): n for (f, _ln, name), n in a.items()}
    assert names[("__init__.py", "setup")] == (1, 1)
    assert names[("helpers.py", "square")] == (210, 210)
    assert names[("__init__.py", "<module>")] == names[("colorsys.py", "<module>")] == (1, 1)
    assert len(a) == 10  # 3 in __init__.py, 3 in helpers.py, 3 in __main__.py, colorsys


def test_plain_python_sees_the_same_program(tmp_path):
    # what the program sees while its package is imported: sys.argv[0] is
    # "-m", as python sets it, and the package loads once
    make_package(tmp_path)
    plain = python("-m", "slowpkg", "a", cwd=tmp_path)
    assert plain.stdout == "init -m\n['a'] 2646700 2025\n"


@pytest.mark.parametrize("mode", ["lines", "mem"])
def test_functions_run_at_import_time_are_profiled(cli, tmp_path, mode):
    make_package(tmp_path)
    r = cli(mode, "-f", "slowpkg:setup", "-f", "slowpkg.helpers:square", "-m", "slowpkg")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("init -m\n[] 2646700 2025\n")
    # setup runs once, in __init__; square 210 times: 200 from setup, 10 from cube
    if mode == "mem":  # a function's first line counts its calls
        assert occurrences(r.stdout)[8] == [1] and occurrences(r.stdout)[1] == [210]
    else:
        assert re.search(r"^\s+2\s+210\s", r.stdout, re.M)
        assert "Function: setup at line 8" in r.stdout


def test_profkit_run_leaves_the_import_to_the_program(cli, tmp_path):
    # profkit run used to import the package in its own process first:
    # its __init__ ran twice.
    make_package(tmp_path)
    r = cli("run", "-o", "x.dat", "-m", "slowpkg", "a")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "init -m\n['a'] 2646700 2025\n"


# ---- errors as python gives them -------------------------------------------------------

RAISES = """\
import sys
print("argv0", sys.argv[0])


def fail():
    raise ValueError("boom in init")


fail()
"""


def traceback_of(stderr):
    """The traceback python printed, without runpy's frames."""
    lines = stderr[stderr.index("Traceback (most recent call last):"):].splitlines()
    out = []
    skip = False
    for line in lines:
        if line.startswith("  File "):
            skip = "<frozen runpy>" in line or "runpy.py" in line
        if not skip:
            out.append(line)
        if out[1:] and not line.startswith(" "):  # the exception's own line ends it
            break
    return out


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
@pytest.mark.parametrize("mode", ["func", "lines", "mem", "run"])
def test_a_package_that_raises_prints_pythons_traceback(cli, tmp_path, mode):
    make_package(tmp_path, init=RAISES)
    plain = python("-m", "slowpkg", cwd=tmp_path)
    r = cli(mode, *(["-o", "x.dat"] if mode == "run" else []), "-m", "slowpkg")
    assert r.returncode == plain.returncode == 1
    assert r.stdout.startswith("argv0 -m\n") and plain.stdout == "argv0 -m\n"
    expected = traceback_of(plain.stderr)
    assert expected[-1] == "ValueError: boom in init" and len(expected) >= 6
    assert traceback_of(r.stderr) == expected
    assert "profkit" not in "\n".join(traceback_of(r.stderr))  # no frame of profkit's own


@pytest.mark.parametrize("args, message", [
    (["-m", "no_such_module_here"], "profkit: error: no module named 'no_such_module_here'"),
    (["-m", "slowpkg.nope"], "profkit: error: no module named 'slowpkg.nope'"),
    (["-m", "tool.py"], "profkit: error: no module named 'tool.py' (try using 'tool' instead "
                        "of 'tool.py' as the module name)"),
    (["-m", "slowpkg"], "profkit: error: no module named 'slowpkg.__main__'; 'slowpkg' is a "
                        "package and cannot be directly executed"),
])
@pytest.mark.parametrize("mode", ["func", "lines", "mem", "run"])
def test_a_module_that_cannot_run_is_one_line(cli, tmp_path, mode, args, message):
    make_package(tmp_path, main=None)
    write(tmp_path / "tool.py", "print('tool ran')\n")
    r = cli(mode, *args)
    plain = python(*args, cwd=tmp_path)
    assert r.returncode == plain.returncode == 1
    assert r.stderr.splitlines() == [message]
    assert r.stdout == ""  # (python -m tool.py runs tool first; profkit runs nothing)


# ---- -f MOD:PATTERN with -m MOD -----------------------------------------------------------

TOOL = """\
def work(n):
    return [i for i in range(n)]


def idle():
    return 0


print(len(work(5)))
"""


@pytest.mark.parametrize("mode", ["lines", "mem"])
@pytest.mark.parametrize("choice, run, expected", [
    (["-f", "tool:work"], ["-m", "tool"], ["work"]),
    (["--module", "tool"], ["-m", "tool"], {"lines": ["work", "idle"], "mem": ["work"]}),
    (["-f", "tool:work"], ["tool.py"], ["work"]),
    (["-f", "slowpkg:main"], ["-m", "slowpkg"], ["main"]),
    (["-f", "slowpkg.__main__:main"], ["-m", "slowpkg"], ["main"]),
    (["-f", "slowpkg:setup"], ["-m", "slowpkg"], ["setup"]),
])
def test_the_module_run_as_main_answers_to_its_name(cli, tmp_path, mode, choice, run, expected):
    make_package(tmp_path)
    write(tmp_path / "tool.py", TOOL)
    r = cli(mode, *choice, *run)
    assert r.returncode == 0, r.stderr
    if mode == "lines":
        reported = [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("Function:")]
    else:
        reported = re.findall(r"^\s+\d+\s+[\d.]+ MiB\s+-?[\d.]+ MiB\s+\d+\s+def (\w+)\(", r.stdout, re.M)
    assert reported == (expected[mode] if isinstance(expected, dict) else expected)


# ---- profkit run: a program that ends at once ------------------------------------------------

def run_result(count, span, cpu):
    from profkit.memtime import RunResult

    summary = {"count": count, "first_time": 100.0, "last_time": 100.0 + span,
               "peak_time": 100.0, "peak": 12.5}
    return RunResult("x.dat", 0, types.SimpleNamespace(ru_maxrss=0), summary, cpu, 1)


def test_a_share_of_cpu_needs_a_span_of_samples():
    assert run_result(1, 0.0, 0.0003).describe() == [
        "1 sample; peak 12.5 MiB at 0.00 s", "sampling used 0 ms of CPU"]
    assert run_result(2, 0.0, 0.0003).describe()[1] == "sampling used 0 ms of CPU"
    assert run_result(11, 1.0, 0.004).describe() == [
        "11 samples; peak 12.5 MiB at 0.00 s", "sampling used 4 ms of CPU (0.40% of one core)"]


def test_profkit_run_on_a_program_that_ends_at_once(cli, tmp_path):
    write(tmp_path / "quick.py", "pass\n")
    r = cli("run", "-o", "q.dat", "quick.py")
    assert r.returncode == 0, r.stderr
    samples = sum(1 for ln in (tmp_path / "q.dat").read_text().splitlines() if ln.startswith("MEM "))
    lines = r.stderr.splitlines()
    if samples == 0:
        assert lines[1] == "profkit run: the program ended before its first sample"
        return
    assert re.fullmatch(rf"profkit run: {samples} samples?; peak [\d.]+ MiB at [\d.]+ s", lines[1])
    share = re.fullmatch(r"profkit run: sampling used \d+ ms of CPU( \((\d+\.\d\d)% of one core\))?",
                         lines[2])
    assert share, lines[2]
    if samples == 1:
        assert share.group(1) is None
    else:
        assert float(share.group(2)) <= 100.0
