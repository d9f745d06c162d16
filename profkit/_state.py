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
