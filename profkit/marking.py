"""What ``@profile`` means while a program runs under profkit.

``profkit lines``, ``mem`` and ``run`` each give the program a ``profile``
object: in builtins (as kernprof does) and behind ``from profkit import
profile``.  This module holds that process-wide choice, so code the program
imports marks its functions for the profiler that is running, and plain
``python`` leaves them alone."""
import contextlib

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
