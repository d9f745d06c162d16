"""The line-profile file (``.lprof``), as line_profiler writes and reads it.

The file is a pickle of a ``LineStats``: ``timings`` maps ``(filename,
first_lineno, function name)`` to a sorted list of ``(lineno, hits, time)``
with ``time`` in integer units of ``unit`` seconds (1e-9 here).  Reading
accepts line_profiler's own files too, through an unpickler that admits only
the LineStats classes and plain containers, so opening a file never runs
code.  The report that ``LineStats.print`` writes, line_profiler's layout
column for column, lives in ``report/text.py``.
"""
import copyreg
import io
import math
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
    # pickles of protocol 0 and 1 make an instance through these (with the
    # names python 2 gave them); they can only build the classes above
    ("copy_reg", "_reconstructor"): copyreg._reconstructor,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        cls = _ALLOWED.get((module, name))
        if cls is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return cls


def load(path, data=None):
    """Read a .lprof file (ours or line_profiler's).  Raises OSError when it
    cannot be read, ValueError with a one-line reason when the file is not
    one or is damaged.  ``data``: the file's bytes, already read."""
    from profkit.formats.source import read_input

    if data is None:
        data = read_input(path)
    try:
        stats = _SafeUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # noqa: BLE001 - any decoding failure means "not ours"
        raise ValueError(f"{path}: not a line-profile (.lprof) file ({type(exc).__name__})") from None
    if not isinstance(stats, LineStats) or not isinstance(getattr(stats, "timings", None), dict):
        raise ValueError(f"{path}: not a line-profile (.lprof) file")
    problem = _check(stats)
    if problem is not None:
        raise ValueError(f"{path}: a damaged line profile ({problem})")
    return stats


_BIG = 1 << 63
_MAX_LINE = 1 << 31


def _is_line(value):
    return isinstance(value, int) and 1 <= value < _MAX_LINE


def _check(stats):
    """None when every figure is one the report can print, else why not."""
    unit = getattr(stats, "unit", None)
    if isinstance(unit, bool) or not isinstance(unit, (int, float)) \
            or not (math.isfinite(unit) and unit > 0):
        return "its time unit is not a positive number"
    for key, rows in stats.timings.items():
        if not (type(key) is tuple and len(key) == 3 and isinstance(key[0], str)
                and "\0" not in key[0] and isinstance(key[1], int) and 0 <= key[1] < _MAX_LINE
                and isinstance(key[2], str)):
            return "a function is not keyed (file, line, name)"
        if not isinstance(rows, list):
            return f"the lines of {key[2][:40]!r} are not a list"
        for row in rows:
            if not (isinstance(row, (tuple, list)) and len(row) == 3 and _is_line(row[0])
                    and isinstance(row[1], int) and 0 <= row[1] < _BIG
                    and (isinstance(row[2], int) and abs(row[2]) < _BIG
                         or isinstance(row[2], float) and math.isfinite(row[2]))):
                return f"a line of {key[2][:40]!r} is not (line, hits, time)"
    return None
