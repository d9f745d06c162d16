"""The child process of ``profkit run``: the program's side of the timeline.

``profkit run script.py`` samples memory from its own process and starts the
program as ``python -c BOOT DIR FD READY script.py args...`` (see
``command``).  Here the program runs as ``__main__`` (see runner), and every
call of a function marked ``@profile`` appends one FUNC line to the ``.dat``
file on descriptor FD when it returns: its name, the memory and time at its
start and end, and how deeply it was nested.  Memory is read in C from a kept
/proc descriptor; the engine loads at the first marked call, so a program
that marks nothing never loads it.  One byte on descriptor READY tells
profkit the program itself started.
"""
import os
import sys
import time
from _thread import get_ident

_MIB = 1048576.0
_CO_GENERATOR = 0x20


def _self_rss():
    """This process's RSS in bytes; loads the engine on the first call."""
    global _self_rss
    from profkit import _engine

    _self_rss = _engine.self_rss
    return _self_rss()


class Stamper:
    """``profile`` under ``profkit run``: memory_profiler's timestamping
    decorator (``@profile`` and ``with profile.timestamp(name):``)."""

    def __init__(self, fd):
        self._fd = fd
        self._depth = {}  # thread ident -> marked calls in progress

    def __call__(self, func=None, **_options):
        if func is None:  # @profile(precision=...) and the like
            return self
        return self.wrap(func)

    def _enter(self):
        ident = get_ident()
        depth = self._depth.get(ident, 0) + 1
        self._depth[ident] = depth
        return ident, depth, _self_rss() / _MIB, time.time()

    def _leave(self, name, ident, depth, mib0, t0):
        self._depth[ident] = depth - 1
        line = b"FUNC %s %.4f %.4f %.4f %.4f %d\n" % (name, mib0, t0, _self_rss() / _MIB,
                                                      time.time(), depth)
        if self._fd >= 0:
            try:
                os.write(self._fd, line)
            except OSError:
                self._fd = -1  # the program closed it: keep running, stop stamping

    def wrap(self, func):
        import functools

        module = getattr(func, "__module__", None) or "?"
        qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", "?")
        name = f"{module}.{qual}".replace(" ", "_").encode("utf-8", "replace")
        enter, leave = self._enter, self._leave
        code = getattr(func, "__code__", None)

        if code is not None and code.co_flags & _CO_GENERATOR:
            # A generator's work happens while it is iterated, not when it is
            # called: stamp from the first step to the last.
            def gen_wrapper(*args, **kwargs):
                state = enter()
                try:
                    return (yield from func(*args, **kwargs))
                finally:
                    leave(name, *state)

            return functools.wraps(func)(gen_wrapper)

        def wrapper(*args, **kwargs):
            state = enter()
            try:
                return func(*args, **kwargs)
            finally:
                leave(name, *state)

        return functools.wraps(func)(wrapper)

    def timestamp(self, name="<block>"):
        """``with profile.timestamp("load"):`` stamps a block like a call."""
        return _Block(self, str(name).replace(" ", "_").encode("utf-8", "replace"))


class _Block:
    def __init__(self, stamper, name):
        self._stamper = stamper
        self._name = name
        self._state = None

    def __enter__(self):
        self._state = self._stamper._enter()
        return self

    def __exit__(self, *exc):
        self._stamper._leave(self._name, *self._state)
        return False


# The child imports the profkit that started it, from the folder holding it
# (DIR), and not the one ``python -m`` would find first in the current folder;
# the program then gets its own sys.path[0] from the runner, as under python.
_BOOT = """\
import sys
home = sys.argv.pop(1)
if sys.path and sys.path[0] == "":
    sys.path[0] = home
else:
    sys.path.insert(0, home)
from profkit.timeline_child import main
sys.exit(main(sys.argv[1:]))
"""


def command(fd, ready_fd, python_target):
    """The command line that runs ``python_target`` (the words after
    ``python``) stamped into descriptor ``fd``."""
    home = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [sys.executable, "-c", _BOOT, home, str(fd), str(ready_fd)] + list(python_target)


def main(argv):
    from profkit import marking, runner
    from profkit.errors import ProfkitError

    fd = int(argv[0])
    ready = int(argv[1])
    os.set_inheritable(ready, False)
    rest = argv[2:]
    try:
        if rest[:1] == ["-m"]:
            target = runner.load_target(module=rest[1], args=rest[2:])
        else:
            target = runner.load_target(script=rest[0], args=rest[1:])
    except ProfkitError as exc:
        print(f"profkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    os.write(ready, b"1")  # the program runs from here on
    os.close(ready)
    stamper = Stamper(fd)
    with marking.builtin_profile(stamper), marking.line_profiler(stamper):
        # SIGTERM and the like keep their action: nothing here to save
        outcome = runner.run_target(target, keep_streams=False, signals=False)
    return runner.finish(outcome)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
