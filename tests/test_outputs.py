"""Output paths that cannot be written: found before the program runs when
they can be foreseen (a folder that takes no new file, /proc, /sys, an
immutable file), and a profile saved elsewhere when they cannot (a full
disk), with the program's exit code kept.
"""
import os
import re
import stat
import subprocess

import pytest
from conftest import ENTRIES, write

from profkit.formats import linemem, lprof, mprof, pstats_io

PROGRAM = """\
@profile
def work():
    return sum(range(100))

work()
open("ran.txt", "w").close()
raise SystemExit(3)
"""
OUTPUT = {"func": "out.prof", "lines": "out.lprof", "mem": "out.json", "run": "out.dat"}
LOAD = {"func": pstats_io.load, "lines": lprof.load, "mem": linemem.load, "run": mprof.read}


def system(*cmd):
    """Run a system command; skips the test when this machine refuses it."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        pytest.skip(f"cannot run {cmd[0]} here: {exc}")
    if r.returncode != 0:
        pytest.skip(f"{' '.join(cmd[:3])} is refused here: {r.stderr.strip()}")


def chattr(flag, path):
    system("chattr", flag, str(path))


@pytest.fixture
def locked(tmp_path):
    """A folder nothing can be created in (immutable: root ignores modes)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    chattr("+i", folder)
    yield folder
    chattr("-i", folder)


def mount_tmpfs(folder):
    system("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder))


@pytest.fixture
def full(tmp_path):
    """A 64 KiB tmpfs, filled up: files can be created, not written."""
    folder = tmp_path / "full"
    folder.mkdir()
    mount_tmpfs(folder)
    try:
        fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:  # full
            pass
        finally:
            os.close(fd)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


def run_program(cli, tmp_path, mode, out, env=None):
    write(tmp_path / "prog.py", PROGRAM)
    return cli(mode, "-o", str(out), "prog.py", env=env)


# ---- foreseen: one line, exit 2, and the program never runs -------------------------------


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
@pytest.mark.parametrize("mode", list(OUTPUT))
def test_a_folder_that_takes_no_file_is_refused_before_the_run(cli, tmp_path, mode, locked):
    out = locked / OUTPUT[mode]
    r = run_program(cli, tmp_path, mode, out)
    assert r.returncode == 2 and r.stdout == ""
    reason = "Operation not permitted" if os.geteuid() == 0 else "Permission denied"
    assert r.stderr.splitlines() == [f"profkit: error: cannot write '{out}': cannot create a file "
                                     f"in '{locked}' ({reason})"]
    assert not (tmp_path / "ran.txt").exists() and os.listdir(locked) == []


SYSTEM = {"/proc/out.prof": "No such file or directory", "/proc/self/out.prof":
          "No such file or directory", "/sys/out.prof": None}


@pytest.mark.parametrize("mode", list(OUTPUT))
@pytest.mark.parametrize("out", list(SYSTEM))
def test_proc_and_sys_are_refused_before_the_run(cli, tmp_path, mode, out):
    if not os.path.isdir(os.path.dirname(out)):
        pytest.skip(f"no {os.path.dirname(out)} here")
    r = run_program(cli, tmp_path, mode, out)
    assert r.returncode == 2 and r.stdout == ""
    (line,) = r.stderr.splitlines()
    folder = os.path.dirname(out)
    assert line.startswith(f"profkit: error: cannot write '{out}': cannot create a file in "
                           f"'{folder}' (")
    if SYSTEM[out]:
        assert line.endswith(f"({SYSTEM[out]})")
    assert not (tmp_path / "ran.txt").exists()


@pytest.mark.parametrize("mode", ["func", "lines", "mem"])
def test_an_immutable_file_is_refused_before_the_run(cli, tmp_path, mode):
    if os.geteuid() != 0:
        pytest.skip("chattr +i needs root")
    out = tmp_path / OUTPUT[mode]
    out.write_bytes(b"old")
    chattr("+i", out)
    try:
        r = run_program(cli, tmp_path, mode, out)
    finally:
        chattr("-i", out)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [f"profkit: error: cannot write '{out}': Operation not permitted"]
    assert not (tmp_path / "ran.txt").exists() and out.read_bytes() == b"old"


# ---- not foreseen: the profile goes to the temporary folder ------------------------------

def fallback_line(out, spill):
    stem, ext = os.path.splitext(os.path.basename(out))
    return re.compile(rf"profkit: cannot write '{re.escape(str(out))}': No space left on device; "
                      rf"saved it to ({re.escape(str(spill))}/{stem}-\w+{ext}) instead")


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
@pytest.mark.parametrize("mode", ["func", "lines", "mem"])
@pytest.mark.parametrize("where", ["full tmpfs", "/dev/full"])
def test_a_full_disk_saves_the_profile_in_the_temporary_folder(cli, tmp_path, mode, where, request):
    out = request.getfixturevalue("full") / OUTPUT[mode] if where == "full tmpfs" else "/dev/full"
    spill = tmp_path / "spill"
    spill.mkdir()
    r = run_program(cli, tmp_path, mode, out, env={"TMPDIR": str(spill)})
    assert r.returncode == 3, r.stderr  # the program's own
    assert (tmp_path / "ran.txt").exists()
    lines = r.stderr.splitlines()
    matches = [fallback_line(out, spill).fullmatch(line) for line in lines]
    assert [m for m in matches if m], r.stderr
    if mode != "lines":  # lines.py still says "wrote": see test_lines_says_where_the_profile_went
        assert len(lines) == 1, r.stderr
    (saved,) = [m.group(1) for m in matches if m]
    loaded = LOAD[mode](saved)
    assert "work" in repr(getattr(loaded, "timings", None) or getattr(loaded, "functions", None)
                          and [f.name for f in loaded.functions] or loaded)
    if where == "full tmpfs":
        assert sorted(os.listdir(out.parent)) == ["filler"]  # no temporary file left
    else:
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_lines_says_where_the_profile_went(cli, tmp_path):
    spill = tmp_path / "spill"
    spill.mkdir()
    r = run_program(cli, tmp_path, "lines", "/dev/full", env={"TMPDIR": str(spill)})
    assert r.returncode == 3  # the program's
    # one line, the fallback's, and no "wrote /dev/full" after it
    m = fallback_line("/dev/full", spill).fullmatch(r.stderr.strip())
    assert m, r.stderr
    assert any(key[2] == "work" for key in lprof.load(m.group(1)).timings)


def test_when_the_copy_fails_too_it_is_one_line_and_exit_1(tmp_path, monkeypatch):
    # (in process: python's tempfile passes over a temporary folder it cannot write)
    from profkit.cli import _common
    from profkit.errors import ProfkitError
    from profkit.formats import atomic

    def refuse(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "save_elsewhere", refuse)
    with pytest.raises(ProfkitError) as info:
        with _common.saving("/dev/full"):
            pstats_io.dump({("f.py", 1, "f"): (1, 1, 0.5, 0.5, {})}, "/dev/full")
    assert (str(info.value), info.value.exit_code) == (
        "cannot write '/dev/full': No space left on device (nor a copy in the temporary folder: "
        "No space left on device)", 1)


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_run_on_a_full_disk_is_one_line_and_leaves_no_file(cli, tmp_path, full):
    out = full / "out.dat"
    r = run_program(cli, tmp_path, "run", out)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"profkit run: sampling every 0.1 s into {os.path.relpath(out, tmp_path)}",
        f"profkit: error: cannot write '{out}': No space left on device"]
    assert sorted(os.listdir(full)) == ["filler"] and not (tmp_path / "ran.txt").exists()


