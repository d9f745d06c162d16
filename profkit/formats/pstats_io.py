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
that is cProfile's layout and pstats depends on it.  The pure-Python
``profile`` module writes a caller's value as a bare call count; it is read
as ``(count, count, 0, 0)``, since that module keeps no time per caller.

Reading checks the whole structure before anything uses it: every key a
``(str, int >= 0, str)``, every count a whole number from 0 to 2**63, every
time a finite number, every caller table a dict of the same.  pstats itself
checks none of it and fails, deep in its printing, on the first odd value.
"""
import marshal
import math
import os

from profkit.formats.atomic import write_atomic
from profkit.formats.source import read_input

_BIG = 1 << 63  # counts and integer times stay below this: they must convert to float


def dump(stats, path):
    """Write ``stats`` (the dict above) to ``path`` atomically."""
    write_atomic(path, marshal.dumps(stats))


def load(path, data=None):
    """Read a pstats file; raises OSError when it cannot be read, ValueError
    (one line) when it is not a pstats file or is damaged.  ``data``: the
    file's bytes, already read (``path`` then only names it)."""
    if data is None:
        data = read_input(path)
    if not data:
        raise ValueError(f"{path}: not a pstats file (it is empty)")
    try:
        stats = marshal.loads(data)
    except (EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a pstats file ({_short(str(exc))})") from None
    except MemoryError:  # a damaged length: marshal allocates what it claims
        raise ValueError(f"{path}: not a pstats file (it claims a size beyond memory)") from None
    problem = _check(stats)
    if problem is not None:
        raise ValueError(f"{path}: not a pstats file ({problem})")
    return stats


def read(path, data=None):
    """Read a pstats file as the reports' model: a FunctionTable that knows
    the file and when it was written.  Raises as ``load``."""
    from profkit.report.model import FunctionTable

    stats = load(path, data)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        mtime = None
    return FunctionTable(stats, path=path, mtime=mtime)


# ---- checking what marshal gave ---------------------------------------------------


def _short(text, width=60):
    """``text`` on one line, cut to ``width`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _is_label(key):
    return (type(key) is tuple and len(key) == 3 and isinstance(key[0], str)
            and isinstance(key[1], int) and 0 <= key[1] < _BIG and isinstance(key[2], str))


def _is_count(value):
    return isinstance(value, int) and 0 <= value < _BIG


def _is_time(value):
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and -_BIG < value < _BIG


def _is_entry(value, counts):
    """``value`` is a tuple of ``counts`` call counts, then two times."""
    return (type(value) is tuple and len(value) == counts + 2
            and all(_is_count(v) for v in value[:counts])
            and _is_time(value[counts]) and _is_time(value[counts + 1]))


def _check(stats):
    """None when ``stats`` is a pstats dict every report can use, else why
    not, in a phrase.  Callers given as bare counts (the ``profile``
    module's) become 4-tuples in place."""
    if not isinstance(stats, dict):
        return f"it holds a {type(stats).__name__}, not a dict"
    if not stats:
        return "it holds no function, which pstats cannot load"
    for key, value in stats.items():
        if not _is_label(key):
            return f"a function key is not (file, line, name): {_short(repr(key))}"
        name = _short(f"{key[0]}:{key[1]}({key[2]})")
        if type(value) is not tuple or len(value) != 5 or not _is_entry(value[:4], 2):
            return f"the figures of {name} are not 2 counts and 2 times"
        callers = value[4]
        if not isinstance(callers, dict):
            return f"the callers of {name} are not a dict"
        for caller, edge in callers.items():
            if not _is_label(caller):
                return f"a caller of {name} is not (file, line, name): {_short(repr(caller))}"
            if _is_count(edge):
                callers[caller] = (edge, edge, 0, 0)
            elif not _is_entry(edge, 2):
                return f"the figures of a caller of {name} are not 2 counts and 2 times"
    return None
