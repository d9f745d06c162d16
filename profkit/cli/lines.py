"""``profkit lines``: line-by-line timing, as ``kernprof -l -v`` gives."""
import os

from profkit import config, lineprof, report, runner
from profkit.cli import _common
from profkit.formats import lprof
from profkit.report import text
from profkit.selection import Selector

DESCRIPTION = ("Line-by-line timing: what kernprof -l -v reports, for functions marked "
               "@profile or chosen with -f, --module or --all.")
VALUE_OPTIONS = {"-o", "--outfile", "-u", "--unit", "-f", "--func", "--module"}
USAGE = ("profkit lines [-o FILE] [-u UNIT] [-z] [-f PATTERN ...] [--module MOD ...] [--all] "
         "(script.py | -m module) [args ...]")


def parser():
    p = _common.parser("profkit lines", DESCRIPTION, USAGE)
    p.add_argument("-o", "--outfile", metavar="FILE",
                   help="where to save the results (default: SCRIPT.lprof or MODULE.lprof "
                        "here, as kernprof)")
    _common.add_line_report(p)
    _common.add_selection(p, " (make_sparse, Matrix.*, mypkg.mod:func)")
    p.add_argument("--all", action="store_true",
                   help="profile every function of the script's own file; report the costliest")
    return p


def default_path(script, module):
    """Where the results go without -o, as kernprof puts them: SCRIPT.lprof
    (the script's file name) or MODULE.lprof, in the current folder."""
    if module is not None:
        return os.path.abspath(module + ".lprof")
    return os.path.abspath(os.path.basename(script) + ".lprof")


def main(argv):
    p = parser()
    scalars, lists = config.split_lists(config.defaults("lines"))  # [tool.profkit.lines]
    p.set_defaults(**scalars)
    opts_argv, script, module, prog_args = _common.split_target(argv, VALUE_OPTIONS)
    opts = config.fill_lists(p.parse_args(opts_argv), lists)
    _common.require_target(p, script, module)
    outfile = _common.check_writable(opts.outfile or default_path(script, module))
    shown = os.path.relpath(outfile)  # from here: the program may chdir
    target = runner.load_target(script=script, module=module, args=prog_args)

    selector = Selector(None, opts.func, opts.module, opts.all, target.path0)
    prof, outcome = lineprof.profile_script(target, selector)
    text.preload(lprof.LineStats)  # before the table is made: see there
    registered = [lineprof.code_label(f.__code__) for f in prof.functions]
    stats = text.source_order(prof.get_stats(), registered)
    out, err = outcome.stdout, outcome.stderr
    with _common.saving(outfile, err) as saved:
        if report.format_of(outfile) in ("html", "htm"):  # the line table with heat bars
            report.write(stats, outfile, output_unit=opts.unit, stripzeros=opts.skip_zero,
                         title=os.path.basename(script) if script else module)
        else:
            lprof.dump(stats, outfile)
    # The report and messages go where profkit's own output went when it
    # started, whatever the program did to sys.stdout and sys.stderr.
    with _common.printing(out):
        if not stats.timings:
            print("profkit lines: no function was profiled: mark functions with @profile, "
                  "or choose them with -f PATTERN, --module MOD or --all", file=err)
        else:
            report.write(text.costliest(stats) if opts.all else stats, stream=out,
                         output_unit=opts.unit, stripzeros=opts.skip_zero, summarize=True)
            out.flush()
        if not saved.fallback:
            _common.wrote(shown, _common.SHOW_AGAIN, err)
    return _common.finish_selected(outcome, selector, "profkit lines")
