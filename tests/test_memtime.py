"""Memory over time: profkit run / plot / peak / list / clean, the .dat
format, and profkit.memory_usage, tested as a user runs them."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.dom.minidom

import pytest

import profkit
from conftest import EXAMPLES, RSS_FALLS_ON_FREE, write
from profkit.errors import ProfkitError
from profkit.formats import mprof

MEM_PY = os.path.join(EXAMPLES, "memory", "mem.py")
MIB = 1048576

# Allocates and touches `mb` MiB, holds it, frees it.
HOLD = """
import sys, time
mb = int(sys.argv[1]) if len(sys.argv) > 1 else 200
x = bytearray(mb * 1048576)
for i in range(0, len(x), 4096):
    x[i] = 1
time.sleep(0.4)
del x
time.sleep(0.1)
"""


def dat_files(folder):
    return sorted(f for f in os.listdir(folder) if re.fullmatch(r"mprofile_\d{14}\.dat", f))


def records(path):
    with open(path) as f:
        return [line.rstrip("\n").split(" ") for line in f]


# ---- profkit run ---------------------------------------------------------------


def test_run_mem_example_writes_the_rise_fall_rise(cli, tmp_path):
    r = cli("run", "--interval", "0.005", MEM_PY)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "150 lists alive\n"
    [name] = dat_files(tmp_path)
    recs = records(tmp_path / name)
    assert recs[0][0] == "CMDLINE" and recs[0][-1].endswith("mem.py")
    mem = [(float(m), float(t)) for tag, m, t in recs[1:] if tag == "MEM"]
    assert len(mem) > 20
    times = [t for _m, t in mem]
    assert times == sorted(times) and abs(times[0] - time.time()) < 120
    ys = [m for m, _t in mem]
    if not RSS_FALLS_ON_FREE:
        assert max(ys) > 500  # only the rises show: freed memory stays with malloc
        return
    # a rise, a partial fall (half the lists deleted), a second higher rise
    first_top, fall = 0.0, None
    for i, y in enumerate(ys):
        if first_top - y > 80:
            fall = i
            break
        first_top = max(first_top, y)
    assert fall is not None and first_top > 250, ys
    valley = min(ys[fall:ys.index(max(ys))])
    assert valley > 100, "the half that is kept must stay"
    assert max(ys[fall:]) > first_top + 100, "the second rise must go higher"
    assert "peak" in r.stderr and name in r.stderr


def test_run_records_every_marked_call_with_its_level(cli, tmp_path):
    script = write(tmp_path / "marked.py", """
from profkit import profile as pk_profile

@profile
def outer(n):
    return [inner(i) for i in range(n)]

@profile
def inner(i):
    return bytearray(1000 * i)

@pk_profile
def gen(n):
    for i in range(n):
        yield i

class Box:
    @profile
    def fill(self):
        return outer(2)

outer(3)
Box().fill()
assert sum(gen(4)) == 6
with profile.timestamp("setup"):
    pass
