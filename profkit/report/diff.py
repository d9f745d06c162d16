"""Two profiles of one kind, compared: ``profkit diff BASE NEW``.

``compare(base, new)`` takes two tables of ``report.model`` (two function
profiles, two line profiles or two line-by-line memory reports) and gives a
``Diff``: one ``Row`` per function (pstats) or per line, matched across the
two runs, with its time (or memory) and its count (calls, hits,
occurrences) in each, and a verdict.  ``write`` prints it as text
(``report/diff_text.py``), or as a self-contained HTML page
(``report/diff_html.py``).

Matching.  A function is matched by its file and name, not its line, which
moves when code above it is edited; a name used more than once in one file
(``__init__`` of two classes, lambdas) is matched in line order when both
runs have as many, else by line.  Functions still unmatched are matched
again by the last two parts of their path, then by the file's base name, so
two checkouts in different folders compare.  Lines are matched by their
offset from their function's first line.

Noise.  Counts are exact, so a change of count is a fact.  A change of time
is "within noise" when it is smaller than the largest of FLOOR (1 ms), REL
(5 %) of the base time, and JITTER (0.25) x the base time per call x the
square root of the calls: each call's time jitters, and over n calls that
jitter grows as sqrt(n) while the time grows as n.  A change of memory is
within noise below the larger of 5 % and one page (4 KiB) for bytes counted
by the allocation hooks, or one arena (1 MiB) for RSS.
"""
import math
import os
import sys

from profkit.report.model import FunctionTable, LineTable, MemoryTable

__all__ = ["Row", "Diff", "compare", "pair", "write", "time_noise", "FLOOR", "REL", "JITTER"]

FLOOR = 1e-3        # seconds: below this a change of time is noise
REL = 0.05          # of the base: run-to-run drift (clock speed, other load)
JITTER = 0.25       # of one call's time, per call
PAGE, ARENA = 4096, 1 << 20

NOISE_RULE = {
    "time": "within noise: a change smaller than the largest of 1 ms, 5% of the base time and "
            "0.25 x the base time per call x sqrt(calls)",
    "memory": "within noise: a change smaller than the larger of 5% of the base and {floor}",
}


def time_noise(base_time, base_count, new_count):
    """The largest change of ``base_time`` (seconds over ``base_count``
    calls) that noise explains."""
    calls = max(base_count, new_count, 1)
    per_call = base_time / base_count if base_count else 0.0
    return max(FLOOR, REL * abs(base_time), JITTER * per_call * math.sqrt(calls))


class Row:
    """One function or line: ``base``/``new`` its time in seconds (or
    memory in bytes), None where it did not run; ``base_count``,
    ``new_count`` its calls (hits, occurrences); ``noise`` the change noise
    explains; for function profiles ``base_cum``/``new_cum`` the cumulative
    time."""

    __slots__ = ("label", "name", "file", "base", "new", "base_count", "new_count", "noise",
                 "base_cum", "new_cum")

    def __init__(self, label, name, file, base, new, base_count, new_count, noise=0.0,
                 base_cum=None, new_cum=None):
        self.label, self.name, self.file = label, name, file
        self.base, self.new = base, new
        self.base_count, self.new_count = base_count, new_count
        self.noise = noise
        self.base_cum, self.new_cum = base_cum, new_cum

    @property
    def change(self):
        return (self.new or 0) - (self.base or 0)

    @property
    def count_change(self):
        return self.new_count - self.base_count

    def percent(self, base=None, new=None):
        """The change in percent of the base, or None without a base."""
        base = self.base if base is None else base
        new = self.new if new is None else new
        if not base or new is None:
            return None
        return 100.0 * (new - base) / abs(base)

    def verdict(self, memory=False):
        if self.base is None:
            return "new"
        if self.new is None:
            return "gone"
        change = self.change
        if change == 0:
            return "same"
        if abs(change) <= self.noise:
            return "noise"
        if memory:
            return "more" if change > 0 else "less"
        return "slower" if change > 0 else "faster"


