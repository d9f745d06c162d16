"""``profkit show``: print a saved profile again, whatever made it, or write
it in another format (``-o report.html``)."""
import os
import sys

from profkit import formats, report
from profkit.cli import _common
from profkit.errors import UNREADABLE, ProfkitError

DESCRIPTION = ("Print a saved profile again: a pstats file (profkit func -o, cProfile -o), a .lprof "
               "file (profkit lines, kernprof -l), a memory report (profkit mem -o), or a "
               "speedscope, collapsed, callgrind or HTML file profkit wrote. With -o, write it "
               "in another format instead.")
USAGE = "profkit show [-u UNIT] [-z] [-s KEY] [-o OUT] [--format FMT] FILE"

THEN = {"html": "open it in a browser", "speedscope": "open it at https://www.speedscope.app"}
GUESSED = ("html", "speedscope", "collapsed")  # the formats that draw the call tree


def parser():
    p = _common.parser("profkit show", DESCRIPTION, USAGE)
    p.add_argument("file", metavar="FILE")
    _common.add_line_report(p, "a line report")
    p.add_argument("-s", "--sort", metavar="KEY", default=None, help="sort key of a pstats table")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write the profile to OUT in the format its name says: report.html, "
                   "x.speedscope.json, x.collapsed, callgrind.out.x, x.txt; any other name is a "
                   "pstats file (a line or memory profile: .html or .txt)")
    p.add_argument("--format", choices=report.FUNCTION_FORMATS, metavar="FMT",
                   help="the output format, whatever OUT's name: " + ", ".join(report.FUNCTION_FORMATS))
    return p


def main(argv):
    from profkit.report.model import FunctionTable, LineTable

    p = parser()
    opts = p.parse_args(argv)
    path = opts.file
    out = _common.check_writable(opts.output) if opts.output else None
    kind, table = read_saved(path, "profkit show")
    functions = isinstance(table, FunctionTable)
    fmt = opts.format or ((report.output_format(out) or "pstats") if out else "text")
    if not functions and fmt not in ("text", "html"):
        raise ProfkitError(f"profkit show: error: a {'line' if isinstance(table, LineTable) else 'memory'} "
                           f"profile can be written as html or text, not {fmt}")
    if fmt == "text":
        if functions:
            options = {"sort": _common.check_sort(p.prog, opts.sort or "cumulative")}
        elif isinstance(table, LineTable):
            options = {"output_unit": opts.unit, "stripzeros": opts.skip_zero, "summarize": True}
        else:
            options = {}
    elif fmt == "html":
        options = {"title": os.path.basename(path)}
        if functions:
            options["sort"] = _common.check_sort(p.prog, opts.sort) if opts.sort else None
        elif isinstance(table, LineTable):
            options.update(output_unit=opts.unit, stripzeros=opts.skip_zero)
    else:
        options = {}
    with _common.saving(out), _common.printing():
        stream = sys.stdout.buffer if fmt == "pstats" and out is None else None
        if stream is not None:
            sys.stdout.flush()
        report.write(table, out, fmt=fmt, stream=stream, **options)
    if out is not None:
        _common.wrote(os.path.relpath(out), THEN.get(fmt), prog="profkit show")
        if functions and table.tree is None and fmt in GUESSED:
            print(f"profkit show: note: a {kind} file keeps callers, not call paths: the call tree "
                  "is guessed from its caller edges", file=sys.stderr)
    return 0


def read_saved(path, prog):
    """(kind, table) of a saved profile of any kind, read once (a pipe cannot
    be read twice); a file that cannot be read, or is damaged, is a
    ProfkitError of one line with exit code ``errors.UNREADABLE``."""
    try:
        return formats.load(path)
    except OSError as exc:
        raise ProfkitError(f"can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}",
                           exit_code=UNREADABLE) from None
    except (ValueError, EOFError, TypeError) as exc:
        reason = " ".join(str(exc).split())  # one line, whatever the reader quoted
        raise ProfkitError(f"{prog}: error: {reason}", exit_code=UNREADABLE) from None
