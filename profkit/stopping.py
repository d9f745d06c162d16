"""Ending profkit by the signal that stopped the program, once the profile
is saved: SIGTERM and SIGHUP raise ``Terminated`` in the program as Ctrl-C
raises KeyboardInterrupt; after the program, a signal waits for the save
(``Stopper.defer``); ``reraise`` then ends the process by it.  See
runner.py, which installs a Stopper around every profiled run.

Children forked from the program get the default action back for SIGTERM
and SIGHUP, as under python: the signals are blocked across ``fork``
(``os.register_at_fork``), so one sent to a new child before it could set
that (multiprocessing's ``Pool.terminate`` sends them at once) is not lost
in CPython's reset of its signal state after fork; it then ends the child.

Only ``_signal`` (the C module) is used: ``signal.py`` (its enums) would add
a millisecond to every profkit run's start-up.
"""
import os
import sys

__all__ = ["Stopper", "Terminated", "reraise", "flush_quietly"]

class Terminated(BaseException):
    """Raised in the program's main thread when SIGTERM or SIGHUP reaches
    profkit, as KeyboardInterrupt is on Ctrl-C: the program unwinds, the
    profile is saved, and profkit ends by that signal."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class Stopper:
    """SIGTERM and SIGHUP while a program runs under profkit.

    Installed only where the signal has its default action: a program that
    sets its own handler replaces this one and keeps it, and a signal
    ignored when profkit started (``nohup``) stays ignored.  While the
    program runs, the first signal raises ``Terminated`` in it; after it
    (``defer``), while profkit saves the profile, the first is remembered
    (Ctrl-C's too), and ``finish`` ends the process by it.  A second signal ends the
    process at once, by the default action, as does any signal in a child
    forked from the program (which would otherwise run profkit's handler).

    """

    def __init__(self):
        self.pid = os.getpid()
        self.received = 0
        self.installed = []
        self.holds_sigint = False
        self.fork_mask = None  # the mask to restore after a fork (see _before_fork)

    def install(self):
        import _signal

        for sig in (_signal.SIGTERM, _signal.SIGHUP):
            try:
                if _signal.getsignal(sig) == _signal.SIG_DFL:
                    _signal.signal(sig, self._stop)
                    self.installed.append(sig)
            except ValueError:  # not the main thread: python's defaults stay
                return
        _watch_forks(self)

    def _first(self, signum):
        """True for the first signal, which is remembered; a second one, or
        one in a forked child, ends the process at once."""
        if os.getpid() != self.pid or self.received:
            reraise(signum)
            return False
        self.received = signum
        return True

    def _stop(self, signum, _frame):
        if self._first(signum):
            raise Terminated(signum)

    def _remember(self, signum, _frame):
        self._first(signum)

    def _swap(self, old, new):
        import _signal

        for sig in self.installed:
            if _signal.getsignal(sig) == old:
                _signal.signal(sig, new)

    def defer(self):
        """The program has ended: from now on remember a signal, do not
        raise, so that profkit's save is not cut halfway.  Ctrl-C too, where
        it has python's handler: a KeyboardInterrupt there would be a
        traceback of profkit's own."""
        import _signal

        self._swap(self._stop, self._remember)
        try:
            if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
                _signal.signal(_signal.SIGINT, self._remember)
                self.holds_sigint = True
        except ValueError:  # not the main thread
            pass

    def restore(self):
        """Give the signals their default action back."""
        import _signal

        self._swap(self._remember, _signal.SIG_DFL)
        if self.holds_sigint and _signal.getsignal(_signal.SIGINT) == self._remember:
            _signal.signal(_signal.SIGINT, _signal.default_int_handler)


_current = []  # the Stopper installed in this process, for the fork hooks
_hooked = []


def _before_fork():
    """In the parent, before fork: block our signals in the forking thread."""
    if _current and _current[0].pid == os.getpid() and _current[0].installed:
        import _signal

        stopper = _current[0]
        stopper.fork_mask = _signal.pthread_sigmask(_signal.SIG_BLOCK, stopper.installed)


def _after_fork(child):
    """After fork: the child takes the default actions back; both unblock."""
    if not _current or _current[0].fork_mask is None:
        return
    import _signal

    stopper = _current[0]
    if child:
        for sig in stopper.installed:
            if _signal.getsignal(sig) in (stopper._stop, stopper._remember):
                _signal.signal(sig, _signal.SIG_DFL)
    mask, stopper.fork_mask = stopper.fork_mask, None
    _signal.pthread_sigmask(_signal.SIG_SETMASK, mask)


def _watch_forks(stopper):
    _current[:] = [stopper]
    if not _hooked:
        _hooked.append(True)
        os.register_at_fork(before=_before_fork, after_in_parent=lambda: _after_fork(False),
                            after_in_child=lambda: _after_fork(True))


def flush_quietly(stream):
    try:
        stream.flush()
    except Exception:  # noqa: BLE001 - closed, None or broken: python would ignore it too
        pass


def reraise(signum):
    """End this process by signal ``signum`` with its default action, as
    python ends after an unhandled Ctrl-C, or on SIGTERM: shells and
    callers then see the status they would see for plain python.  The one
    place profkit does this."""
    flush_quietly(sys.stdout)
    flush_quietly(sys.stderr)
    import _signal  # see the module's doc

    _signal.signal(signum, _signal.SIG_DFL)
    os.kill(os.getpid(), signum)
