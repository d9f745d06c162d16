"""``profkit show``: print a saved profile again, whatever made it."""
from profkit import formats, report
from profkit.cli import _common
from profkit.errors import ProfkitError

DESCRIPTION = ("Print a saved profile again: a .lprof file (profkit lines, kernprof -l) or a "
               "pstats file (profkit func -o, cProfile -o).")


def parser():
    p = _common.parser("profkit show", DESCRIPTION, "profkit show [-u UNIT] [-z] [-s KEY] FILE")
    p.add_argument("file", metavar="FILE")
    _common.add_line_report(p, "a line report")
    p.add_argument("-s", "--sort", metavar="KEY", default=None, help="sort key of a pstats table")
    return p


def main(argv):
    p = parser()
    opts = p.parse_args(argv)
    path = opts.file
    try:
        kind = formats.detect(path)
    except OSError as exc:
        raise ProfkitError(f"can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}") from None
    try:
        if kind == "linemem":  # a line-by-line memory report
            from profkit.formats import linemem

            table, options = linemem.load(path), {}
        elif kind == "lprof":  # a line profile
            from profkit.formats import lprof

            table = lprof.load(path)
            options = {"output_unit": opts.unit, "stripzeros": opts.skip_zero, "summarize": True}
        else:
            from profkit.formats import pstats_io

            table = pstats_io.read(path)
            options = {"sort": _common.check_sort(p.prog, opts.sort or "cumulative")}
    except (ValueError, EOFError, TypeError) as exc:
        raise ProfkitError(f"profkit show: error: {exc}", exit_code=1) from None
    with _common.printing():
        report.write(table, **options)
    return 0
