"""The profile survives the ways programs really end: SIGTERM, SIGHUP and
SIGINT to profkit, in every mode, through the installed command.

Each test starts a program that loops forever, waits until it runs, sends
one signal to profkit's process only (as ``kill``, ``timeout`` and ``docker
stop`` do), and checks the profile on disk, that profkit ended by that same
signal, and that no program is left running.
"""
import marshal
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ENTRIES, write

from profkit.formats import linemem, lprof, mprof

WORK = """\
import os, sys, time

@profile
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total

work(1000)
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
"""
LOOP = """\
while True:
    work(1000)
    time.sleep(0.005)
"""
PROGRAM = WORK + LOOP
OUTPUT = {"func": "out.prof", "lines": "out.lprof", "mem": "out.json", "run": "out.dat"}
SIGNALS = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]


def alive(pid):
    """Whether ``pid`` runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def start(cli, tmp_path, *args, program=PROGRAM, preexec_fn=None):
    """Start profkit ARGS on the program; returns (Popen, the program's pid)
    once the program runs."""
    write(tmp_path / "prog.py", program)
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env.pop("PYTHONPATH", None)
    out = open(tmp_path / "stdout.txt", "w")
    err = open(tmp_path / "stderr.txt", "w")
    with out, err:
        proc = subprocess.Popen(cli.command(*args, "prog.py", "pid.txt"), cwd=str(tmp_path),
                                stdout=out, stderr=err, env=env, preexec_fn=preexec_fn)
    pid_file = tmp_path / "pid.txt"
    deadline = time.time() + 60
    while not (pid_file.exists() and pid_file.read_text()):
        assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
        assert time.time() < deadline, "the program never started"
        time.sleep(0.01)
    time.sleep(0.15)  # a few rounds of work, and a sample or two
    return proc, int(pid_file.read_text())


def stderr_of(tmp_path):
    return (tmp_path / "stderr.txt").read_text()


def check_profile(mode, path):
    """The saved profile holds the work() calls made before the signal."""
    if mode == "func":
        with open(path, "rb") as f:
            stats = marshal.load(f)
        (calls,) = [v[1] for k, v in stats.items() if k[2] == "work"]
        assert calls >= 2
    elif mode == "lines":
        stats = lprof.load(path)
        (rows,) = [v for k, v in stats.timings.items() if k[2] == "work"]
        hits = {lineno - rows[0][0]: h for lineno, h, _t in rows}
        # total = 0 once a call, the loop 1000 times: the last call may be cut short
        assert hits[0] >= 2 and 1000 * (hits[0] - 1) <= hits[2] <= 1000 * hits[0]
    elif mode == "mem":
        (func,) = linemem.load(path).functions
        assert func.name == "work" and func.calls >= 2
    else:
        data = mprof.read(path)
        assert data.mem and data.warnings == []
        assert [c.name for c in data.calls][:2] == ["__main__.work", "__main__.work"]


@pytest.mark.parametrize("cli", ["script"], indirect=True)
@pytest.mark.parametrize("mode", list(OUTPUT))
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_the_profile_is_saved_and_profkit_ends_by_the_signal(cli, tmp_path, mode, sig):
    proc, pid = start(cli, tmp_path, mode, "-o", OUTPUT[mode])
    proc.send_signal(sig)
    assert proc.wait(60) == -sig, stderr_of(tmp_path)
    check_profile(mode, str(tmp_path / OUTPUT[mode]))
    err = stderr_of(tmp_path)
    assert f"profkit: wrote {OUTPUT[mode]}" in err or f"profkit run: wrote {OUTPUT[mode]}" in err
    if sig == signal.SIGINT:  # python's KeyboardInterrupt, as under plain python
        assert err.count("\nKeyboardInterrupt\n") == 1
    else:  # python prints nothing when SIGTERM or SIGHUP ends it
        assert "Traceback" not in err
    assert not alive(pid)


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_profkit_run_leaves_no_program_behind_after_sigkill(cli, tmp_path):
    proc, pid = start(cli, tmp_path, "run", "-o", "out.dat")
    assert pid != proc.pid and alive(pid)
    proc.kill()
    assert proc.wait(60) == -signal.SIGKILL
    deadline = time.time() + 10
    while alive(pid) and time.time() < deadline:  # the kernel's parent-death signal
        time.sleep(0.01)
    assert not alive(pid)
    size = os.path.getsize(tmp_path / "out.dat")
    time.sleep(0.3)
    assert os.path.getsize(tmp_path / "out.dat") == size  # nobody appends any more
    assert mprof.read(str(tmp_path / "out.dat")).mem


OWN_HANDLER = """\
import signal, sys
def bye(signum, frame):
    print("cleaning up", flush=True)
    sys.exit(3)
signal.signal(signal.SIGTERM, bye)
""" + PROGRAM


@pytest.mark.parametrize("cli", ["script"], indirect=True)
@pytest.mark.parametrize("mode", ["func", "run"])
def test_a_program_that_handles_sigterm_keeps_its_handler(cli, tmp_path, mode):
    proc, pid = start(cli, tmp_path, mode, "-o", OUTPUT[mode], program=OWN_HANDLER)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(60)
    assert (tmp_path / "stdout.txt").read_text().startswith("cleaning up\n")
    check_profile(mode, str(tmp_path / OUTPUT[mode]))
    if mode == "func":  # the program's own ending: sys.exit(3)
        assert code == 3, stderr_of(tmp_path)
    else:  # profkit run was asked to stop: it passed SIGTERM on, then ends by it
        assert code == -signal.SIGTERM, stderr_of(tmp_path)
    assert not alive(pid)


@pytest.mark.parametrize("cli", ["script"], indirect=True)
@pytest.mark.parametrize("mode", ["lines", "run"])
def test_a_signal_ignored_at_start_stays_ignored(cli, tmp_path, mode):
    # as under nohup: SIGHUP does nothing, then SIGTERM ends the run as usual
    def nohup():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc, pid = start(cli, tmp_path, mode, "-o", OUTPUT[mode], preexec_fn=nohup)
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert proc.poll() is None and alive(pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == -signal.SIGTERM
    check_profile(mode, str(tmp_path / OUTPUT[mode]))


SWALLOWS = """\
import threading, time
stop = []
def serve():  # a non-daemon thread that never ends by itself
    while not stop:
        time.sleep(0.01)
threading.Thread(target=serve).start()
""" + WORK + "try:\n" + "".join("    " + line for line in LOOP.splitlines(True)) + """\
except BaseException as exc:
    print("caught", type(exc).__name__, flush=True)
"""


@pytest.mark.parametrize("cli", ["script"], indirect=True)
def test_a_program_that_catches_everything_still_ends_by_the_signal(cli, tmp_path):
    # profkit does not wait for the thread (python would not), and ends by SIGTERM
    proc, pid = start(cli, tmp_path, "func", "-o", "out.prof", program=SWALLOWS)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == -signal.SIGTERM, stderr_of(tmp_path)
    assert (tmp_path / "stdout.txt").read_text() == "caught Terminated\n"
    check_profile("func", str(tmp_path / "out.prof"))


POOL = """\
import multiprocessing as mp

def square(x):
    return x * x

if __name__ == "__main__":
    with mp.get_context("fork").Pool(2) as pool:  # leaving the block terminates the workers
        print(sum(pool.map(square, range(100))))
"""


@pytest.mark.parametrize("cli", ["script"], indirect=True)
def test_forked_workers_die_by_sigterm_as_under_python(cli, tmp_path):
    # Pool.terminate sends SIGTERM to its workers, forked with profkit's handler
    write(tmp_path / "pool.py", POOL)
    plain = subprocess.run([sys.executable, "pool.py"], cwd=str(tmp_path), capture_output=True,
                           text=True, timeout=60)
    r = cli("func", "-o", "out.prof", "pool.py")
    assert (r.returncode, r.stdout) == (plain.returncode, plain.stdout) == (0, "328350\n")
    assert r.stderr.splitlines() == ["profkit: wrote out.prof (read it with: python -m pstats out.prof)"]
