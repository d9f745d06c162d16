"""The callgrind format (valgrind's), read by KCachegrind, QCachegrind and
callgrind_annotate.

    # callgrind format
    version: 1
    creator: profkit 0.1.0
    cmd: <what was profiled>
    positions: line
    events: ns
    totals: <sum of every function's own time>

    fl=(1) /app/linalg.py
    fn=(1) make_sparse:12
    12 843211            <- the function's own (inline) time, on its first line
    cfl=(2) ~
    cfn=(2) <built-in method builtins.len>
    calls=1000 0         <- calls of the callee from here, and the callee's line
    12 45678             <- their inclusive time

One cost, ``ns``: integer nanoseconds.  A function is named ``name:line``
(``name`` alone for a builtin, whose file is ``~``), as a file may define
several functions of one name; names and files are compressed as the format
allows (``(n) name`` once, ``(n)`` after).  The numbers are the pstats
table's (the function and caller-edge tables, which the exact call tree
gives back exactly), so a pstats file converts without loss.  Described
again in docs/formats.md.
"""
from profkit.report import emit

__all__ = ["write", "render", "name_of"]


def name_of(func):
    """The ``fn=`` name of a pstats key."""
    filename, line, name = func
    return name if filename == "~" and line == 0 else f"{name}:{line}"


def ns(seconds):
    return round(seconds * 1e9)


def render(stats, cmd="profkit"):
    """The callgrind text of a pstats dict."""
    from profkit import __version__

    ids = {"fl": {}, "fn": {}}

    def ref(kind, name):
        table = ids[kind]
        if name in table:
            return f"({table[name]})"
        table[name] = len(table) + 1
        return f"({table[name]}) {name}"

    callees = {}
    for func, (_cc, _nc, _tt, _ct, callers) in stats.items():
        for caller, edge in callers.items():
            callees.setdefault(caller, []).append((func, edge))
    order = sorted(stats, key=lambda f: (f[0], f[1], f[2]))
    body = []
    for func in order:
        body.append("")
        body.append(f"fl={ref('fl', func[0])}")
        body.append(f"fn={ref('fn', name_of(func))}")
        body.append(f"{func[1]} {ns(stats[func][2])}")
        for callee, (nc, _pc, _tt, ct) in sorted(callees.get(func, ()), key=lambda x: x[0]):
            body.append(f"cfl={ref('fl', callee[0])}")
            body.append(f"cfn={ref('fn', name_of(callee))}")
            body.append(f"calls={nc} {callee[1]}")
            body.append(f"{func[1]} {ns(ct)}")
    total = sum(ns(stats[f][2]) for f in order)
    head = ["# callgrind format", "version: 1", f"creator: profkit {__version__}",
            f"cmd: {cmd}".replace("\n", " "), "positions: line", "events: ns", f"totals: {total}"]
    return "\n".join(head + body) + "\n"


def write(table, path=None, fmt=None, stream=None, cmd=None, **_options):
    """Write a FunctionTable as a callgrind file."""
    emit(render(table.stats, cmd=cmd or "profkit"), path, stream)
