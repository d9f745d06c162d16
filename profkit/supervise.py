"""The program ``profkit run`` starts: it hears the signals profkit gets,
and it cannot outlive profkit.

``profkit run`` samples the program from its own process, so stopping
profkit must stop the program too, or the program runs on as an orphan and
keeps appending to the ``.dat`` file:

* SIGTERM, SIGINT and SIGHUP sent to profkit are forwarded to the program,
  which decides what they mean; profkit waits for it, closes the file, and
  then ends by the same signal (``Supervisor.stopped_by``).  A signal the
  kernel sent (Ctrl-C or a hang-up in a terminal) is not forwarded: it went
  to the whole foreground process group, the program included, and a second
  copy would interrupt the program's own handling of the first; how the
  program then ends is how profkit ends, as before.  A signal
  ignored when profkit started (``nohup``) stays ignored.
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
    """

    def __init__(self):
        self.stopped_by = 0
        self._watched = set()
        self._mask = None
        self._chld = None
        self._parent = os.getpid()
        self._prctl = _prctl()  # loaded here: the child must not import anything

    def __enter__(self):
        self._watched = {s for s in _FORWARDED if signal.getsignal(s) != signal.SIG_IGN}
        if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:  # else children reap themselves
            self._chld = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, self._watched | {signal.SIGCHLD})
        return self

    def __exit__(self, *exc):
        self._drain()
        signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
        if self._chld is not None:
            signal.signal(signal.SIGCHLD, self._chld)
        return False

    def child_setup(self):
        """The child's ``preexec_fn``: profkit's signal mask as it started,
        and death with profkit."""
        signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
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
        """Whether a signal was meant for profkit alone (it is then
        remembered in ``stopped_by``): not one the kernel sent to the
        terminal's whole process group, which the program got too and
        answers for."""
        if info.si_code == _SI_KERNEL:
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
