"""The pstats file format, as written by cProfile and read by pstats.Stats,
snakeviz and gprof2dot.

A pstats file is one ``marshal`` dump of a dict::

    {(filename, lineno, funcname):
        (primitive_calls, total_calls, tottime, cumtime,
         {(caller_filename, caller_lineno, caller_funcname):
             (total_calls, primitive_calls, tottime, cumtime), ...}),
     ...}

Builtins are keyed ``('~', 0, '<built-in method builtins.len>')``.  Note the
two call counts swap places between the outer tuple and the callers' tuples:
that is cProfile's layout and pstats depends on it.
"""
import marshal
import os

from profkit.formats.atomic import write_atomic


def dump(stats, path):
    """Write ``stats`` (the dict above) to ``path`` atomically."""
    write_atomic(path, marshal.dumps(stats))


def load(path):
    """Read a pstats file; raises ValueError when it is not one."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        stats = marshal.loads(data)
    except (EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a pstats file ({exc})") from None
    if not isinstance(stats, dict) or not all(
            isinstance(k, tuple) and len(k) == 3 and isinstance(v, tuple) and len(v) == 5
            for k, v in stats.items()):
        raise ValueError(f"{path}: not a pstats file")
    return stats


def read(path):
    """Read a pstats file as the reports' model: a FunctionTable that knows
    the file and when it was written.  Raises as ``load``."""
    from profkit.report.model import FunctionTable

    stats = load(path)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        mtime = None
    return FunctionTable(stats, path=path, mtime=mtime)
