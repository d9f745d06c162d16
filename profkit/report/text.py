"""Text reports, each as the tool people know prints it.

* the function table as ``python -m cProfile`` prints it (through pstats);
* the line table as ``kernprof -l -v`` prints it (line_profiler's
  ``show_text`` and ``show_func``, column for column), and the order its
  functions come in;
* the memory table as ``python -m memory_profiler`` prints it.

Each reads one table of ``report.model``; ``write`` picks by the table's
kind.  The public ``print_stats`` and ``print`` methods of the profilers end
here, as does the command line.  pstats, inspect and tokenize load only for
the report that needs them: ``profkit mem`` prints without them.
"""
import sys

from profkit.report.model import FunctionTable, LineTable, MemoryTable

__all__ = ["write", "preload", "print_functions", "sort_keys", "show_text", "show_func",
           "source_order", "costliest", "TOP_FUNCTIONS", "show_memory", "source_lines"]


def write(table, path=None, fmt="text", stream=None, **options):
    """Print ``table`` to ``stream`` (default: sys.stdout), or save the text
    to ``path``; ``options`` are those of the table's printer below."""
    if path is not None:
        import io

        from profkit.formats.atomic import write_atomic

        buf = io.StringIO()
        write(table, stream=buf, **options)
        write_atomic(path, buf.getvalue().encode("utf-8"))
        return
    if isinstance(table, FunctionTable):
        print_functions(table, stream=stream, **options)
    elif isinstance(table, LineTable):
        show_text(table.timings, table.unit, stream=stream, **options)
    elif isinstance(table, MemoryTable):
        show_memory(table, stream=stream, **options)
    else:
        raise TypeError(f"no text report for {type(table).__name__}")


def preload(kind):
    """Import now what printing a table of class ``kind`` needs: pstats for a
    FunctionTable, inspect and tokenize for a LineTable (10 and 6 ms).

    Call it before a short run's table is made: the engine's first time
    conversion waits until 10 ms have passed since it was imported (its clock
    calibration), and these imports then fill that time instead of
    following it."""
    if issubclass(kind, FunctionTable):
        import pstats  # noqa: F401
    elif issubclass(kind, LineTable):
        import inspect  # noqa: F401
        import tokenize  # noqa: F401


# ---- the function table -------------------------------------------------------


class _Loaded:
    """What pstats.Stats reads a profile from: ``create_stats()`` and
    ``stats``, as on cProfile.Profile."""

    def __init__(self, stats):
        self.stats = stats

    def create_stats(self):
        pass


def print_functions(table, stream=None, sort=-1, limits=()):
    """The table ``python -m cProfile`` prints (``python -m pstats FILE``
    for a table read from a file), ordered by ``sort`` (a key, or a tuple
    of keys as ``%prun -s a -s b``), cut by ``limits`` (pstats'
    restrictions: a row count, a fraction, a regular expression)."""
    import pstats

    stats = pstats.Stats(_Loaded(table.stats), stream=stream)
    if table.path is not None:  # pstats names the file it read, and when it was written
        import time

        stats.files = [table.path if table.mtime is None else
                       time.ctime(table.mtime) + "    " + table.path]
    keys = tuple(sort) if isinstance(sort, (list, tuple)) else (sort,)
    stats.strip_dirs().sort_stats(*keys).print_stats(*limits)


def sort_keys():
    """The sort keys pstats takes (``-s KEY``)."""
    import pstats

    return sorted(pstats.Stats.sort_arg_dict_default)


# ---- the line table ---------------------------------------------------------------

TOP_FUNCTIONS = 10  # how many functions ``costliest`` keeps


def source_order(stats, registered=()):
    """``stats`` (a LineTable) with its functions file by file, files in the
    order their first function was registered (``registered``: keys), each
    file in source order."""
    files = {}
    for key in list(registered) + list(stats.timings):
        files.setdefault(key[0], len(files))
    keys = sorted(stats.timings, key=lambda k: (files.get(k[0], len(files)), k[1], k[2]))
    return type(stats)({k: stats.timings[k] for k in keys}, stats.unit)


def costliest(stats, count=TOP_FUNCTIONS):
    """``stats`` cut to the ``count`` functions that took the most time, the
    costliest first, leaving out functions never called (``--all``)."""
    ranked = sorted(stats.timings.items(), key=lambda kv: -sum(t for _, _, t in kv[1]))
    ranked = [kv for kv in ranked if sum(h for _, h, _ in kv[1])][:count]
    return type(stats)(dict(ranked), stats.unit)


WIDTHS = {"line": 6, "hits": 9, "time": 12, "perhit": 8, "percent": 8}