class Diff:
    """``kind``: pstats, lprof or linemem; ``total``: a Row for the whole
    run; ``rows``: functions (pstats) or lines; ``functions``: one Row per
    function (their cumulative time for pstats, their lines' sum else)."""

    def __init__(self, kind, total, rows, functions, memory=False, noise_rule="", column="",
                 notes=()):
        self.kind, self.total, self.rows, self.functions = kind, total, rows, functions
        self.memory = memory
        self.notes = list(notes)  # sentences the reader must see beside the rows
        self.noise_rule = noise_rule
        self.column = column  # what is compared, in words
        self.base_path = self.new_path = None

    def ranked(self):
        """Rows by the size of their change, largest first."""
        return sorted(self.rows, key=lambda r: (-abs(r.change), r.label))

    def count_changes(self):
        """Rows whose count changed, largest change first."""
        rows = [r for r in self.rows if r.count_change]
        return sorted(rows, key=lambda r: (-abs(r.count_change), r.label))

    def tally(self):
        out = {}
        for r in self.rows:
            v = r.verdict(self.memory)
            out[v] = out.get(v, 0) + 1
        return out


# ---- matching -----------------------------------------------------------------


def _tail(path, parts):
    return "/".join(path.replace(os.sep, "/").split("/")[-parts:])


_KEYS = (lambda it: (it[0], it[2]), lambda it: (_tail(it[0], 2), it[2]),
         lambda it: (_tail(it[0], 1), it[2]))


def pair(base, new):
    """Pairs (b, n) of items ``(file, line, name, data)`` of two runs; b or
    n is None for an item found in one run only.  See the module's doc."""
    out = []
    for key in _KEYS:
        groups_b, groups_n = {}, {}
        for it in sorted(base, key=lambda it: it[1]):
            groups_b.setdefault(key(it), []).append(it)
        for it in sorted(new, key=lambda it: it[1]):
            groups_n.setdefault(key(it), []).append(it)
        base, new = [], []
        for k, bs in groups_b.items():
            ns = groups_n.pop(k, [])
            if len(bs) == len(ns):
                out.extend(zip(bs, ns))
                continue
            left = list(ns)
            for b in bs:
                n = next((n for n in left if n[1] == b[1]), None)
                if n is None:
                    base.append(b)
                else:
                    out.append((b, n))
                    left.remove(n)
            new.extend(left)
        for ns in groups_n.values():
            new.extend(ns)
    return out + [(b, None) for b in base] + [(None, n) for n in new]


def _short(path):
    return path if path == "~" else os.path.basename(path)


# ---- the three kinds ---------------------------------------------------------------


def _functions(base, new):
    def items(table):
        return [(f, line, name, v) for (f, line, name), v in table.stats.items()]

    rows = []
    for b, n in pair(items(base), items(new)):
        it = n or b
        file, line, name = it[0], it[1], it[2]
        # as pstats prints them: {built-in method builtins.len}, file:line(name)
        label = ("{" + name[1:-1] + "}" if name.startswith("<") else name) if file == "~" \
            else f"{_short(file)}:{line}({name})"
        bt, bc, bcum = (b[3][2], b[3][1], b[3][3]) if b else (None, 0, None)
        nt, nc, ncum = (n[3][2], n[3][1], n[3][3]) if n else (None, 0, None)
        rows.append(Row(label, name, file, bt, nt, bc, nc, time_noise(bt or 0.0, bc, nc), bcum, ncum))
    total = _total(rows, False)
    funcs = [Row(r.label, r.name, r.file, r.base_cum, r.new_cum, r.base_count, r.new_count,
                 time_noise(r.base_cum or 0.0, r.base_count, r.new_count)) for r in rows]
    return Diff("pstats", total, rows, funcs, False, NOISE_RULE["time"], "own time (tottime)")


def _total(rows, memory, floor=0):
    base = sum(r.base or 0 for r in rows)
    new = sum(r.new or 0 for r in rows)
    bc = sum(r.base_count for r in rows)
    nc = sum(r.new_count for r in rows)
    noise = max(floor, REL * abs(base)) if memory else time_noise(base, bc, nc)
    return Row("total", "total", "", base, new, bc, nc, noise)


def _source(file, line):
    from profkit.report.text import source_lines

    lines = source_lines(file)
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _by_line(base_rows, new_rows, base_first, new_first):
    """{offset from the first line: (base row or None, new row or None)}."""
    out = {}
    for ln, row in base_rows.items():
        out.setdefault(ln - base_first, [None, None])[0] = row
    for ln, row in new_rows.items():
        out.setdefault(ln - new_first, [None, None])[1] = row
    return out