""")
    r = cli("run", "-o", "out.dat", script)
    assert r.returncode == 0, r.stderr
    funcs = [rec for rec in records(tmp_path / "out.dat") if rec[0] == "FUNC"]
    calls = {}
    for rec in funcs:
        assert len(rec) == 7
        name, m0, t0, m1, t1, level = rec[1], *map(float, rec[2:6]), int(rec[6])
        assert t1 >= t0 and m0 > 0 and m1 > 0
        calls.setdefault(name, []).append(level)
    assert sorted(calls["__main__.outer"]) == [1, 2]
    assert sorted(calls["__main__.inner"]) == [2, 2, 2, 3, 3]
    assert calls["__main__.Box.fill"] == [1]
    assert calls["__main__.gen"] == [1]
    assert calls["setup"] == [1]


def test_run_exit_codes_and_tracebacks(cli, tmp_path):
    write(tmp_path / "exit3.py", "import sys\nsys.exit(3)\n")
    r = cli("run", "-o", "a.dat", "exit3.py")
    assert r.returncode == 3
    write(tmp_path / "boom.py", "def f():\n    raise ValueError('boom')\nf()\n")
    r = cli("run", "-o", "b.dat", "boom.py")
    assert r.returncode == 1
    assert "Traceback (most recent call last):" in r.stderr
    assert 'File "' in r.stderr and "line 2, in f" in r.stderr and "ValueError: boom" in r.stderr
    assert "profkit" not in r.stderr.split("Traceback")[1].split("ValueError")[0]
    assert [rec[0] for rec in records(tmp_path / "b.dat")][0] == "CMDLINE"
    write(tmp_path / "argv.py", "import sys\nprint(sys.argv)\n")
    r = cli("run", "-o", "c.dat", "argv.py", "x", "--interval", "9")
    assert r.stdout == "['argv.py', 'x', '--interval', '9']\n"


def test_run_program_killed_by_a_signal_is_reported_and_its_samples_kept(cli, tmp_path):
    write(tmp_path / "kill.py", "import os, signal, time\ntime.sleep(0.3)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    r = cli("run", "-i", "0.01", "-o", "k.dat", "kill.py")
    assert r.returncode == 128 + signal.SIGKILL
    assert "killed by SIGKILL" in r.stderr
    mem = [rec for rec in records(tmp_path / "k.dat") if rec[0] == "MEM"]
    assert len(mem) >= 10


def test_run_file_is_written_as_it_goes(tmp_path):
    out = tmp_path / "live.dat"
    proc = subprocess.Popen([sys.executable, "-m", "profkit", "run", "-i", "0.01", "-o", str(out),
                             "--", "sleep", "3"], stderr=subprocess.DEVNULL, cwd=str(tmp_path),
                            start_new_session=True)
    try:
        time.sleep(1.0)
        mem = [rec for rec in records(out) if rec[0] == "MEM"]
        assert len(mem) >= 30, "samples must reach the file while the program runs"
        os.kill(proc.pid, signal.SIGKILL)  # profkit itself dies: what was written stays
        proc.wait()
        assert len([rec for rec in records(out) if rec[0] == "MEM"]) >= len(mem)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the orphaned sleep
        except ProcessLookupError:
            pass
        proc.wait()


def test_run_ctrl_c_stops_the_program_and_keeps_the_file(tmp_path):
    script = write(tmp_path / "loop.py", "import time\nwhile True:\n    time.sleep(0.01)\n")
    proc = subprocess.Popen([sys.executable, "-m", "profkit", "run", "-i", "0.01", "-o", "c.dat",
                             script], stderr=subprocess.PIPE, text=True, cwd=str(tmp_path),
                            start_new_session=True)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGINT
    assert "KeyboardInterrupt" in err
    assert "wrote c.dat" in err
    assert len([rec for rec in records(tmp_path / "c.dat") if rec[0] == "MEM"]) >= 30


def test_run_command_and_module_targets(cli, tmp_path):
    r = cli("run", "-o", "cmd.dat", "--", sys.executable, "-c", "print('hi')")
    assert r.returncode == 0 and r.stdout == "hi\n"
    assert records(tmp_path / "cmd.dat")[0][0] == "CMDLINE"
    write(tmp_path / "pkgmod.py", "import sys\nprint(__name__, sys.argv[1:])\n")
    r = cli("run", "-o", "mod.dat", "-m", "pkgmod", "a")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "__main__ ['a']\n"
    r = cli("run", "-o", "sh.dat", "--", "sh", "-c", "exit 7")
    assert r.returncode == 7


def test_run_children_summed_and_each(cli, tmp_path):
    script = write(tmp_path / "parent.py", """
