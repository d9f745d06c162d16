"""``profkit run``: memory over time into an mprof ``.dat`` file, as ``mprof run``."""
import os
import shlex
import signal
import sys

from profkit import config, memtime, runner
from profkit.cli import _common
from profkit.errors import ProfkitError
from profkit.formats import mprof

DESCRIPTION = ("Record memory over time, as mprof run does: samples go to an mprof .dat file "
               "as they are taken.")
VALUE_OPTIONS = {"-i", "--interval", "-b", "--backend", "-o", "--output"}
USAGE = ("profkit run [--interval S] [--include-children] [--multiprocess] [--backend rss|pss|uss] "
         "[-o FILE] (script.py | -m module | -- command ...) [args ...]")


def parser():
    p = _common.parser("profkit run", DESCRIPTION, USAGE)
    p.add_argument("-i", "--interval", type=_common.interval, default=0.1, metavar="S",
                   help="seconds between samples (default 0.1; as short as 0.001)")
    p.add_argument("-C", "--include-children", action="store_true",
                   help="add the memory of child processes into each sample")
    p.add_argument("-M", "--multiprocess", action="store_true",
                   help="also record each child process on its own (CHLD lines)")
    p.add_argument("-b", "--backend", choices=("rss", "pss", "uss"), default="rss",
                   help="what to measure: resident (default), proportional or unique set size")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="the .dat file (default: mprofile_YYYYMMDDhhmmss.dat here)")
    return p


def main(argv):
    p = parser()
    p.set_defaults(**config.defaults("run"))  # [tool.profkit.run]: the command line wins
    opts_argv, script, module, prog_args = _common.split_target(argv, VALUE_OPTIONS)
    explicit_command = len(opts_argv) < len(argv) and argv[len(opts_argv)] == "--"
    opts = p.parse_args(opts_argv)
    _common.require_target(p, script, module, "a script, -m module or -- command to run")
    path = _common.check_writable(opts.output) if opts.output else os.path.abspath(mprof.default_name())
    kind = runner.target_kind(script, module, explicit_command)
    if kind == "executable":
        problem = runner.executable_problem(script)
        if problem is not None:
            raise ProfkitError(f"profkit run: error: {problem}")
        python_target = None
        words = [script] + prog_args
    else:  # a bad script or module name fails here, in one line
        runner.load_target(script=script, module=module, args=prog_args)
        python_target = (["-m", module] if kind == "module" else [script]) + prog_args
        words = [os.path.basename(sys.executable)] + python_target
    cmdline = " ".join(shlex.quote(w) for w in words)
    print(f"profkit run: sampling every {opts.interval:g} s into {os.path.relpath(path)}",
          file=sys.stderr)
    result = memtime.record(words if python_target is None else None, path, cmdline,
                            opts.interval, opts.backend, opts.include_children, opts.multiprocess,
                            python_target, hold=True)
    try:
        code = report(result, path)
    finally:
        # SIGTERM, SIGINT and SIGHUP were held while the file was closed and
        # the summary printed: one that came meanwhile ends profkit now.
        stopped_by = result.release()
    # Stopped by a signal sent to profkit (and passed on to the program):
    # profkit ends by it too, once the file is closed.  A Ctrl-C reached the
    # program as well, from the terminal: its end by SIGINT is profkit's.
    sig = result.killed_by()
    stop = stopped_by or (sig if sig == signal.SIGINT else 0)
    if stop:
        runner.reraise(stop)
    return code


def report(result, path):
    """Say how the run went, on stderr; the exit code for it."""
    sig = result.killed_by()
    if result.started is False:
        # The interpreter, or profkit's side of it, failed before the
        # program's first line: the samples are not the program's.
        try:
            os.remove(path)
        except OSError:
            pass
        how = f"killed by {memtime.signal_name(sig)}" if sig else f"exit status {result.exit_code()}"
        print(f"profkit run: error: the program did not start ({how}); nothing was recorded",
              file=sys.stderr)
        return result.exit_code() or 1
    for line in result.describe():
        print(f"profkit run: {line}", file=sys.stderr)
    _common.wrote(os.path.relpath(path), "draw it with: profkit plot", prog="profkit run")
    if sig and sig != signal.SIGINT:
        print(f"profkit run: the program was killed by {memtime.signal_name(sig)}", file=sys.stderr)
    return result.exit_code()
