"""The line-profile file (``.lprof``), as line_profiler writes and reads it.

The file is a pickle of a ``LineStats``: ``timings`` maps ``(filename,
first_lineno, function name)`` to a sorted list of ``(lineno, hits, time)``
with ``time`` in integer units of ``unit`` seconds (1e-9 here).  Reading
accepts line_profiler's own files too, through an unpickler that admits only
the LineStats classes and plain containers, so opening a file never runs
code.  The report that ``LineStats.print`` writes, line_profiler's layout
column for column, lives in ``report/text.py``.
"""
import io
import pickle

from profkit.formats.atomic import write_atomic
from profkit.report.model import LineTable

__all__ = ["LineStats", "load", "dump"]


class LineStats(LineTable):
    """``timings``: {(filename, first_lineno, name): [(lineno, hits, time)]};
    ``unit``: seconds per time unit.  Same attributes as line_profiler's;
    pickled under this module's name."""

    def print(self, stream=None, output_unit=None, stripzeros=False, details=True,
              summarize=False, sort=False):
        """line_profiler's report (see report/text.py)."""
        from profkit import report

        report.write(self, stream=stream, output_unit=output_unit, stripzeros=stripzeros,
                     details=details, summarize=summarize, sort=sort)


# ---- the file -------------------------------------------------------------


def dump(stats, path):
    """Pickle ``stats`` to ``path`` atomically (line_profiler's .lprof)."""
    write_atomic(path, pickle.dumps(stats, pickle.HIGHEST_PROTOCOL))


_ALLOWED = {
    ("profkit.formats.lprof", "LineStats"): LineStats,
    ("line_profiler.line_profiler", "LineStats"): LineStats,
    ("line_profiler._line_profiler", "LineStats"): LineStats,
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        cls = _ALLOWED.get((module, name))
        if cls is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return cls


def load(path):
    """Read a .lprof file (ours or line_profiler's).  Raises ValueError with a
    one-line reason when the file is not one."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        stats = _SafeUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # noqa: BLE001 - any decoding failure means "not ours"
        raise ValueError(f"{path}: not a line-profile (.lprof) file ({type(exc).__name__})") from None
    if not isinstance(stats, LineStats) or not isinstance(getattr(stats, "timings", None), dict) \
            or not isinstance(getattr(stats, "unit", None), (int, float)):
        raise ValueError(f"{path}: not a line-profile (.lprof) file")
    return stats