import subprocess, sys
subprocess.run([sys.executable, "-c", '''
import time
x = bytearray(150 * 1048576)
for i in range(0, len(x), 4096): x[i] = 1
time.sleep(0.6)
'''])
""")
    r = cli("run", "-i", "0.02", "-o", "solo.dat", script)
    assert r.returncode == 0, r.stderr
    solo = mprof.read(str(tmp_path / "solo.dat"))
    assert solo.peak()[0] < 100 and not solo.children
    r = cli("run", "-i", "0.02", "-C", "-M", "-o", "kids.dat", script)
    assert r.returncode == 0, r.stderr
    kids = mprof.read(str(tmp_path / "kids.dat"))
    assert kids.peak()[0] > 150
    assert len(kids.children) == 1
    [(pid, samples)] = kids.children.items()
    assert pid > 0 and max(m for m, _t in samples) > 150


def test_run_pss_and_uss_backends(cli, tmp_path):
    write(tmp_path / "hold.py", HOLD)
    peaks = {}
    for backend in ("rss", "pss", "uss"):
        r = cli("run", "-i", "0.01", "-b", backend, "-o", f"{backend}.dat", "hold.py", "100")
        assert r.returncode == 0, r.stderr
        peaks[backend] = mprof.read(str(tmp_path / f"{backend}.dat")).peak()[0]
    assert 100 < peaks["uss"] <= peaks["pss"] <= peaks["rss"] + 1


def test_run_peak_within_2_percent_of_the_kernel_peak(cli, tmp_path):
    write(tmp_path / "hold.py", HOLD)
    r = cli("run", "-i", "0.005", "-o", "h.dat", "hold.py", "300")
    assert r.returncode == 0, r.stderr
    m = re.search(r"peak ([\d.]+) MiB at [\d.]+ s \(the kernel's peak RSS: ([\d.]+) MiB\)", r.stderr)
    assert m, r.stderr
    ours, kernel = float(m.group(1)), float(m.group(2))
    assert ours == pytest.approx(mprof.read(str(tmp_path / "h.dat")).peak()[0], abs=0.06)
    assert abs(ours - kernel) / kernel < 0.02, (ours, kernel)


def test_run_bad_input_is_one_line(cli, tmp_path):
    cases = [
        (("run", "missing.py"), "can't open file 'missing.py'"),
        (("run", "--", "no-such-command-xyz"), "no such command: 'no-such-command-xyz'"),
        (("run", "-o", str(tmp_path / "nope" / "x.dat"), MEM_PY), "does not exist"),
        (("run", "-i", "0", MEM_PY), "out of range"),
        (("run",), "required"),
        (("run", "-m", "no_such_module_xyz"), "no module named 'no_such_module_xyz'"),
    ]
    for args, text in cases:
        r = cli(*args)
        assert r.returncode != 0, args
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and text in lines[0], (args, r.stderr)
        assert "Traceback" not in r.stderr


SAMPLED = re.compile(r"profkit run: \d+ samples?; peak [\d.]+ MiB at [\d.]+ s"
                     r"( \(the kernel's peak RSS: [\d.]+ MiB\))?$")
SAMPLING_COST = re.compile(r"profkit run: sampling used \d+ ms of CPU( \([\d.]+% of one core\))?$")


@pytest.mark.parametrize("cli", ["script"], indirect=True)  # python -m would import ./profkit itself
@pytest.mark.parametrize("target", [["app/show.py"], ["-m", "show"]])
def test_run_program_gets_the_profkit_that_started_it_and_pythons_sys_path(cli, tmp_path, target):
    # Run from a folder holding another profkit/ package (a checkout, say):
    # the program still runs under the profkit that started it, and its
    # sys.path is the one plain python gives it (sys.path[0]: the script's
    # folder; for -m, the current one).
    os.mkdir(tmp_path / "profkit")
    write(tmp_path / "profkit" / "__init__.py",
          "raise ImportError('not the profkit that started the run')\n")
    os.mkdir(tmp_path / "app")
    show = "import json, sys\nprint(json.dumps(sys.path))\n"
    write(tmp_path / "app" / "show.py", show)
    write(tmp_path / "show.py", show)
    r = cli("run", "-o", "x.dat", *target)
    assert r.returncode == 0, r.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    plain = subprocess.run([sys.executable, *target], cwd=str(tmp_path), env=env, capture_output=True,
                           text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    assert json.loads(r.stdout) == json.loads(plain.stdout)
    folder = tmp_path / "app" if target[0] != "-m" else tmp_path
    assert json.loads(r.stdout)[0] == os.path.realpath(folder)
    lines = r.stderr.splitlines()
    assert len(lines) == 4, r.stderr
    assert lines[0] == "profkit run: sampling every 0.1 s into x.dat"
    assert SAMPLED.match(lines[1]) and SAMPLING_COST.match(lines[2]), r.stderr
    assert lines[3] == "profkit run: wrote x.dat (draw it with: profkit plot)"
    assert records(tmp_path / "x.dat")[0] == ["CMDLINE", os.path.basename(sys.executable)] + target


@pytest.mark.parametrize("failure", ["script gone", "interpreter fails"])
def test_run_says_when_the_program_never_started(tmp_path, monkeypatch, capfd, failure):
    # The child fails before the program's first line: one line says so, in
    # place of a summary of samples that are not the program's, the exit
    # status is the child's, and no .dat file is left.
    from profkit import cli, runner

    monkeypatch.chdir(tmp_path)
    if failure == "script gone":
        # as if the script vanished between profkit's check and the start
        monkeypatch.setattr(runner, "load_target", lambda **kwargs: None)
        expected = ["profkit: error: can't open file 'p.py': [Errno 2] No such file or directory"]
        status = 2
    else:
        write(tmp_path / "p.py", "print('ran')\n")
        # python itself cannot start: no standard library there
        monkeypatch.setenv("PYTHONHOME", str(tmp_path / "nowhere"))
        expected = None
        status = 1
    code = cli.main(["run", "-o", "x.dat", "p.py"])
    out, err = capfd.readouterr()
    assert code == status
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "profkit run: sampling every 0.1 s into x.dat"
    assert lines[-1] == (f"profkit run: error: the program did not start (exit status {status}); "
                         "nothing was recorded")
    if expected is not None:
        assert lines[1:-1] == expected
    else:
        assert "Fatal Python error" in err  # python's own words on why
    assert not os.path.exists(tmp_path / "x.dat")


# ---- the .dat format ---------------------------------------------------------


def test_reader_parses_every_record_type(tmp_path):
    path = write(tmp_path / "x.dat", "CMDLINE python a b.py\nMEM 1.500000 100.0000\n"
                 "CHLD 42 2.000000 100.0000\nMEM 3.000000 100.5000\n"
                 "FUNC __main__.f 1.5000 100.0100 2.5000 100.4000 1\nFUNC old 1.0 100.1 1.0 100.2\n"
                 "NEWTAG whatever\n")
    d = mprof.read(path)
    assert d.cmdline == "python a b.py"
    assert d.mem == [(1.5, 100.0), (3.0, 100.5)]
    assert d.children == {42: [(2.0, 100.0)]}
    assert [(c.name, c.start, c.end, c.mem_start, c.mem_end, c.level) for c in d.calls] == [
        ("__main__.f", 100.01, 100.4, 1.5, 2.5, 1), ("old", 100.1, 100.2, 1.0, 1.0, 1)]
    assert d.peak() == (3.0, 100.5) and d.warnings == []


def test_reader_keeps_what_a_truncated_file_holds(tmp_path):
    path = write(tmp_path / "t.dat", "CMDLINE x\nMEM 1.0 10.0\nMEM 2.0 10.1\nMEM 3.")
    d = mprof.read(path)
    assert d.mem == [(1.0, 10.0), (2.0, 10.1)]
    assert len(d.warnings) == 1 and "line 4 is cut short" in d.warnings[0]


def test_reader_rejects_files_that_are_not_mprof(tmp_path):
    for body in (b"\x89PNG\r\n\x1a\n\x00\x00", b"hello world\n", b"", b"CMDLINE x\n"):
        path = tmp_path / "bad.dat"
        path.write_bytes(body)
        with pytest.raises(ProfkitError):
            mprof.read(str(path))


# ---- profkit plot / peak / list / clean --------------------------------------


def sample_dat(folder, name="mprofile_20260101120000.dat", calls=True):
    body = "CMDLINE python demo.py\n"
    for i in range(50):
        body += mprof.mem_line(10 + i * (50 - i) / 10, 1000.0 + i * 0.1)
    if calls:
        body += mprof.func_line("__main__.load", 12.0, 1000.5, 60.0, 1002.0, 1)
        body += mprof.func_line("__main__.parse", 20.0, 1000.7, 40.0, 1001.5, 2)
    return write(os.path.join(folder, name), body)


def test_plot_svg_needs_nothing_and_shows_the_data(cli, tmp_path):
    sample_dat(tmp_path)
    r = cli("plot", "-o", "m.svg", "--title", "My <run>")
    assert r.returncode == 0, r.stderr
    svg = (tmp_path / "m.svg").read_text()
    doc = xml.dom.minidom.parseString(svg)
    [line] = doc.getElementsByTagName("polyline")
    assert len(line.getAttribute("points").split()) == 50
    assert "My &lt;run&gt;" in svg
    assert "peak 72.5 MiB" in svg  # 10 + 25*25/10
    assert svg.count(">load<") + svg.count(">load</text>") >= 1 and "parse" in svg


def test_plot_flame_html_and_several_files(cli, tmp_path):
    a = sample_dat(tmp_path)
    b = sample_dat(tmp_path, "mprofile_20260101120500.dat", calls=False)
    r = cli("plot", a, b, "--flame", "-o", "both.html")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "both.html").read_text()
    assert html.startswith("<!doctype html>")
    assert html.count("<polyline") == 2
    assert "marked calls by nesting level" in html
    assert "<td>load</td><td>1</td>" in html
    r = cli("plot", "0", "-1", "--no-functions", "-o", "nofunc.svg")
    assert r.returncode == 0, r.stderr
    assert "load" not in (tmp_path / "nofunc.svg").read_text()


def test_plot_png_with_matplotlib(cli, tmp_path):
    pytest.importorskip("matplotlib")
    sample_dat(tmp_path)
    r = cli("plot")
    assert r.returncode == 0, r.stderr
    png = tmp_path / "mprofile_20260101120000.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = cli("plot", "--flame", "-o", "f.pdf")
    assert r.returncode == 0 and (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_png_without_matplotlib_says_how_to_get_it(cli, tmp_path):
    sample_dat(tmp_path)
    block = write(tmp_path / "sitecustomize.py",
                  "import sys\nclass B:\n    def find_spec(self, name, *a):\n"
                  "        if name == 'matplotlib': raise ImportError('blocked')\n"
                  "sys.meta_path.insert(0, B())\n")
    env = {"PYTHONPATH": os.path.dirname(block)}
    r = cli("plot", "-o", "x.png", env=env)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "profkit: error: plotting to .png needs matplotlib: pip install 'profkit[plot]' (or write "
        "SVG, which needs nothing: profkit plot -o memory.svg)"]
    r = cli("plot", env=env)  # the default falls back to SVG
    assert r.returncode == 0 and (tmp_path / "mprofile_20260101120000.svg").exists()


def test_plot_truncated_file_plots_with_a_warning(cli, tmp_path):
    path = sample_dat(tmp_path)
    with open(path, "a") as f:
        f.write("MEM 99.0")
    r = cli("plot", "-o", "t.svg")
    assert r.returncode == 0
    assert "warning" in r.stderr and "cut short" in r.stderr
    assert (tmp_path / "t.svg").exists()


def test_plot_bad_input_is_one_line(cli, tmp_path):
    # a file that cannot be read: errors.UNREADABLE (2), as in show and diff
    r = cli("plot")
    assert r.returncode == 2 and "no mprofile_*.dat file in this folder" in r.stderr
    write(tmp_path / "junk.dat", "this is not data\n")
    r = cli("plot", "junk.dat")
    assert r.returncode == 2 and "not an mprof .dat file" in r.stderr
    r = cli("plot", "missing.dat")
    assert r.returncode == 2 and "can't open file 'missing.dat'" in r.stderr
    sample_dat(tmp_path)
    r = cli("plot", "-o", str(tmp_path / "no" / "x.svg"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = cli("plot", "7")
    assert r.returncode == 2 and "no profile number 7" in r.stderr
    for r in (cli("plot", "junk.dat"), cli("plot", "7")):
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_peak_list_clean(cli, tmp_path):
    sample_dat(tmp_path)
    write(tmp_path / "mprofile_20260101120500.dat",
          "CMDLINE x\nMEM 5.0 1.0\nCHLD 77 9.5 1.0\nMEM 6.25 1.1\nCHLD 77 8.0 1.1\n")
    r = cli("peak")
    assert r.stdout == "mprofile_20260101120500.dat\t6.250 MiB\n  Child 77\t\t\t9.500 MiB\n"
    r = cli("peak", "0")
    assert r.stdout == "mprofile_20260101120000.dat\t72.500 MiB\n"
    r = cli("list")
    assert r.stdout == ("0 mprofile_20260101120000.dat 12:00:00 01/01/2026\n"
                        "1 mprofile_20260101120500.dat 12:05:00 01/01/2026\n")
    write(tmp_path / "keep.dat", "MEM 1 1\n")
    r = cli("clean", "--dry-run")
    assert r.stdout.split() == ["mprofile_20260101120000.dat", "mprofile_20260101120500.dat"]
    assert len(dat_files(tmp_path)) == 2
    r = cli("clean")
    assert r.returncode == 0 and dat_files(tmp_path) == [] and (tmp_path / "keep.dat").exists()


# ---- interoperability with memory_profiler --------------------------------------


def test_mprof_plot_reads_our_file_and_we_read_theirs(cli, tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("memory_profiler")
    mprof_cmd = shutil.which("mprof", path=os.path.dirname(sys.executable))
    assert mprof_cmd, "memory_profiler's mprof must be beside this python"
    script = os.path.join(EXAMPLES, "memory", "mem_kern_refactored.py")
    r = cli("run", "-i", "0.02", "-o", "ours.dat", script)
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.run([mprof_cmd, "plot", "ours.dat", "-o", "theirs.png"], cwd=str(tmp_path),
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "theirs.png").read_bytes()[:4] == b"\x89PNG"
    p = subprocess.run([mprof_cmd, "run", "-o", "mp.dat", script], cwd=str(tmp_path),
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    r = cli("plot", "mp.dat", "-o", "mp.svg")
    assert r.returncode == 0, r.stderr
    d = mprof.read(str(tmp_path / "mp.dat"))
    assert [c.name for c in d.calls] == ["__main__.main"] and d.peak()[0] > 300


# ---- profkit.memory_usage -------------------------------------------------------


def _touch(mb, hold=0.2):
    x = bytearray(mb * MIB)
    for i in range(0, len(x), 4096):
        x[i] = 1
    time.sleep(hold)
    return len(x)


def test_memory_usage_of_a_function_runs_it_once():
    calls = []

    def f(mb):
        calls.append(mb)
        return _touch(mb)

    base = profkit.memory_usage()[0]
    mem, ret = profkit.memory_usage((f, (100,)), interval=0.01, retval=True)
    assert calls == [100] and ret == 100 * MIB
    assert len(mem) >= 15 and all(isinstance(m, float) for m in mem)
    assert max(mem) - base > 95
    peak = profkit.memory_usage((f, (), {"mb": 60}), interval=0.01, max_usage=True)
    assert isinstance(peak, float) and peak - base > 55
    quick = profkit.memory_usage(lambda: None, interval=0.5)
    assert len(quick) == 2  # before and after, never empty


def test_memory_usage_modes():
    once = profkit.memory_usage()
    assert len(once) == 1 and once[0] == pytest.approx(profkit._engine.self_rss() / MIB, rel=0.1)
    stamped = profkit.memory_usage(-1, interval=0.02, timeout=0.2, timestamps=True)
    assert 8 <= len(stamped) <= 14
    assert all(abs(t - time.time()) < 5 for _m, t in stamped)
    assert profkit.memory_usage(os.getpid())[0] > 1
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(80 * 2**20); "
                              "x[::4096] = b'1' * len(x[::4096]); time.sleep(0.4)"])
    mem = profkit.memory_usage(child, interval=0.02)
    assert child.wait() == 0 and max(mem) > 80
    cmd = profkit.memory_usage(f"{sys.executable} -c 'import time; time.sleep(0.3)'", interval=0.02)
    assert len(cmd) >= 5
    with pytest.raises(ProcessLookupError):
        profkit.memory_usage(2 ** 22 + 12345)
    with pytest.raises(ValueError, match="unknown memory backend"):
        profkit.memory_usage(backend="tracemalloc")


def test_memory_usage_stream_writes_dat_lines(tmp_path):
    path = tmp_path / "s.dat"
    with open(path, "w") as f:
        assert profkit.memory_usage((_touch, (20, 0.1)), interval=0.01, stream=f) is None
    recs = records(path)
    assert len(recs) >= 5 and {r[0] for r in recs} == {"MEM"}


def test_memory_usage_agrees_with_memory_profiler():
    mp = pytest.importorskip("memory_profiler")
    ours = profkit.memory_usage((_touch, (120,)), interval=0.01, max_usage=True)
    theirs = mp.memory_usage((_touch, (120,)), interval=0.01, max_usage=True)
    assert ours == pytest.approx(theirs, rel=0.1)
