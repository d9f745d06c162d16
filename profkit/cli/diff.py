"""``profkit diff BASE NEW``: did my change make it slower?

Two saved profiles of one kind (two function profiles: pstats files, or any
file ``profkit show`` reads as one; two line profiles: ``.lprof`` files; two
``profkit mem -o`` reports), compared function by function (line by line)
by report/diff.py.  For CI, ``--fail-over PCT`` makes the exit code 1
when the total, or a function named with ``--function``, got slower by
more than PCT percent, and by more than noise.  Exit codes: 0 fine, 1
slower than allowed, 2 a bad invocation or a file that cannot be read.
"""
import fnmatch
import os
import sys

from profkit.cli import _common
from profkit.errors import ProfkitError

DESCRIPTION = ("Compare two saved profiles of one kind (two function profiles: pstats files or "
               "what profkit show reads; two .lprof files; two profkit mem -o reports): what got "
               "slower or faster, what is new or gone, and which changes are above the timing "
               "noise.")
USAGE = ("profkit diff [-n N | --all] [--fail-over PCT] [--function NAME ...] [-o FILE] "
         "BASE NEW")
# a table's kind in words, and each file kind's name
WHAT = {"FunctionTable": "a function profile", "LineTable": "a line profile",
        "MemoryTable": "a line-by-line memory report"}
FILES = {"pstats": "pstats", "lprof": ".lprof", "linemem": "profkit mem -o", "html": "HTML report",
         "speedscope": "speedscope", "collapsed": "collapsed stacks", "callgrind": "callgrind"}
_percent = _common._number(float, lambda v: v >= 0, "must not be negative: {text!r}")
_rows = _common._number(int, lambda v: v > 0, "must be positive: {text!r}")


def parser():
    p = _common.parser("profkit diff", DESCRIPTION, USAGE)
    p.add_argument("base", metavar="BASE", help="the profile before the change")
    p.add_argument("new", metavar="NEW", help="the profile after it")
    p.add_argument("-n", "--rows", type=_rows, default=20, metavar="N",
                   help="rows in each table (default 20)")
    p.add_argument("--all", action="store_true", help="every row")
    p.add_argument("--fail-over", type=_percent, metavar="PCT",
                   help="exit with 1 when the total (or a --function) rose by more than PCT "
                   "percent and by more than noise")
    p.add_argument("--function", action="append", default=[], metavar="NAME",
                   help="with --fail-over: also check this function (a glob on its name, or "
                   "FILE:NAME); repeatable")
    p.add_argument("-o", "--outfile", metavar="FILE",
                   help="also write the comparison to FILE: .html for a page, else text")
    return p


def load(path):
    """(words for its kind, table) of a saved profile; ProfkitError (exit
    2) when it cannot be read or is damaged."""
    from profkit.cli.show import read_saved

    kind, table = read_saved(path, "profkit diff")
    for cls in type(table).__mro__:
        if cls.__name__ in WHAT:
            return f"{WHAT[cls.__name__]} ({FILES.get(kind, kind)})", cls, table
    raise ProfkitError(f"profkit diff: error: {path}: not a profile profkit compares")


def _matches(pattern, row):
    names = {row.name, row.name.rsplit(".", 1)[-1]}
    if ":" in pattern:
        file, _, name = pattern.rpartition(":")
        path = row.file.replace(os.sep, "/")
        return (path == file or path.endswith("/" + file)) and \
            any(fnmatch.fnmatchcase(n, name) for n in names)
    return any(fnmatch.fnmatchcase(n, pattern) for n in names)


def checked_rows(diff, patterns):
    """[(what, Row)]: the total, then each function a pattern names.
    ProfkitError (exit 2) for a pattern that names none."""
    out = [("total " + ("memory" if diff.memory else "time"), diff.total)]
    for pattern in patterns:
        found = [r for r in diff.functions if _matches(pattern, r)]
        if not found:
            raise ProfkitError(f"profkit diff: error: --function {pattern}: no such function in "
                               f"either profile")
        out += [(r.label, r) for r in found]
    return out


def fail_over(diff, limit, checked, err):
    """Say on ``err`` which of ``checked`` (see checked_rows) rose by more
    than ``limit`` percent; True when one did, above noise."""
    from profkit.report.diff_text import scale

    div, unit = scale(diff)
    failed = []
    within = []
    for what, row in checked:
        if row.base is None or row.new is None:
            state = "is new" if row.base is None else "is gone"
            print(f"profkit diff: {what} {state}: nothing to compare", file=err)
            continue
        pct = row.percent()
        figures = f"{row.base / div:.3f} {unit} -> {row.new / div:.3f} {unit}"
        if pct is None or pct <= limit:
            within.append(f"{what} {'-' if pct is None else f'{pct:+.1f}%'}")
        elif row.change <= row.noise:
            print(f"profkit diff: {what} rose {pct:.1f}% ({figures}), over --fail-over {limit:g}% "
                  f"but within noise ({row.noise / div:.3f} {unit}): not failed", file=err)
        else:
            failed.append(what)
            print(f"profkit diff: {what} rose {pct:.1f}% ({figures}), more than --fail-over "
                  f"{limit:g}%", file=err)
    if within and not failed:
        print(f"profkit diff: within --fail-over {limit:g}%: {', '.join(within)}", file=err)
    return bool(failed)


def main(argv):
    opts = parser().parse_args(argv)
    if opts.function and opts.fail_over is None:
        raise ProfkitError("profkit diff: error: --function needs --fail-over PCT")
    outfile = _common.check_writable(opts.outfile) if opts.outfile else None
    base_what, base_cls, base = load(opts.base)
    new_what, new_cls, new = load(opts.new)
    if base_cls is not new_cls:
        raise ProfkitError(f"profkit diff: error: {opts.base} is {base_what} but {opts.new} is "
                           f"{new_what}: compare two of a kind")
    from profkit.report import diff as report_diff

    diff = report_diff.compare(base, new)
    diff.base_path, diff.new_path = opts.base, opts.new
    checked = checked_rows(diff, opts.function)  # a --function naming nothing: no report
    limit = None if opts.all else opts.rows
    with _common.printing():
        report_diff.write(diff, limit=limit)
        sys.stdout.flush()
    if outfile is not None:
        with _common.saving(outfile):
            report_diff.write(diff, path=outfile, limit=limit)
        _common.wrote(os.path.relpath(outfile), prog="profkit diff")
    if opts.fail_over is not None and fail_over(diff, opts.fail_over, checked, sys.stderr):
        return 1
    return 0
