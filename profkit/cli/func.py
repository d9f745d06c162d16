"""``profkit func``: a function-level profile, as ``python -m cProfile`` gives,
with the exact call tree for the flame graph and the other viewers."""
import os

from profkit import config, funcprof, report, runner
from profkit.cli import _common
from profkit.report import text
from profkit.report.model import FunctionTable

DESCRIPTION = ("Deterministic function-level profile: what python -m cProfile reports, plus the "
               "exact call tree (an HTML flame graph, speedscope, collapsed stacks, callgrind).")
VALUE_OPTIONS = {"-s", "--sort", "-o", "--outfile", "--format", "--tree-depth"}
USAGE = ("profkit func [-s KEY] [-o FILE] [--format FMT] [--no-tree] [--main-thread-only] "
         "[--no-builtins] (script.py | -m module) [args ...]")

# What follows "profkit: wrote FILE" for each format.
THEN = {
    "pstats": "read it with: python -m pstats {}",
    "html": "open it in a browser",
    "speedscope": "open it at https://www.speedscope.app",
    "collapsed": "draw it with flamegraph.pl or inferno-flamegraph",
    "callgrind": "open it with kcachegrind, or: callgrind_annotate {}",
    "text": None,
}

TREE_DEPTH = _common._number(int, lambda v: 1 <= v <= 100000, "{text} is out of range (1 to 100000)")


def parser():
    p = _common.parser("profkit func", DESCRIPTION, USAGE)
    p.add_argument("-s", "--sort", metavar="KEY", help="sort key of the printed table, as for "
                   "python -m cProfile -s (default: cProfile's on this Python)")
    p.add_argument("-o", "--outfile", metavar="FILE",
                   help="save the profile instead of printing it: report.html, "
                   "x.speedscope.json, x.collapsed or x.folded, callgrind.out.x; any other name "
                   "is a pstats file")
    p.add_argument("--format", choices=report.FUNCTION_FORMATS, metavar="FMT",
                   help="the output format, whatever the file's name: "
                   + ", ".join(report.FUNCTION_FORMATS) + " (without -o: to standard output)")
    p.add_argument("--no-tree", action="store_true",
                   help="keep only the flat profile, not the call tree (the flame graph and "
                   "the other viewers' files are then guessed from the caller edges)")
    p.add_argument("--tree-depth", type=TREE_DEPTH, default=256, metavar="N",
                   help="fold calls deeper than N levels into one layer (default: 256)")
    p.add_argument("--main-thread-only", action="store_true",
                   help="profile only the main thread, as cProfile does before Python 3.12 "
                   "(default: every thread, each with its own call stack; cProfile 3.12+ "
                   "records every thread into one stack)")
    p.add_argument("--no-builtins", action="store_true", help="do not profile C functions")
    return p


def main(argv):
    p = parser()
    p.set_defaults(**config.defaults("func"))  # [tool.profkit.func]: the command line wins
    opts_argv, script, module, prog_args = _common.split_target(argv, VALUE_OPTIONS)
    opts = p.parse_args(opts_argv)
    sort = funcprof.DEFAULT_SORT if opts.sort is None else _common.check_sort(p.prog, opts.sort)
    _common.require_target(p, script, module)
    outfile = _common.check_writable(opts.outfile) if opts.outfile else None
    shown = os.path.relpath(outfile) if outfile else None  # from here: the program may chdir
    fmt = opts.format or ((report.output_format(outfile) or "pstats") if outfile else "text")
    target = runner.load_target(script=script, module=module, args=prog_args)
    name = os.path.basename(script) if script else f"-m {module}"

    # Only the viewers' formats are written from the call tree: a pstats
    # file or the printed table would pay for it on every call and drop it.
    tree = not opts.no_tree and fmt not in ("pstats", "text")
    prof, outcome = funcprof.profile_script(target, builtins=not opts.no_builtins,
                                            all_threads=not opts.main_thread_only,
                                            tree=tree, tree_depth=opts.tree_depth)
    out = outcome.stdout  # not sys.stdout: the program may have closed or replaced it
    with _common.saving(outfile, outcome.stderr), _common.printing(out):
        if fmt == "text" and outfile is None:
            text.preload(FunctionTable)  # before the table is made: see there
        table = prof.function_table()
        if fmt == "pstats" and outfile is None:
            out.flush()
            out = out.buffer  # marshal's bytes
        # The page sorts by cumulative time unless told: cProfile's default
        # on 3.9 and 3.10 (-1, by name) suits a printed table only.
        options = {"html": {"title": name, "sort": opts.sort}, "speedscope": {"name": name},
                   "callgrind": {"cmd": " ".join(["profkit func", script or f"-m {module}",
                                                  *prog_args])}}
        report.write(table, outfile, fmt=fmt, stream=out, **({"sort": sort} | options.get(fmt, {})))
        out.flush()
        if outfile is not None:
            _common.wrote(shown, THEN[fmt], outcome.stderr)
    return runner.finish(outcome)
