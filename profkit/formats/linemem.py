"""The line-by-line memory report file (``profkit mem -o FILE``): JSON.

One object, written atomically::

    {"format": "profkit-line-memory", "version": 1, "backend": "rss" | "alloc" | "both",
     "functions": [{"filename": ..., "first_line": 17, "name": "main", "last_line": 22,
                    "caller": null | [name, filename, line],
                    "lines": [[lineno, occurrences, increment, mem_usage, allocated, net, peak],
                              ...]}]}

Memory figures are integers in bytes; the columns a backend does not measure
are 0.  The source lines are not stored: the report reads them from the files
again, as memory_profiler's does.  Described again in docs/formats.md.

Reading checks every field: line numbers from 1 to 2**31 with ``first_line
<= lineno <= last_line`` and rows less than ``MAX_SPAN`` lines into their
function, figures whole numbers under 2**63 in size.  The report prints
every line from ``first_line`` to ``last_line``, so ``last_line`` is read
as at most the last line the source file has now (or, without the file,
the last line measured).
"""
import os
import stat

from profkit.formats.atomic import write_atomic
from profkit.formats.source import read_input
from profkit.report.model import FunctionMemory, MemoryTable

__all__ = ["FORMAT", "BACKENDS", "dump", "load"]

FORMAT = "profkit-line-memory"
BACKENDS = frozenset({"rss", "alloc", "both"})
MAX_LINE = 1 << 31
MAX_SPAN = 1_000_000  # lines from a function's first to a measured one
_BIG = 1 << 63
_SOURCE_LIMIT = 64 << 20  # the most read of a source file to count its lines


def _function_to_json(f):
    return {"filename": f.filename, "first_line": f.first_line, "name": f.name,
            "last_line": f.last, "caller": f.caller,
            "lines": [[ln] + list(row) for ln, row in sorted(f.lines.items())]}


def _whole(value, what, low=-_BIG, high=_BIG):
    """``value`` as an int when JSON gave a whole number in [low, high)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int or not low <= value < high:
        raise ValueError(f"{what} is not a whole number in range")
    return value


def _text(value, what):
    if not isinstance(value, str):
        raise ValueError(f"{what} is not text")
    return value


def _function_from_json(d):
    if not isinstance(d, dict):
        raise ValueError("a function is not an object")
    filename = _text(d.get("filename"), "a file name")
    if "\0" in filename:  # no file can have it; open() would raise
        raise ValueError("a file name holds a NUL")
    name = _text(d.get("name"), "a function name")
    first = _whole(d.get("first_line"), "first_line", 1, MAX_LINE)
    last = _whole(d.get("last_line"), "last_line", first, MAX_LINE)
    rows = d.get("lines")
    if not isinstance(rows, list):
        raise ValueError(f"the lines of {name} are not a list")
    lines = {}
    for r in rows:
        if not isinstance(r, list) or len(r) != 7:
            raise ValueError(f"a line of {name} is not 7 numbers")
        lineno = _whole(r[0], "a line number", first, min(last + 1, first + MAX_SPAN))
        lines[lineno] = [_whole(r[1], "occurrences", 0)] + [_whole(v, "a memory figure")
                                                            for v in r[2:]]
    caller = d.get("caller")
    if caller is not None and not (isinstance(caller, list) and len(caller) == 3
                                   and isinstance(caller[0], str) and isinstance(caller[1], str)):
        raise ValueError(f"the caller of {name} is not [name, file, line]")
    if caller is not None:
        caller = [caller[0], caller[1], _whole(caller[2], "the caller's line", 0, MAX_LINE)]
    return FunctionMemory(filename, first, name, last, lines, caller)


def _source_length(filename):
    """How many lines the report would find in ``filename`` (as it splits
    them), or None when it cannot read it: not a regular file, or too big."""
    try:
        if not stat.S_ISREG(os.stat(filename).st_mode):
            return None
        return len(read_input(filename, _SOURCE_LIMIT).decode("utf-8", "replace").splitlines())
    except (OSError, ValueError):
        return None


def _bound_last(functions):
    """Cut each function's ``last`` to what the report can show: the lines
    its source file has, or the last line measured."""
    lengths = {}
    for f in functions:
        if f.filename not in lengths:
            lengths[f.filename] = _source_length(f.filename)
        n = lengths[f.filename]
        measured = max(f.lines, default=f.first_line)
        f.last = max(measured, min(f.last, n)) if n is not None else measured


def dump(table, path):
    """Write ``table`` (a MemoryTable) to ``path`` atomically."""
    import json

    doc = {"format": FORMAT, "version": 1, "backend": table.backend,
           "functions": [_function_to_json(f) for f in table.functions]}
    write_atomic(path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))


def load(path, cls=MemoryTable, data=None):
    """Read a report into ``cls`` (a MemoryTable class).  Raises OSError when
    the file cannot be read, ValueError with a one-line reason when it is
    not such a report or is damaged.  ``data``: the file's bytes, already
    read (``path`` then only names it)."""
    import json

    raw = read_input(path) if data is None else data
    try:
        try:
            doc = json.loads(raw.decode("utf-8"))
        except RecursionError:
            raise ValueError("nested too deeply") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("not a profkit memory report")
        backend = doc.get("backend")
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise ValueError(f"unknown backend {str(backend)[:40]!r}")
        if not isinstance(doc.get("functions"), list):
            raise ValueError("no list of functions")
        functions = [_function_from_json(d) for d in doc["functions"]]
    except (ValueError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())[:100]
        raise ValueError(f"{path}: a damaged memory report ({reason})") from None
    _bound_last(functions)
    return cls(functions, doc["backend"])
