"""Process-wide state the CLI shares with code the profiled program imports:
which profiler ``from profkit import profile`` should hand functions to."""
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