def test_plot_on_a_full_disk_is_one_line(cli, tmp_path, full):
    write(tmp_path / "x.dat", "CMDLINE x\nMEM 1.0 1800000000.0\nMEM 2.0 1800000000.1\n")
    spill = tmp_path / "spill"
    spill.mkdir()
    r = cli("plot", "x.dat", "-o", str(full / "x.svg"), env={"TMPDIR": str(spill)})
    assert r.returncode == 0 and fallback_line(full / "x.svg", spill).fullmatch(r.stderr.strip())


# ---- what is not a regular file is written into, never replaced ---------------------------


@pytest.mark.parametrize("mode", ["func", "lines", "mem"])
def test_dev_null_stays_a_device(cli, tmp_path, mode):
    r = run_program(cli, tmp_path, mode, "/dev/null")
    assert r.returncode == 3, r.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_gets_the_profile(cli, tmp_path):
    fifo = tmp_path / "pipe.prof"
    os.mkfifo(fifo)
    write(tmp_path / "prog.py", PROGRAM)
    proc = subprocess.Popen(cli.command("func", "-o", str(fifo), "prog.py"), cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(fifo, "rb") as f:  # as `python -m pstats <(...)` would read it
        data = f.read()
    proc.communicate(timeout=60)
    assert proc.returncode == 3
    with open(tmp_path / "copy.prof", "wb") as f:
        f.write(data)
    assert any(k[2] == "work" for k in pstats_io.load(str(tmp_path / "copy.prof")))
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
