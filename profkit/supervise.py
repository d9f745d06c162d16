"""The program ``profkit run`` starts: it hears the signals profkit gets,
once, and it cannot outlive profkit.

``profkit run`` samples the program from its own process, so stopping
profkit must stop the program too, or the program runs on as an orphan and
keeps appending to the ``.dat`` file:

* SIGTERM, SIGINT and SIGHUP that reach profkit are passed on to the
  program, which decides what they mean; profkit waits for it, closes the
  file, and then ends by the same signal (``Supervisor.stopped_by``).  A
  signal ignored when profkit started (``nohup``) stays ignored.
* Each signal reaches the program once.  A signal can be sent to a whole
  process group (``kill -TERM -PGID``; ``timeout`` does it, and a terminal
  does it for Ctrl-C and hang-ups), and nothing in the signal says so.  So:

  - when profkit runs in the foreground of a terminal, the program stays in
    profkit's process group, so that the terminal's Ctrl-C, Ctrl-Z and
    reads work as under python; the signals the kernel sent (Ctrl-C or a
    hang-up in that terminal: ``si_code`` SI_KERNEL) already reached the
    whole group, the program too, and are not passed on.  Only a signal
    that a process sends to that group (``kill -INT -PGID`` from another
    shell) reaches the program twice;
  - otherwise (CI, ``timeout``, ``nohup``, a service, a background job) the
    program gets a process group of its own, so a signal sent to profkit's
    group reaches profkit alone, and profkit passes every signal on.

* If profkit dies without a chance to forward anything (SIGKILL, a crash),
  the kernel kills the program: the child asks for SIGKILL on its parent's
  death (``PR_SET_PDEATHSIG``) before it runs, then checks that its parent
  is still the one that started it, which closes the race with a parent
  that died first.

The signals are blocked in profkit while the program runs and taken with
``sigwaitinfo``, which says who sent each (no handler runs in the middle of
profkit's work); the child gets the signal mask profkit started with.  The
sampler thread, started after ``start``, inherits the blocked mask.  Linux
only, as the rest of ``profkit run``.
"""
import os
import signal

__all__ = ["Supervisor"]

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_SI_KERNEL = 0x80  # si_code of a signal the kernel sent (a terminal's Ctrl-C or hang-up)
_PR_SET_PDEATHSIG = 1


def in_terminal_foreground():
    """Whether profkit has a controlling terminal and is in its foreground
    process group (what the terminal's Ctrl-C reaches)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:  # no controlling terminal
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def _prctl():
    """libc's prctl through ctypes, or None where ctypes cannot load it."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None


class Supervisor:
    """Use as::

        sup = Supervisor()
        with sup:                      # signals blocked from here
            child = subprocess.Popen(argv, preexec_fn=sup.child_setup, ...)
            ...start sampling...
            status, rusage = sup.wait(child.pid)
            ...stop sampling...
        # sup.stopped_by: the signal profkit was told to stop by, or 0
        # (Supervisor(hold=True): signals stay blocked until sup.release())
    """

    def __init__(self, hold=False):
        self.stopped_by = 0
        self.hold = hold
        self._watched = set()
        self._mask = None
        self._chld = None
        self._parent = os.getpid()
        self._prctl = _prctl()  # loaded here: the child must not import anything
        # the program's own process group, unless the terminal's signals must reach it
        self.own_group = not in_terminal_foreground()

    def __enter__(self):
        self._watched = {s for s in _FORWARDED if signal.getsignal(s) != signal.SIG_IGN}
        if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:  # else children reap themselves
            self._chld = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, self._watched | {signal.SIGCHLD})
        return self

    def __exit__(self, exc_type, *exc):
        self._drain()
        if exc_type is not None or not self.hold:
            self.release()
        return False

    def release(self):
        """Unblock the signals, taking first those that came since the
        program ended; returns ``stopped_by``.  With ``hold`` set, the
        signals stay blocked after the ``with`` block until this is called,
        so that nothing cuts profkit's own work short (closing the file,
        the summary); profkit then ends by ``stopped_by``."""
        if self._mask is not None:
            self._drain()
            signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
            self._mask = None
            if self._chld is not None:
                signal.signal(signal.SIGCHLD, self._chld)
        return self.stopped_by

    def child_setup(self):
        """The child's ``preexec_fn``: profkit's signal mask as it started,
        its own process group (see the module's doc), and death with profkit."""
        signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
        if self.own_group:
            os.setpgid(0, 0)
        if self._prctl is not None:
            self._prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != self._parent:  # profkit died before the line above
                os.kill(os.getpid(), signal.SIGKILL)

    def wait(self, pid):
        """Wait for ``pid`` to end, forwarding the signals profkit gets;
        returns (status, rusage) as ``os.wait4`` gives them."""
        watched = self._watched | {signal.SIGCHLD}
        while True:
            done, status, rusage = os.wait4(pid, os.WNOHANG)
            if done:
                return status, rusage
            info = signal.sigwaitinfo(watched)  # SIGCHLD wakes this when the child ends
            if info.si_signo != signal.SIGCHLD and self._take(info):
                try:
                    os.kill(pid, info.si_signo)
                except ProcessLookupError:
                    pass

    def _take(self, info):
        """Whether to pass a signal on (it is then remembered in
        ``stopped_by``): not one the kernel sent to the terminal's whole
        process group when the program is in that group, since the program
        got it too and answers for it."""
        if info.si_code == _SI_KERNEL and not self.own_group:
            return False
        self.stopped_by = self.stopped_by or info.si_signo
        return True

    def _drain(self):
        """Take a signal that came after the program ended (before profkit
        was done with the file), so it still ends profkit afterwards."""
        while self._watched:
            info = signal.sigtimedwait(self._watched, 0)
            if info is None:
                return
            self._take(info)
