"""callgrind files (``profkit func -o callgrind.out.x``; the layout is in
report/callgrind.py): read back as a pstats table.  Reads the first event
of any callgrind file as nanoseconds, with the format's name compression;
a function's own cost lines add up to its tottime, its ``calls=`` lines
give its callees' edges.  Cumulative times are those of the edges (summed
over a function's callers; a function nobody calls gets its own time and
its calls' inclusive costs)."""
import os
import re

from profkit.formats.source import read_text
from profkit.report.model import FunctionTable

__all__ = ["load", "read"]

_NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")


def load(path, data=None):
    """The pstats dict of a callgrind file; ValueError when it is not one."""
    names = {"fl": {}, "fn": {}}
    stats, incl = {}, {}
    fl = cfl = fn = cfn = None
    calls = None
    seen_events = False

    def name(kind, text):
        m = _NAMED.match(text)
        if not m:
            return text
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind].get(m.group(1), text)

    def key(file, fname):
        head, _, line = fname.rpartition(":")
        if head and line.isdigit():
            return (file, int(line), head)
        return ("~", 0, fname) if file in ("~", "") else (file, 0, fname)

    for n, line in enumerate(read_text(path, data, "callgrind file").split("\n"), 1):
        line = line.rstrip("\r\n")
        if not line or line.startswith("#"):
            continue
        field, eq, value = line.partition("=")
        if line.startswith("events:"):
            seen_events = True
        elif eq and field in ("fl", "fi", "fe"):
            fl = name("fl", value)
        elif eq and field == "fn":
            fn = key(fl, name("fn", value))
            stats.setdefault(fn, [0, 0, 0.0, 0.0, {}])
        elif eq and field in ("cfl", "cfi"):
            cfl = name("fl", value)
        elif eq and field == "cfn":
            cfn = key(cfl or fl, name("fn", value))
            cfl = None
        elif eq and field == "calls":
            if cfn is None or not value.split():
                raise ValueError(f"{path}:{n}: a calls= line without a cfn= or a count")
            calls = int(value.split()[0])
        elif line[0].isdigit() or line[0] in "+-*":
            parts = line.split()
            cost = int(parts[1]) / 1e9 if len(parts) > 1 else 0.0
            if fn is None:
                raise ValueError(f"{path}:{n}: a cost line before any fn=")
            if calls is not None:
                callee = stats.setdefault(cfn, [0, 0, 0.0, 0.0, {}])
                nc, pc, tt, ct = callee[4].get(fn, (0, 0, 0.0, 0.0))
                callee[4][fn] = (nc + calls, pc + calls, tt, ct + cost)
                callee[1] += calls
                callee[0] += calls
                incl[fn] = incl.get(fn, 0.0) + cost
                calls = None
            else:
                stats[fn][2] += cost
        elif ":" in line:
            continue  # a header line: version, creator, cmd, positions, totals ...
        else:
            raise ValueError(f"{path}:{n}: not a callgrind line: {line[:60]!r}")
    if not seen_events:
        raise ValueError(f"{path}: not a callgrind file (no events: line)")
    out = {}
    for func, (cc, nc, tt, _ct, callers) in stats.items():
        ct = sum(e[3] for e in callers.values()) if callers else tt + incl.get(func, 0.0)
        out[func] = (cc, nc, tt, ct, callers)
    return out


def read(path, data=None):
    """A callgrind file as a FunctionTable."""
    return FunctionTable(load(path, data), path=path, mtime=os.stat(path).st_mtime)
