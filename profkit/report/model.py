"""The neutral model of a profile: what every output reads.

Each profiler turns its results into one of these tables, each reader in
``formats/`` gives one back, and each module of ``report/`` writes one in its
own format.  So a table shows the same whether it was just measured or read
from a file, and a new output needs only to read these classes.

* ``FunctionTable``: per function, the numbers pstats keeps, with callers.
* ``LineTable``: per function, per line, hits and time.
* ``MemoryTable``: per function, per line, memory as memory_profiler counts it.
* A call tree (for flame graphs and speedscope) will take its place here.

Nothing here imports the engine, another part of profkit, or anything slow.
"""

__all__ = ["FunctionTable", "LineTable", "MemoryTable", "FunctionMemory"]


class FunctionTable:
    """Per function, what cProfile measures: ``stats`` is a pstats dict,
    ``{(filename, lineno, funcname): (primitive calls, total calls, tottime,
    cumtime, {caller key: (total calls, primitive calls, tottime, cumtime)})}``
    with builtins keyed ``("~", 0, "<built-in method ...>")`` (see
    formats/pstats_io.py).  ``path`` and ``mtime``: the file it was read
    from, and when that file was written, if it was read from one."""

    def __init__(self, stats, path=None, mtime=None):
        self.stats = stats
        self.path = path
        self.mtime = mtime


class LineTable:
    """Per function, per line: ``timings`` is ``{(filename, first_lineno,
    name): [(lineno, hits, time), ...]}`` with lines in order and ``time`` in
    units of ``unit`` seconds; ``name`` is the qualified name on 3.11+.  The
    attributes are line_profiler's ``LineStats``'."""

    def __init__(self, timings, unit):
        self.timings = timings
        self.unit = unit

    def __repr__(self):
        return f"{type(self).__name__}({self.timings!r}, {self.unit:.2G})"

    def __eq__(self, other):
        return (isinstance(other, LineTable) and self.unit == other.unit
                and self.timings == other.timings)

    def total_time(self, key):
        """Seconds spent in the function ``key``."""
        return sum(t for _, _, t in self.timings.get(key, ())) * self.unit


class FunctionMemory:
    """The per-line figures of one function, in bytes: ``lines`` maps a line
    number to ``[occurrences, increment, mem usage, allocated, net, peak]``.
    ``caller`` is ``[name, file, line]`` of the call that first reached it,
    or None; ``precision`` and ``stream`` are the report options the
    function was marked with (memory_profiler's ``profile(stream=,
    precision=)``), or None."""

    def __init__(self, filename, first_line, name, last, lines, caller=None, precision=None,
                 stream=None):
        self.filename = filename
        self.first_line = first_line
        self.name = name
        self.last = last
        self.lines = lines
        self.caller = caller
        self.precision = precision
        self.stream = stream

    @property
    def calls(self):
        row = self.lines.get(self.first_line)
        return row[0] if row else 0

    def total(self, column):
        return sum(row[column] for row in self.lines.values())


class MemoryTable:
    """What a line-by-line memory profile measured: ``functions``
    (FunctionMemory, in the order they were registered) and the ``backend``
    that measured them: ``"rss"`` (memory_profiler's columns), ``"alloc"``
    (bytes from the allocation hooks) or ``"both"``."""

    def __init__(self, functions, backend):
        self.functions = functions
        self.backend = backend
