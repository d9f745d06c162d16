"""Run the user's program as ``__main__``, the way ``python`` would.

Every profiling mode goes through here, so all of them agree on what the
program sees (``sys.argv``, ``sys.path[0]``, ``__main__``), on exit codes, and
on the rule that the profile is saved whatever way the program ends:
normally, by raising, by ``sys.exit``, by Ctrl-C, or by SIGTERM or SIGHUP
(what ``timeout``, ``kill``, CI cancellation, ``docker stop`` and systemd
send first).  Then profkit ends by that same signal itself, after the
profile is saved, through ``reraise``: callers see the status they would
see for plain python.

Usage::

    target = load_target(script=..., module=..., args=[...])  # may raise ProfkitError
    outcome = run_target(target, start=prof.enable, stop=prof.disable)
    ...save the profile; print it to outcome.stdout...
    sys.exit(finish(outcome))

``load_target`` (in target.py) finds the program without running any of it;
``run_target`` runs it, including, for ``-m pkg.mod``, the import of its
package, which is the program's work as under ``python -m``.  ``profkit
run`` starts its target in a child process instead: ``target_kind`` says
whether that is a Python script, a module or an executable.

Whatever the program does to ``sys.stdout`` and ``sys.stderr`` (close them,
replace them), ``outcome.stdout`` and ``outcome.stderr`` are the standard
output and error profkit started with, for its report and messages.
"""
import os
import sys
import types

# Ending by a signal once the profile is saved (here too for the callers of runner).
from profkit.stopping import Stopper, Terminated, reraise  # noqa: F401
from profkit.stopping import flush_quietly as _flush
# Finding the program before it runs; here too for the callers of runner.
from profkit.target import Target, executable_problem, load_target, target_kind  # noqa: F401


class Outcome:
    """How the program ended: exit code, and the exception to report."""

    def __init__(self):
        self.exit_code = 0
        self.exc = None  # an exception whose traceback python would print
        self.interrupted = False
        self.stopper = None  # the Stopper of SIGTERM and SIGHUP, if installed
        self.exit_message = None  # sys.exit("message") prints it
        # profkit's own output after the program: the standard output and
        # error profkit started with (stdout falls back to stderr if gone)
        self.stdout = None
        self.stderr = None


class _StdStream:
    """A standard stream as profkit found it before the program ran.

    The program may close ``sys.stdout`` (or its descriptor), or replace it:
    a duplicate of its descriptor, taken first, still reaches the same file.
    """

    def __init__(self, stream):
        self.stream = stream
        self.fd = -1
        self.file = None  # (device, inode) of what the stream wrote to
        try:
            fd = stream.fileno()
            self.file = _file_of(fd)
            self.fd = os.dup(fd)
        except (AttributeError, ValueError, OSError):  # None, closed, or no descriptor
            pass

    def get(self):
        """The stream itself while it is open on the same file; else one
        opened on the duplicate; None if neither reaches that file."""
        if _is_open(self.stream) and (self.file is None or _file_of(self.stream) == self.file):
            if self.fd >= 0:
                os.close(self.fd)
            return self.stream
        if self.fd < 0 or _file_of(self.fd) != self.file:  # the program closed it too
            return None
        stream = open(self.fd, "w", encoding=_attr(self.stream, "encoding"),
                      errors=_attr(self.stream, "errors"), closefd=False)
        _keep.append(stream)  # the descriptor stays open until exit
        return stream


def _is_open(stream):
    try:
        return stream is not None and not stream.closed
    except (AttributeError, ValueError):  # e.g. a detached TextIOWrapper
        return False


def _file_of(fd_or_stream):
    try:
        fd = fd_or_stream if isinstance(fd_or_stream, int) else fd_or_stream.fileno()
        st = os.fstat(fd)
    except (AttributeError, ValueError, OSError):
        return None
    return st.st_dev, st.st_ino


def _attr(stream, name):
    try:
        return getattr(stream, name, None)
    except ValueError:
        return None


