"""What loads when: ``import profkit`` and the commands that only read files
(``plot``, ``show``, ``peak``) never load the C engine, and neither does the
child of ``profkit run`` until the program calls a marked function.  Each
case runs in a fresh interpreter under ``-X importtime``, whose stderr names
every module imported."""
import marshal
import os
import subprocess
import sys

import pytest

from conftest import write
from profkit.formats import linemem, lprof, mprof
from profkit.report.model import FunctionMemory, MemoryTable

ENGINE = "profkit._engine"


def imported(args, cwd, pass_fds=()):
    """The modules ``python -X importtime ARGS`` imported, and its result."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    r = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=cwd, env=env,
                       capture_output=True, text=True, pass_fds=pass_fds, timeout=120)
    names = {line.rsplit("|", 1)[1].strip() for line in r.stderr.splitlines()
             if line.startswith("import time:")}
    return names, r


def saved_profiles(folder):
    """One file of each kind, written without the engine."""
    with open(folder / "p.dat", "w") as f:
        f.write("CMDLINE python p.py\n")
        for i in range(5):
            f.write(mprof.mem_line(10.0 + i, 1000.0 + i / 10))
        f.write(mprof.func_line("__main__.f", 10.0, 1000.1, 13.0, 1000.3, 1))
    src = write(folder / "src.py", "def f():\n    return 1\n")
    lprof.dump(lprof.LineStats({(src, 1, "f"): [(2, 3, 4000)]}, 1e-9), str(folder / "p.lprof"))
    with open(folder / "p.prof", "wb") as f:
        marshal.dump({(src, 1, "f"): (1, 1, 0.5, 0.5, {})}, f)
    table = MemoryTable([FunctionMemory(src, 1, "f", 2, {1: [1, 0, 1 << 20, 0, 0, 0]})], "rss")
    linemem.dump(table, str(folder / "p.json"))


def test_import_profkit_loads_no_engine(tmp_path):
    names, r = imported(["-c", "import profkit\n@profkit.profile\ndef f():\n    pass\nf()"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "profkit" in names and ENGINE not in names


@pytest.mark.parametrize("args", [
    ["plot", "p.dat", "-o", "p.svg"], ["plot", "p.dat", "-o", "p.html"], ["peak", "p.dat"],
    ["show", "p.lprof"], ["show", "p.prof"], ["show", "p.json"], ["list"],
])
def test_commands_that_read_files_load_no_engine(tmp_path, args):
    saved_profiles(tmp_path)
    names, r = imported(["-m", "profkit", *args], tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"profkit.cli.{args[0].replace('list', 'list_')}" in names
    assert ENGINE not in names


def test_profiling_commands_do_load_it(tmp_path):
    # the check above can see the engine
    write(tmp_path / "p.py", "@profile\ndef f():\n    return 1\nf()\n")
    names, r = imported(["-m", "profkit", "lines", "p.py"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert ENGINE in names


@pytest.mark.parametrize("marked", [False, True])
def test_the_run_child_loads_the_engine_at_the_first_marked_call(tmp_path, marked):
    from profkit import timeline_child

    write(tmp_path / "p.py", ("@profile\n" if marked else "") + "def f():\n    return 1\nf()\n")
    fd = os.open(tmp_path / "p.dat", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    ready, ready_w = os.pipe()
    try:
        command = timeline_child.command(fd, ready_w, ["p.py"])
        names, r = imported(command[1:], tmp_path, pass_fds=(fd, ready_w))
    finally:
        os.close(fd)
        os.close(ready_w)
        started = os.read(ready, 1)
        os.close(ready)
    assert r.returncode == 0, r.stderr
    assert started == b"1"
    assert (ENGINE in names) == marked
    funcs = [line for line in (tmp_path / "p.dat").read_text().splitlines() if line.startswith("FUNC")]
    assert len(funcs) == (1 if marked else 0)
    if marked:
        assert funcs[0].split()[1] == "__main__.f" and funcs[0].split()[-1] == "1"
