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
"""
from profkit.formats.atomic import write_atomic
from profkit.report.model import FunctionMemory, MemoryTable

__all__ = ["FORMAT", "BACKENDS", "dump", "load"]

FORMAT = "profkit-line-memory"
BACKENDS = frozenset({"rss", "alloc", "both"})


def _function_to_json(f):
    return {"filename": f.filename, "first_line": f.first_line, "name": f.name,
            "last_line": f.last, "caller": f.caller,
            "lines": [[ln] + list(row) for ln, row in sorted(f.lines.items())]}


def _function_from_json(d):
    lines = {int(r[0]): [int(v) for v in r[1:7]] for r in d["lines"]}
    return FunctionMemory(str(d["filename"]), int(d["first_line"]), str(d["name"]),
                          int(d["last_line"]), lines, d.get("caller"))


def dump(table, path):
    """Write ``table`` (a MemoryTable) to ``path`` atomically."""
    import json

    doc = {"format": FORMAT, "version": 1, "backend": table.backend,
           "functions": [_function_to_json(f) for f in table.functions]}
    write_atomic(path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))


def load(path, cls=MemoryTable):
    """Read a report into ``cls`` (a MemoryTable class).  Raises OSError when
    the file cannot be read, ValueError with a one-line reason when it is
    not such a report or is damaged."""
    import json

    with open(path, "rb") as f:
        raw = f.read()
    try:
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("not a profkit memory report")
        if doc.get("backend") not in BACKENDS:
            raise ValueError(f"unknown backend {doc.get('backend')!r}")
        return cls([_function_from_json(d) for d in doc["functions"]], doc["backend"])
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: a damaged memory report ({exc})") from None