def _line_rows(pairs, memory, value, floor):
    """Rows per line, and per function, of line profiles (``value(row)``
    -> seconds) or memory reports (bytes); ``pairs`` of (first line, name,
    file, {line: (count, raw)}) for each run.  Also notes on the functions
    whose lines differ between the runs (their code changed: their lines
    are compared by their place in the function, which may not be the
    same code)."""
    rows, funcs, notes = [], [], []
    for b, n in pairs:
        it = n or b
        file, first, name = it[0], it[1], it[2]
        lines = _by_line(b[3] if b else {}, n[3] if n else {}, b[1] if b else 0, n[1] if n else 0)
        if b and n and any(None in pair for pair in lines.values()):
            notes.append(f"{_short(file)}:{first}({name}) ran other lines in the two runs (was it "
                         f"edited?): its lines are compared by their place in the function")
        mine = []
        for offset in sorted(lines):
            br, nr = lines[offset]
            ln = (n[1] if n else b[1]) + offset
            label = f"{_short(file)}:{ln} ({name})"
            text = _source(file, ln) if n else ""
            if text:
                label += "  " + text[:48]
            bv = value(br) if br is not None else None
            nv = value(nr) if nr is not None else None
            bc = br[0] if br is not None else 0
            nc = nr[0] if nr is not None else 0
            noise = max(floor, REL * abs(bv or 0)) if memory else time_noise(bv or 0.0, bc, nc)
            mine.append(Row(label, name, file, bv, nv, bc, nc, noise))
        rows.extend(mine)
        funcs.append(_total(mine, memory, floor))
        funcs[-1].label = f"{_short(file)}:{first}({name})"
        funcs[-1].name, funcs[-1].file = name, file
        if b is None:
            funcs[-1].base = None
        if n is None:
            funcs[-1].new = None
    return rows, funcs, notes


def _lines(base, new):
    def items(table):
        return [(f, first, name, {ln: (hits, t * table.unit) for ln, hits, t in lines})
                for (f, first, name), lines in table.timings.items()]

    rows, funcs, notes = _line_rows(pair(items(base), items(new)), False, lambda r: r[1], 0)
    return Diff("lprof", _total(rows, False), rows, funcs, False, NOISE_RULE["time"], "line time",
                notes)


def _memory(base, new):
    rss = base.backend == "rss" and new.backend == "rss"
    column = 1 if rss else 3  # increment, or bytes allocated (both: the exact figure)
    floor = ARENA if rss else PAGE

    def items(table):
        return [(f.filename, f.first_line, f.name, {ln: (row[0], row[column]) for ln, row in f.lines.items()})
                for f in table.functions]

    rows, funcs, notes = _line_rows(pair(items(base), items(new)), True, lambda r: r[1], floor)
    rule = NOISE_RULE["memory"].format(floor="1 MiB (RSS)" if rss else "4 KiB")
    what = "memory increment (RSS)" if rss else "bytes allocated"
    return Diff("linemem", _total(rows, True, floor), rows, funcs, True, rule, what, notes)


def compare(base, new):
    """A Diff of two tables of one kind (see the module's doc)."""
    if isinstance(base, FunctionTable) and isinstance(new, FunctionTable):
        return _functions(base, new)
    if isinstance(base, LineTable) and isinstance(new, LineTable):
        return _lines(base, new)
    if isinstance(base, MemoryTable) and isinstance(new, MemoryTable):
        return _memory(base, new)
    raise TypeError(f"cannot compare a {type(base).__name__} with a {type(new).__name__}")


def write(diff, path=None, fmt=None, stream=None, limit=20, **_options):
    """Write ``diff`` as ``fmt`` (text, or html by name or ``path``'s
    extension) to ``path`` (atomically) or else ``stream``."""
    if fmt is None:
        fmt = os.path.splitext(path)[1].lower().lstrip(".") if path else "text"
    if fmt in ("html", "htm"):
        from profkit.report import diff_html

        text = diff_html.render(diff, limit)
    else:
        import io

        from profkit.report.diff_text import write_text

        buf = io.StringIO()
        write_text(diff, buf, limit)
        text = buf.getvalue()
    if path is None:
        (stream if stream is not None else sys.stdout).write(text)
        return
    from profkit.formats.atomic import write_atomic

    write_atomic(path, text.encode("utf-8"))
