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
import threading
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


# The program takes SIGTERM and SIGINT with sigwaitinfo and prints who sent each copy
# (signal, si_code, si_pid).  A second copy sent while the first is pending is merged into
# it, but the first keeps its sender: one sent to the whole group is there before profkit
# could pass anything on.
SENDERS = """\
import os, signal, sys, time
sigs = {signal.SIGTERM, signal.SIGINT}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
got = [signal.sigwaitinfo(sigs)]
time.sleep(0.5)  # a second copy, if any, comes in this time
while got[-1] is not None:
    got.append(signal.sigtimedwait(sigs, 0))
print([(i.si_signo, i.si_code, i.si_pid) for i in got[:-1]], flush=True)
"""
SI_USER, SI_KERNEL = 0, 0x80


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_a_signal_to_profkits_process_group_reaches_the_program_once(cli, tmp_path):
    # what `timeout` and `kill -TERM -PGID` do: the signal goes to every process of the group
    proc, pid = start(cli, tmp_path, "run", "-o", "out.dat", program=SENDERS,
                      preexec_fn=os.setpgrp)
    assert os.getpgid(pid) == pid  # no terminal: the program has a group of its own
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(60) == -signal.SIGTERM, stderr_of(tmp_path)
    # one copy, from profkit (the program ended well: profkit ends by the signal it was sent)
    assert (tmp_path / "stdout.txt").read_text() == f"[(15, {SI_USER}, {proc.pid})]\n"
    assert not alive(pid)


def test_ctrl_c_in_a_terminal_reaches_the_program_once(cli, tmp_path):
    # profkit in the foreground of a terminal (a pty): the terminal sends SIGINT to the whole
    # foreground group, the program included, and profkit does not send a second one
    import pty

    write(tmp_path / "prog.py", SENDERS)
    master, slave = pty.openpty()

    def terminal():  # a session of its own, with the pty as its controlling terminal
        import fcntl
        import termios

        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(cli.command("run", "-o", "out.dat", "prog.py", "pid.txt"),
                            cwd=str(tmp_path), stdin=slave, stdout=slave, stderr=slave,
                            preexec_fn=terminal)
    os.close(slave)
    output = []
    reader = threading.Thread(target=_read_all, args=(master, output))
    reader.start()
    try:
        deadline = time.time() + 60
        while not ((tmp_path / "pid.txt").exists() and (tmp_path / "pid.txt").read_text()):
            assert proc.poll() is None and time.time() < deadline, b"".join(output)
            time.sleep(0.01)
        pid = int((tmp_path / "pid.txt").read_text())
        assert os.getpgid(pid) == proc.pid  # the program is in the terminal's foreground group
        os.write(master, b"\x03")  # Ctrl-C
        code = proc.wait(60)
    finally:
        reader.join(60)
        os.close(master)
    text = b"".join(output).decode()
    assert f"[(2, {SI_KERNEL}, 0)]\r\n" in text, text  # one copy, from the terminal
    assert code == 0 and not alive(pid)  # the program handled it, and ended well: so does profkit


def _read_all(fd, output):
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: every process of the terminal has closed it
            return
        if not data:
            return
        output.append(data)


QUICK = WORK  # works, writes its pid, ends


@pytest.mark.parametrize("cli", ["script"], indirect=True)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_while_profkit_saves_waits_for_the_save(cli, tmp_path, sig):
    # The profile goes to a FIFO, so profkit waits in the save until the test reads it; the
    # signal comes meanwhile: the save ends whole, then profkit ends by the signal, and no
    # traceback of profkit's own is printed (a KeyboardInterrupt in the save was one).
    fifo = tmp_path / "out.prof"
    os.mkfifo(fifo)
    write(tmp_path / "prog.py", QUICK)
    err = open(tmp_path / "stderr.txt", "w")
    with err:
        proc = subprocess.Popen(cli.command("func", "-o", str(fifo), "prog.py", "pid.txt"),
                                cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.time() + 60
    while not ((tmp_path / "pid.txt").exists() and (tmp_path / "pid.txt").read_text()):
        assert proc.poll() is None and time.time() < deadline, stderr_of(tmp_path)
        time.sleep(0.01)
    time.sleep(0.3)  # the program has ended: profkit waits for a reader of the FIFO
    assert proc.poll() is None
    proc.send_signal(sig)
    time.sleep(0.2)
    assert proc.poll() is None, stderr_of(tmp_path)  # still in the save (else: no reader waits)
    with open(fifo, "rb") as f:
        data = f.read()
    assert proc.wait(60) == -sig, stderr_of(tmp_path)
    assert any(k[2] == "work" for k in marshal.loads(data))
    assert stderr_of(tmp_path) == ("profkit: wrote out.prof (read it with: python -m pstats "
                                   "out.prof)\n")


LOUD = WORK + """\
os.set_blocking(2, False)  # fill the pipe: then profkit's summary waits for a reader
try:
    while True:
        os.write(2, b"x")
except BlockingIOError:
    os.set_blocking(2, True)  # the flag is the pipe's, profkit's too
"""


@pytest.mark.parametrize("cli", ["script"], indirect=True)
def test_ctrl_c_while_profkit_run_reports_waits_for_the_report(cli, tmp_path):
    write(tmp_path / "prog.py", LOUD)
    read_fd, write_fd = os.pipe()
    fcntl = pytest.importorskip("fcntl")
    fcntl.fcntl(write_fd, 1031, 4096)  # F_SETPIPE_SZ: one page
    proc = subprocess.Popen(cli.command("run", "-o", "out.dat", "prog.py", "pid.txt"),
                            cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=write_fd)
    os.close(write_fd)
    deadline = time.time() + 60
    while not ((tmp_path / "pid.txt").exists() and (tmp_path / "pid.txt").read_text()):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.01)
    pid = int((tmp_path / "pid.txt").read_text())
    while alive(pid):
        assert time.time() < deadline
        time.sleep(0.01)
    time.sleep(0.3)  # the program has ended: profkit waits to write its summary
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    with os.fdopen(read_fd, "rb") as f:
        err = f.read().decode()
    assert proc.wait(60) == -signal.SIGINT
    err = err.replace("x", "")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.endswith("profkit run: wrote out.dat (draw it with: profkit plot)\n"), err
    assert mprof.read(str(tmp_path / "out.dat")).mem


FORKS = """\
import os, signal, time
lost = 0
for i in range(20):
    pid = os.fork()
    if pid == 0:
        time.sleep(1)  # SIGTERM ends it first, unless the signal was lost
        os._exit(7)
    os.kill(pid, signal.SIGTERM)  # at once, as Pool.terminate may
    _, status = os.waitpid(pid, 0)
    lost += not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM)
print("lost", lost)
"""


@pytest.mark.parametrize("cli", ["script"], indirect=True)
def test_sigterm_to_a_child_just_forked_is_not_lost(cli, tmp_path):
    # Sent before the child has reset python's signal state after fork, it used to be
    # dropped with that state (profkit's handler, not the default action, was in place):
    # multiprocessing's Pool.terminate then waited for a worker that never ended.
    write(tmp_path / "forks.py", FORKS)
    r = cli("func", "-o", "out.prof", "forks.py")
    assert (r.returncode, r.stdout) == (0, "lost 0\n"), r.stderr
