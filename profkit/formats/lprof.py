"""Line-profile results: the ``LineStats`` object, its text report and its file.

The report is line_profiler's layout, column for column, so people who know
``kernprof -l -v`` read it at once::

    Timer unit: 1e-06 s

    Total time: 0.000196 s
    File: ex.py
    Function: compute at line 1

    Line #      Hits         Time  Per Hit   % Time  Line Contents
    ==============================================================
         1                                           @profile
         2                                           def compute(n):
         3         2          1.4      0.7      0.7      total = 0

The file (``.lprof``) is a pickle of a ``LineStats``, as line_profiler
writes it: ``timings`` maps ``(filename, first_lineno, function name)`` to a
sorted list of ``(lineno, hits, time)`` with ``time`` in integer units of
``unit`` seconds (1e-9 here).  Reading accepts line_profiler's own files too,
through an unpickler that admits only the LineStats classes and plain
containers, so opening a file never runs code.
"""
import inspect
import io
import linecache
import os
import pickle
from tokenize import TokenError

from profkit.formats.atomic import write_atomic

__all__ = ["LineStats", "show_text", "show_func", "load", "dump"]


class LineStats:
    """``timings``: {(filename, first_lineno, name): [(lineno, hits, time)]};
    ``unit``: seconds per time unit.  Same attributes as line_profiler's."""

    def __init__(self, timings, unit):
        self.timings = timings
        self.unit = unit

    def __repr__(self):
        return f"{type(self).__name__}({self.timings!r}, {self.unit:.2G})"

    def __eq__(self, other):
        return (isinstance(other, LineStats) and self.unit == other.unit
                and self.timings == other.timings)

    def total_time(self, key):
        """Seconds spent in the function ``key``."""
        return sum(t for _, _, t in self.timings.get(key, ())) * self.unit

    def print(self, stream=None, output_unit=None, stripzeros=False, details=True,
              summarize=False, sort=False):
        show_text(self.timings, self.unit, output_unit=output_unit, stream=stream,
                  stripzeros=stripzeros, details=details, summarize=summarize, sort=sort)


WIDTHS = {"line": 6, "hits": 9, "time": 12, "perhit": 8, "percent": 8}


def _source_block(filename, start_lineno):
    """The function's source lines (decorators included), or None."""
    if not os.path.exists(filename):
        return None
    linecache.checkcache(filename)
    lines = linecache.getlines(filename)
    if not lines:
        return None
    try:
        return inspect.getblock(lines[start_lineno - 1:])
    except (IndexError, SyntaxError, TokenError):
        return lines[start_lineno - 1:start_lineno]


def show_func(filename, start_lineno, func_name, timings, unit, output_unit=None,
              stream=None, stripzeros=False):
    """Print one function's table, as line_profiler's show_func does."""
    stream = stream if stream is not None else _stdout()
    total_hits = sum(h for _, h, _ in timings)
    total_time = sum(t for _, _, t in timings)
    if stripzeros and total_hits == 0:
        return
    output_unit = unit if output_unit is None else output_unit
    scalar = unit / output_unit
    stream.write("Total time: %g s\n" % (total_time * unit))
    block = _source_block(filename, start_lineno)
    if block is not None:
        stream.write(f"File: {filename}\n")
        stream.write(f"Function: {func_name} at line {start_lineno}\n")
    else:
        stream.write("\n")
        stream.write(f"Could not find file {filename}\n")
        stream.write("Are you sure you are running this program from the same directory\n")
        stream.write("that you ran the profiler from?\n")
        stream.write("Continuing without the function's contents.\n")
        linenos = [ln for ln, _, _ in timings]
        nlines = (max(linenos) - min(min(linenos), start_lineno) + 1) if linenos else 1
        block = [""] * nlines
    widths = dict(WIDTHS)
    display = {}
    for lineno, nhits, time in timings:
        percent = "" if total_time == 0 else "%5.1f" % (100 * time / total_time)
        time_disp = "%5.1f" % (time * scalar)
        if len(time_disp) > widths["time"]:
            time_disp = "%5.3g" % (time * scalar)
        perhit_disp = "%5.1f" % (float(time) * scalar / nhits)
        if len(perhit_disp) > widths["perhit"]:
            perhit_disp = "%5.3g" % (float(time) * scalar / nhits)
        hits_disp = "%d" % nhits
        if len(hits_disp) > widths["hits"]:
            hits_disp = "%g" % nhits
        display[lineno] = (hits_disp, time_disp, perhit_disp, percent)
    for col, idx in (("hits", 0), ("time", 1), ("perhit", 2)):
        for row in display.values():
            widths[col] = max(widths[col], len(row[idx]))
    template = " ".join("%" + str(widths[c]) + "s" for c in ("line", "hits", "time", "perhit", "percent"))
    template += "  %-s"
    header = template % ("Line #", "Hits", "Time", "Per Hit", "% Time", "Line Contents")
    stream.write("\n")
    stream.write(header)
    stream.write("\n")
    stream.write("=" * len(header))
    stream.write("\n")
    empty = ("", "", "", "")
    for offset, line in enumerate(block):
        lineno = start_lineno + offset
        row = display.get(lineno, empty)
        stream.write(template % ((lineno,) + row + (line.rstrip("\n").rstrip("\r"),)))
        stream.write("\n")
    stream.write("\n")


def show_text(timings, unit, output_unit=None, stream=None, stripzeros=False, details=True,
              summarize=False, sort=False):
    """Print every function's table, then (with ``summarize``) one line of
    total time per function."""
    stream = stream if stream is not None else _stdout()
    stream.write("Timer unit: %g s\n\n" % (output_unit if output_unit is not None else unit))
    items = list(timings.items())
    if sort:
        items.sort(key=lambda kv: sum(t for _, _, t in kv[1]))
    if details:
        for (fn, lineno, name), lines in items:
            show_func(fn, lineno, name, lines, unit, output_unit=output_unit, stream=stream,
                      stripzeros=stripzeros)
    if summarize:
        for (fn, lineno, name), lines in sorted(items, key=lambda kv: -sum(t for _, _, t in kv[1])):
            total = sum(t for _, _, t in lines) * unit
            if stripzeros and total == 0:
                continue
            stream.write("%6.2f seconds - %s:%s - %s\n" % (total, fn, lineno, name))


def _stdout():
    import sys

    return sys.stdout


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