def _source_block(filename, start_lineno):
    """The function's source lines (decorators included), or None.  From
    the file, or from linecache alone for code that has no file: exec'd
    code registered there, IPython and Jupyter cells.

    The block is looked for in a window of the lines from the function on,
    four times larger each time the window may have cut it, so the cost
    follows the function's length, not the rest of the file's: with
    ``lines[start:]`` a file of N functions took N**2 / 2 line copies."""
    import inspect
    import linecache
    import os
    from tokenize import TokenError

    if os.path.exists(filename) and not os.path.isfile(filename):
        return None  # a device or a FIFO: linecache would read it forever
    linecache.checkcache(filename)  # keeps entries that have no file (mtime None)
    lines = linecache.getlines(filename)
    start = start_lineno - 1
    if not lines or start < 0:
        return None
    size = 64
    while True:
        window = lines[start:start + size]
        try:
            block = inspect.getblock(window)
        except (IndexError, SyntaxError, TokenError):
            block = None  # perhaps cut by the window: look further
        if start + size >= len(lines):
            return block if block is not None else lines[start:start + 1]
        if block is not None and any(_is_code(line) for line in window[len(block):]):
            return block  # code after the block ended it, not the window's end
        size *= 4


def _is_code(line):
    """Whether a source line holds code: not blank, not only a comment (what
    ends a block for inspect.getblock; blank lines and comments do not)."""
    text = line.strip()
    return bool(text) and not text.startswith("#")


def show_func(filename, start_lineno, func_name, timings, unit, output_unit=None,
              stream=None, stripzeros=False):
    """Print one function's table, as line_profiler's show_func does."""
    stream = stream if stream is not None else sys.stdout
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
    widths = dict(WIDTHS)
    display = {}
    for lineno, nhits, time in timings:
        percent = "" if total_time == 0 else "%5.1f" % (100 * time / total_time)
        time_disp = "%5.1f" % (time * scalar)
        if len(time_disp) > widths["time"]:
            time_disp = "%5.3g" % (time * scalar)
        perhit_disp = "%5.1f" % (float(time) * scalar / nhits) if nhits else ""
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
    # Without the source, only the lines measured: blank rows between them
    # say nothing, and a damaged file could ask for billions of them.
    rows = enumerate(block, start_lineno) if block is not None else \
        ((ln, "") for ln in sorted(display))
    for lineno, line in rows:
        row = display.get(lineno, empty)
        stream.write(template % ((lineno,) + row + (line.rstrip("\n").rstrip("\r"),)))
        stream.write("\n")
    stream.write("\n")


def show_text(timings, unit, output_unit=None, stream=None, stripzeros=False, details=True,
              summarize=False, sort=False):
    """Print every function's table, then (with ``summarize``) one line of
    total time per function."""
    stream = stream if stream is not None else sys.stdout
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


# ---- the memory table ---------------------------------------------------------------

MIB = 1048576.0


def _mib(value, precision):
    return f"{value / MIB:{precision + 4}.{precision}f} MiB"


def show_memory(stats, stream=None, precision=1):
    """memory_profiler's report of a MemoryTable: per function, ``Filename:
    ...`` and the columns ``Line #  Mem usage  Increment  Occurrences  Line
    Contents``; the ``alloc`` backend puts ``Allocated  Net  Peak`` in place
    of (``both``: beside) the RSS columns.  A function marked with its own
    ``stream`` or ``precision`` is printed with them."""
    default_stream = stream
    rss = stats.backend in ("rss", "both")
    alloc = stats.backend in ("alloc", "both")
    for func in stats.functions:
        out = func.stream or default_stream or sys.stdout
        prec = func.precision if func.precision is not None else precision
        heads = ["Line #"]
        if rss:
            heads += ["Mem usage", "Increment"]
        heads.append("Occurrences")
        if alloc:
            heads += ["Allocated", "Net", "Peak"]
        # memory_profiler's template: '{:>6} {:>12} {:>12}  {:>10}   {}'
        fmt = "{:>6}" + "".join(("  {:>10}" if h == "Occurrences" else " {:>12}") for h in heads[1:])
        fmt += "   {}"
        header = fmt.format(*heads, "Line Contents")
        out.write(f"Filename: {func.filename}\n\n")
        out.write(header + "\n")
        out.write("=" * len(header) + "\n")
        source = source_lines(func.filename)
        for lineno in range(func.first_line, func.last + 1):
            text = source[lineno - 1].rstrip("\n") if 0 < lineno <= len(source) else ""
            row = func.lines.get(lineno)
            cells = [str(lineno)]
            if row is None:
                cells += [""] * (len(heads) - 1)
            else:
                occ, inc, mem, allocated, net, peak = row
                if rss:
                    cells += [_mib(mem, prec), _mib(inc, prec)]
                cells.append(str(occ))
                if alloc:
                    cells += [_mib(allocated, prec), _mib(net, prec), _mib(peak, prec)]
            out.write(fmt.format(*cells, text).rstrip() + "\n")
        out.write("\n\n")
        if out is not default_stream and hasattr(out, "flush"):
            out.flush()


def source_lines(filename):
    """The lines of a source file, as linecache gives them, without loading
    tokenize for the usual UTF-8 file; none from what is not a regular file
    (a damaged report may name /dev/zero or a FIFO)."""
    import os

    if not os.path.isfile(filename):
        return []
    try:
        with open(filename, "rb") as f:
            return f.read().decode("utf-8").splitlines(True)
    except UnicodeDecodeError:
        import linecache  # a PEP 263 coding line: let it find the encoding

        return linecache.getlines(filename)
    except OSError:
        return []
