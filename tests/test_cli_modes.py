"""What every profiling mode must do alike, tested as a user runs profkit
(a subprocess, from a scratch folder, started each way a user starts it):
choose functions with -f/--module without disturbing the program's imports,
and deliver the report whatever the program does to sys.stdout or to its
current folder."""
import os
import re
import subprocess

import pytest

from conftest import ENTRIES, write

# ---- -f / --module: the import hook --------------------------------------------

LIB = """\
def helper(n):
    total = 0
    for i in range(n):
        total += i
    return total
"""

APP = """\
import fractions
import mylib

def work():
    return mylib.helper(10)

print(work(), fractions.Fraction(3, 2))
"""


def functions_reported(mode, out):
    """The functions a lines or mem report shows, in order."""
    if mode == "lines":
        return [ln.split()[1] for ln in out.splitlines() if ln.startswith("Function:")]
    row = r"^\s+\d+\s+[\d.]+ MiB\s+[\d.]+ MiB\s+\d+\s+def (\w+)\("
    return [m.group(1) for m in re.finditer(row, out, re.M)]


# script-no-site: as in a regular install, where nothing imported
# importlib.machinery before the hook went in (see conftest.CLI).
@pytest.mark.parametrize("cli", ENTRIES + ("script-no-site",), indirect=True)
@pytest.mark.parametrize("mode", ["lines", "mem"])
@pytest.mark.parametrize("choice, expected", [
    (["-f", "work"], ["work"]),
    (["-f", "mylib:helper"], ["helper"]),
    (["--module", "mylib"], ["helper"]),
])
def test_selection_leaves_the_programs_imports_alone(cli, tmp_path, mode, choice, expected):
    # The script imports modules that are not loaded yet (fractions, and
    # mylib beside it, found through its own sys.path[0]), so they go
    # through profkit's import hook, which must neither recurse nor lose
    # them; profkit runs from another folder than the script's.
    os.mkdir(tmp_path / "app")
    write(tmp_path / "app" / "mylib.py", LIB)
    write(tmp_path / "app" / "main.py", APP)
    r = cli(mode, *choice, os.path.join("app", "main.py"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("45 3/2\n")
    assert functions_reported(mode, r.stdout) == expected
    if mode == "lines":
        assert r.stderr.splitlines() == [
            "profkit: wrote main.py.lprof (show it again with: profkit show main.py.lprof)"]
    else:
        assert r.stderr == ""


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
@pytest.mark.parametrize("mode", ["lines", "mem"])
def test_module_options_look_where_the_program_looks(cli, tmp_path, mode):
    # --module and -f MOD: look where the program looks.  A module beside
    # the script is found (test above); one only in the folder profkit
    # starts from is not, as the program could not import it either.
    os.mkdir(tmp_path / "app")
    write(tmp_path / "app" / "mylib.py", LIB)
    write(tmp_path / "app" / "main.py", APP)
    write(tmp_path / "elsewhere.py", "def other():\n    return 1\n")
    r = cli(mode, "--module", "elsewhere", os.path.join("app", "main.py"))
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.splitlines() == ["profkit: error: --module elsewhere: no module named 'elsewhere'"]


# ---- the report reaches the real standard output -------------------------------

PROGRAMS = {
    "closes": "import sys\n"
              "print('out')\n"
              "sys.stdout.close()\n",
    "replaces": "import io, sys\n"
                "print('out')\n"
                "sys.stdout = io.StringIO()\n"
                "print('kept by the program')\n",
}

WORK = """\
@profile
def work():
    return sum(range(100))

work()
"""


def check_report(mode, out, script):
    """``out`` is the whole report of work() in ``script``."""
    if mode == "func":
        assert re.match(r"\s+\d+ function calls in [\d.]+ seconds\n", out)
        row = rf"^\s+1\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+ {re.escape(script)}:1\(work\)$"
        assert re.search(row, out, re.M)
    elif mode == "lines":
        assert out.startswith("Timer unit: 1e-06 s\n")
        assert "Function: work at line 1" in out
        assert re.search(r"^\s+3\s+1\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+return sum\(range\(100\)\)$", out, re.M)
        assert re.search(rf"^\s+[\d.]+ seconds - /.*/{re.escape(script)}:1 - work\n\Z", out, re.M)
    else:
        assert re.match(rf"Filename: /.*/{re.escape(script)}\n", out)
        assert re.search(r"^\s+3\s+[\d.]+ MiB\s+[\d.]+ MiB\s+1\s+return sum\(range\(100\)\)$", out, re.M)
    assert "kept by the program" not in out


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
@pytest.mark.parametrize("mode", ["func", "lines", "mem"])
@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_report_goes_to_the_real_stdout(cli, tmp_path, mode, program):
    write(tmp_path / "p.py", WORK + PROGRAMS[program])
    r = cli(mode, "p.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("out\n")
    check_report(mode, r.stdout[len("out\n"):], "p.py")
    if mode == "lines":
        assert r.stderr.splitlines() == [
            "profkit: wrote p.py.lprof (show it again with: profkit show p.py.lprof)"]
    else:
        assert r.stderr == ""


@pytest.mark.parametrize("mode", ["func", "lines", "mem"])
def test_report_goes_to_stderr_when_there_is_no_stdout(cli, tmp_path, mode):
    # profkit started with its standard output closed (`>&-`): python gives
    # the program sys.stdout = None, and the report goes to standard error.
    write(tmp_path / "p.py", WORK + "import sys\nassert sys.stdout is None\nprint('lost')\n")
    cmd = ["sh", "-c", 'exec "$@" >&-', "sh"] + cli.command(mode, "p.py")
    r = subprocess.run(cmd, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    report = r.stderr
    if mode == "lines":
        wrote = "profkit: wrote p.py.lprof (show it again with: profkit show p.py.lprof)\n"
        assert report.endswith(wrote)
        report = report[:-len(wrote)]
    check_report(mode, report, "p.py")


# ---- output files land where profkit was started -------------------------------

WANDERS = WORK + """\
import os, sys
how, away = sys.argv[1:]
os.chdir(away)
if how == "gone":
    os.rmdir(away)  # os.getcwd() now fails
print("away")
"""


@pytest.mark.parametrize("how", ["moved", "gone"])
@pytest.mark.parametrize("mode, args, saved, message", [
    pytest.param("func", ["-o", "out.prof"], "out.prof",
                 "profkit: wrote out.prof (read it with: python -m pstats out.prof)", id="func-o"),
    pytest.param("lines", ["-o", "out.lprof"], "out.lprof",
                 "profkit: wrote out.lprof (show it again with: profkit show out.lprof)", id="lines-o"),
    pytest.param("lines", [], "w.py.lprof",
                 "profkit: wrote w.py.lprof (show it again with: profkit show w.py.lprof)", id="lines"),
    pytest.param("mem", ["-o", "out.json"], "out.json",
                 "profkit: wrote out.json (show it again with: profkit show out.json)", id="mem-o"),
    pytest.param("run", ["-o", "out.dat"], "out.dat",
                 "profkit run: wrote out.dat (draw it with: profkit plot)", id="run-o"),
])
def test_relative_outputs_survive_the_program_changing_folder(cli, tmp_path, tmp_path_factory, mode,
                                                              args, saved, message, how):
    write(tmp_path / "w.py", WANDERS)
    away = str(tmp_path_factory.mktemp("away"))
    r = cli(mode, *args, "w.py", how, away)
    assert r.returncode == 0, r.stderr
    if mode in ("func", "run"):
        assert r.stdout == "away\n"
    else:
        assert r.stdout.startswith("away\n")
        check_report(mode, r.stdout[len("away\n"):], "w.py")
    if mode == "run":
        assert r.stderr.splitlines()[0] == "profkit run: sampling every 0.1 s into out.dat"
        assert r.stderr.splitlines()[-1] == message
    else:
        assert r.stderr.splitlines() == [message]
    assert sorted(os.listdir(tmp_path)) == sorted(["w.py", saved])
    assert (os.listdir(away) == []) if how == "moved" else not os.path.exists(away)
    again = cli("show", saved) if mode != "run" else cli("peak", saved)
    assert again.returncode == 0, again.stderr
    assert ("work" in again.stdout) if mode != "run" else again.stdout.startswith(f"{saved}\t")
