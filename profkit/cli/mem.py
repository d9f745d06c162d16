"""``profkit mem``: line-by-line memory, as ``python -m memory_profiler`` gives.

Its usual options are read without argparse (``_common.read_quickly``):
start-up time is most of what it costs on a short script (bench/startup.py).
"""
import os

from profkit import config, memprof, memscript, report, runner
from profkit.cli import _common
from profkit.selection import Selector

DESCRIPTION = ("Line-by-line memory: what python -m memory_profiler reports, for functions "
               "marked @profile or chosen with -f or --module.")
BACKENDS = tuple(memprof.BACKENDS)  # rss, alloc, both
USAGE = ("profkit mem [-o FILE] [-f PATTERN ...] [--module MOD ...] [--precision N] "
         "[--backend rss|alloc|both] (script.py | -m module) [args ...]")


def _precision(value):
    return int(value) if value.isdecimal() and 0 <= int(value) <= 9 else None


def _backend(value):
    return value if value in BACKENDS else None


# option -> (attribute, kind), for the quick reading; parser() must accept
# exactly the same options.
OPTIONS = {"-o": ("outfile", None), "--outfile": ("outfile", None),
           "-f": ("func", _common.APPEND), "--func": ("func", _common.APPEND),
           "--module": ("module", _common.APPEND),
           "-p": ("precision", _precision), "--precision": ("precision", _precision),
           "-b": ("backend", _backend), "--backend": ("backend", _backend)}
DEFAULTS = {"outfile": None, "func": [], "module": [], "precision": 1, "backend": "rss"}


def parser():
    p = _common.parser("profkit mem", DESCRIPTION, USAGE)
    p.add_argument("-o", "--outfile", metavar="FILE",
                   help="also save the report (profkit show FILE prints it again)")
    _common.add_selection(p)
    p.add_argument("-p", "--precision", type=_common.precision, default=1, metavar="N",
                   help="decimals of the MiB figures (default 1)")
    p.add_argument("-b", "--backend", choices=BACKENDS, default="rss",
                   help="rss: memory_profiler's columns (default); alloc: exact bytes allocated, "
                   "net and peak, from allocation hooks; both: all of them")
    return p


def quick_options(words, settings=None):
    """The options read without argparse, or None (see _common.read_quickly);
    ``settings``: defaults from pyproject.toml over DEFAULTS."""
    return _common.read_quickly(words, OPTIONS, dict(DEFAULTS, **(settings or {})))


def main(argv):
    opts_argv, script, module, prog_args = _common.split_target(argv, set(OPTIONS))
    scalars, lists = config.split_lists(config.defaults("mem"))  # [tool.profkit.mem]
    opts = quick_options(opts_argv, scalars)
    if opts is None:  # help, or something argparse must explain
        p = parser()
        p.set_defaults(**scalars)
        opts = p.parse_args(opts_argv)
    config.fill_lists(opts, lists)
    if script is None and module is None:
        parser().error("a script or -m module to profile is required")
    outfile = _common.check_writable(opts.outfile) if opts.outfile else None
    shown_path = os.path.relpath(outfile) if outfile else None  # from here: the program may chdir
    target = runner.load_target(script=script, module=module, args=prog_args)

    selector = Selector(None, opts.func, opts.module, False, target.path0)
    prof, outcome = memscript.profile_script(target, selector, opts.backend, opts.precision)
    stats = prof.get_stats()
    shown = prof.get_stats(each_call=False)  # the rest went to their streams, call by call
    out, err = outcome.stdout, outcome.stderr  # as in profkit lines
    with _common.saving(outfile, err), _common.printing(out):
        if not prof.functions and not selector.active:
            # as python -m memory_profiler: the program's exit code stands
            print("profkit mem: no function was profiled: mark functions with @profile, "
                  "or choose them with -f PATTERN or --module MOD", file=err)
        elif not stats.functions:
            print("profkit mem: the profiled functions never ran", file=err)
        elif shown.functions:
            report.write(shown, stream=out, precision=opts.precision)
            out.flush()
            for hint in memprof.hints(shown):
                print(f"profkit mem: {hint}", file=err)
        if outfile is not None:
            if report.format_of(outfile) in ("html", "htm"):  # the memory table with heat bars
                report.write(stats, outfile, precision=opts.precision)
            else:
                stats.dump(outfile)
            _common.wrote(shown_path, _common.SHOW_AGAIN, err)
    return _common.finish_selected(outcome, selector, "profkit mem")
