"""What ``@profile`` means while a program runs.

``profkit lines``, ``mem`` and ``run`` each give the program a ``profile``
object: in builtins (as kernprof does) and behind ``from profkit import
profile``.  This module holds that process-wide choice, so code the program
imports marks its functions for the profiler that is running.

Under plain ``python``, ``profkit.profile`` (``profile`` here) does nothing
unless asked, as line_profiler's ``from line_profiler import profile``:
with ``PROFKIT_PROFILE=1`` (or line_profiler's ``LINE_PROFILE=1``) in the
environment, ``--line-profile`` among the arguments, or after
``profile.enable()``, the functions it marks are line-profiled, and at exit
the report is printed and saved to ``profile_output.lprof``.  Not asked, it
returns each function as it is and loads nothing (not the engine)."""
import contextlib
import os
import sys

_line_profiler = None


@contextlib.contextmanager
def line_profiler(prof):
    """Make ``prof`` the target of ``profkit.profile`` while the block runs."""
    global _line_profiler
    saved = _line_profiler
    _line_profiler = prof
    try:
        yield prof
    finally:
        _line_profiler = saved


def current_line_profiler():
    return _line_profiler


_MISSING = object()


def passthrough(func=None, **_options):
    """``profile`` for modes that do not use it: leaves the function as it is."""
    if func is None:
        return passthrough
    return func


@contextlib.contextmanager
def builtin_profile(obj):
    """Put ``profile`` into builtins for the program, as kernprof does."""
    import builtins

    saved = builtins.__dict__.get("profile", _MISSING)
    builtins.profile = obj
    try:
        yield
    finally:
        if saved is _MISSING:
            builtins.__dict__.pop("profile", None)
        else:
            builtins.profile = saved


# ---- profkit.profile ----------------------------------------------------------------

ENVIRONMENT = ("PROFKIT_PROFILE", "LINE_PROFILE")  # either one, set to a true value, asks
ARGUMENTS = ("--line-profile", "--line_profile")   # as line_profiler's cli_flags
OUTPUT_PREFIX = "profile_output"                   # line_profiler's name


def _asked():
    if any(os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")
           for name in ENVIRONMENT) or any(a in sys.argv for a in ARGUMENTS):
        # multiprocessing's children import the program again: the parent reports
        mp = sys.modules.get("multiprocessing")
        return mp is None or mp.parent_process() is None
    return False


class Profile:
    """``profkit.profile``: marks functions for profiling.

    Under ``profkit lines``, ``profkit mem`` (where it takes memory_profiler's
    ``stream=`` and ``precision=``) and ``profkit run`` the function goes to
    the running profiler.  Under plain ``python`` it does nothing unless
    asked (see the module); ``enabled`` says whether it was, once the first
    function has been marked or ``enable()``/``disable()`` called."""

    def __init__(self):
        self.enabled = None  # not decided yet: the first mark decides
        self.output_prefix = OUTPUT_PREFIX
        self._prof = None

    def __call__(self, func=None, **options):
        if func is None:  # @profile(...)
            return lambda f: self(f, **options)
        prof = _line_profiler
        if prof is not None:
            return prof(func, **options) if options else prof(func)
        if self.enabled is None:
            if _asked():
                self.enable()
            else:
                self.enabled = False
        if not self.enabled:
            return func
        return self._prof(func)

    def enable(self, output_prefix=None):
        """Profile the functions marked from now on, and report at exit (to
        ``OUTPUT_PREFIX.lprof``, or ``output_prefix + '.lprof'``)."""
        if output_prefix is not None:
            self.output_prefix = str(output_prefix)
        if self._prof is None:
            import atexit

            from profkit.lineprof import LineProfiler

            self._prof = LineProfiler()
            atexit.register(self.show)
        self.enabled = True

    def disable(self):
        """Functions marked from now on are left as they are."""
        self.enabled = False

    def show(self):
        """Print the report (stdout) and save it, saying where on stderr (run
        at exit once enabled)."""
        if self._prof is None or not self._prof.functions:
            return
        from profkit.formats import lprof

        stats = self._prof.get_stats()
        stats.print(stream=sys.stdout, output_unit=1e-6, stripzeros=True, summarize=True)
        sys.stdout.flush()
        path = self.output_prefix + ".lprof"
        try:
            lprof.dump(stats, path)
        except OSError as exc:
            print(f"profkit: cannot write {path!r}: {exc.strerror or exc}", file=sys.stderr)
            return
        print(f"profkit: wrote {path} (show it again with: profkit show {path})", file=sys.stderr)


profile = Profile()
