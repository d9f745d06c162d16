"""``profkit func``: a function-level profile, as ``python -m cProfile`` gives."""
import os

from profkit import funcprof, report, runner
from profkit.cli import _common
from profkit.report import text
from profkit.report.model import FunctionTable

DESCRIPTION = "Deterministic function-level profile: what python -m cProfile reports."
VALUE_OPTIONS = {"-s", "--sort", "-o", "--outfile"}
USAGE = ("profkit func [-s KEY] [-o FILE] [--main-thread-only] [--no-builtins] "
         "(script.py | -m module) [args ...]")


def parser():
    p = _common.parser("profkit func", DESCRIPTION, USAGE)
    p.add_argument("-s", "--sort", metavar="KEY", help="sort key of the printed table, as for "
                   "python -m cProfile -s (default: cProfile's on this Python)")
    p.add_argument("-o", "--outfile", metavar="FILE", help="save a pstats file instead of printing")
    p.add_argument("--main-thread-only", action="store_true",
                   help="profile only the main thread, like cProfile (default: every thread)")
    p.add_argument("--no-builtins", action="store_true", help="do not profile C functions")
    return p


def main(argv):
    p = parser()
    opts_argv, script, module, prog_args = _common.split_target(argv, VALUE_OPTIONS)
    opts = p.parse_args(opts_argv)
    sort = funcprof.DEFAULT_SORT if opts.sort is None else _common.check_sort(p.prog, opts.sort)
    _common.require_target(p, script, module)
    outfile = _common.check_writable(opts.outfile) if opts.outfile else None
    shown = os.path.relpath(outfile) if outfile else None  # from here: the program may chdir
    target = runner.load_target(script=script, module=module, args=prog_args)

    prof, outcome = funcprof.profile_script(target, builtins=not opts.no_builtins,
                                            all_threads=not opts.main_thread_only)
    out = outcome.stdout  # not sys.stdout: the program may have closed or replaced it
    with _common.saving(outfile), _common.printing(out):
        if outfile is not None:
            prof.dump_stats(outfile)
            _common.wrote(shown, "read it with: python -m pstats {}", outcome.stderr)
        else:
            text.preload(FunctionTable)  # before the table is made: see there
            report.write(prof.function_table(), stream=out, sort=sort)
            out.flush()
    return runner.finish(outcome)