def run_target(target, start=None, stop=None, pause=None, keep_streams=True, signals=True):
    """Run ``target`` as ``__main__`` between ``start()`` and ``stop()``
    (None: nothing to call).

    ``stop()`` always runs, also on SystemExit, KeyboardInterrupt, SIGTERM,
    SIGHUP and any exception.  Non-daemon threads the program started are
    waited for before ``stop()``, as the interpreter does at exit, so their
    work is counted (not after SIGTERM or SIGHUP: python would not wait);
    ``pause(True)``/``pause(False)`` bracket that wait so the calling
    thread's share of it stays out of the profile.  ``keep_streams=False``:
    nothing is reported afterwards (outcome.stdout and stderr stay None).
    ``signals``: stop the program on SIGTERM and SIGHUP as on Ctrl-C (see
    ``stopping.Stopper``), where they have their default action.
    """
    outcome = Outcome()
    if keep_streams:
        saved_out, saved_err = _StdStream(sys.stdout), _StdStream(sys.stderr)
    main = types.ModuleType("__main__")
    main.__dict__.update(target.main_attrs)
    saved_main = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    sys.argv[:] = target.argv
    if sys.path:
        sys.path[0] = target.path0
    else:
        sys.path.insert(0, target.path0)
    code = target.code
    globs = main.__dict__
    stopper = outcome.stopper = Stopper() if signals else None
    try:
        if stopper is not None:
            stopper.install()
        if start is not None:
            start()
        try:
            try:
                if target.package is not None:
                    _import_package(target)
                exec(code, globs)
            finally:
                if stopper is None or not stopper.received:
                    if pause is not None:
                        pause(True)
                    _join_threads()
                    if pause is not None:
                        pause(False)
        finally:
            try:
                if stopper is not None:
                    stopper.defer()
            finally:
                if stop is not None:
                    stop()
    except SystemExit as exc:
        outcome.exit_code, outcome.exit_message = _exit_status(exc.code)
    except KeyboardInterrupt as exc:
        outcome.exc = exc
        outcome.interrupted = True
        outcome.exit_code = 128 + _SIGINT
    except Terminated:
        pass  # python prints nothing when a signal ends it
    except BaseException as exc:  # noqa: BLE001 - the program's own error
        outcome.exc = exc
        outcome.exit_code = 1
    finally:
        # Keep the program's __main__ alive until exit, as python does:
        # atexit handlers and __del__ methods may still look at it.
        _keep.append((main, saved_main))
        if keep_streams:
            _flush(sys.stdout)  # the program's output comes before the report
            outcome.stderr = saved_err.get() or _devnull()
            outcome.stdout = saved_out.get() or outcome.stderr
    if stopper is not None and stopper.received:  # also when the program caught it
        outcome.exit_code = 128 + stopper.received
    return outcome


def _import_package(target):
    """Import the package of a ``-m`` module, as ``python -m`` does before
    running it (runpy's ``_get_module_details``): its ``__init__`` is the
    program's work, so it runs between ``start()`` and ``stop()``, and
    what it raises is the program's error.  ``sys.argv[0]`` is ``-m``
    meanwhile, as python sets it."""
    argv0 = sys.argv[0]
    sys.argv[0] = "-m"
    __import__(target.package)
    sys.argv[0] = argv0


_keep = []


def _devnull():
    stream = open(os.devnull, "w")
    _keep.append(stream)
    return stream


_SIGINT = 2  # signal.SIGINT on Linux; the signal module loads only when needed


def _join_threads():
    # A program that never imported threading started no threads to wait for
    # (and profkit's start-up stays free of the import).
    threading = sys.modules.get("threading")
    if threading is None:
        return
    main = threading.main_thread()
    for t in threading.enumerate():
        if t is not main and not t.daemon and t is not threading.current_thread():
            try:
                t.join()
            except RuntimeError:
                pass


def _exit_status(code):
    if code is None:
        return 0, None
    if isinstance(code, int):
        return code & 0xFF, None
    return 1, str(code)


def _strip_own_frames(exc):
    """The traceback from the program's first frame on, without ours."""
    tb = exc.__traceback__
    here = os.path.abspath(__file__)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == here:
        tb = tb.tb_next
    return tb


def finish(outcome):
    """Report how the program ended, as python would; return the exit code.

    A Ctrl-C, SIGTERM or SIGHUP ends the process by that signal itself
    (after the profile has been saved), so shells and callers see the same
    status as for plain python; so does a Ctrl-C, SIGTERM or SIGHUP that
    arrived while the profile was being saved.
    """
    _flush(sys.stdout)
    if outcome.exit_message is not None and sys.stderr is not None:
        try:
            print(outcome.exit_message, file=sys.stderr)
        except ValueError:  # the program closed sys.stderr: python prints nothing either
            pass
    if outcome.exc is not None:
        exc = outcome.exc
        tb = _strip_own_frames(exc)
        # Newer pythons print value.__traceback__, older ones the tb given.
        exc.__traceback__ = tb
        sys.excepthook(type(exc), exc, tb)
    if outcome.interrupted:
        reraise(_SIGINT)
    stopper = outcome.stopper
    if stopper is not None:
        if stopper.received:
            reraise(stopper.received)
        stopper.restore()
    return outcome.exit_code


def reraise_sigint():
    """``reraise(SIGINT)``."""
    reraise(_SIGINT)
