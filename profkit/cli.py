"""The ``profkit`` command line: ``profkit MODE [options] (script.py | -m module) [args...]``.

Everything after the script (or ``-m module``) belongs to the program, as
with ``python`` itself.  A bad invocation prints one line on stderr and exits
with 2; the program's own errors print as python prints them.
"""
import argparse
import os
import sys

from profkit.errors import ProfkitError


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage dump) and exit code 2."""

    def error(self, message):
        raise ProfkitError(f"{self.prog}: error: {message}")


def _split_target(argv, value_options):
    """Split ``argv`` into (profkit options, script, module, program args).

    The first word that is not an option, or the word after ``-m``, ends
    profkit's options; the rest goes to the program untouched.
    """
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            if i + 1 >= len(argv):
                break
            return argv[:i], argv[i + 1], None, argv[i + 2 :]
        if word == "-m":
            if i + 1 >= len(argv):
                raise ProfkitError("argument -m: expected a module name")
            return argv[:i], None, argv[i + 1], argv[i + 2 :]
        if word.startswith("-m") and not word.startswith("--"):
            return argv[:i], None, word[2:], argv[i + 1 :]
        if word.startswith("-") and word != "-":
            if word in value_options:
                i += 2
                continue
            i += 1
            continue
        return argv[:i], word, None, argv[i + 1 :]
    return argv, None, None, []


# ---- profkit func -----------------------------------------------------------


def _sort_keys():
    import pstats

    return sorted(pstats.Stats.sort_arg_dict_default)


def _func_parser():
    p = _Parser(
        prog="profkit func",
        description="Deterministic function-level profile: what python -m cProfile reports.",
        usage="profkit func [-s KEY] [-o FILE] [--main-thread-only] [--no-builtins] "
        "(script.py | -m module) [args ...]",
    )
    p.add_argument("-s", "--sort", metavar="KEY", help="sort key of the printed table, as for "
                   "python -m cProfile -s (default: cProfile's on this Python)")
    p.add_argument("-o", "--outfile", metavar="FILE", help="save a pstats file instead of printing")
    p.add_argument("--main-thread-only", action="store_true",
                   help="profile only the main thread, like cProfile (default: every thread)")
    p.add_argument("--no-builtins", action="store_true", help="do not profile C functions")
    return p


def cmd_func(argv):
    from profkit import _runner
    from profkit.formats.atomic import check_writable
    from profkit.funcprof import DEFAULT_SORT, Profile

    parser = _func_parser()
    opts_argv, script, module, prog_args = _split_target(argv, {"-s", "--sort", "-o", "--outfile"})
    opts = parser.parse_args(opts_argv)
    sort = DEFAULT_SORT
    if opts.sort is not None:
        keys = _sort_keys()
        if opts.sort not in keys:
            parser.error(f"argument -s/--sort: invalid choice: {opts.sort!r} (choose from {', '.join(keys)})")
        sort = opts.sort
    if script is None and module is None:
        parser.error("a script or -m module to profile is required")
    outfile = check_writable(opts.outfile) if opts.outfile else None
    target = _runner.load_target(script=script, module=module, args=prog_args)

    prof = Profile(builtins=not opts.no_builtins, all_threads=not opts.main_thread_only)
    prof._hidden_files = frozenset({_runner.__file__})
    prof._hidden_labels = frozenset({f"<method '_pause_thread' of '{_engine_type_name()}' objects>"})
    outcome = _runner.run_target(target, prof.enable, prof.disable, prof._pause_thread)
    try:
        if outfile is not None:
            prof.dump_stats(outfile)
            print(f"profkit: wrote {os.path.relpath(outfile)} (read it with: "
                  f"python -m pstats {os.path.relpath(outfile)})", file=sys.stderr)
        else:
            prof.print_stats(sort)
    except BrokenPipeError:
        _quiet_stdout()
    except OSError as exc:
        raise ProfkitError(f"cannot write {outfile!r}: {exc.strerror or exc}", exit_code=1) from None
    return _runner.finish(outcome)


def _engine_type_name():
    from profkit import _engine

    return f"{_engine.Profiler.__module__}.{_engine.Profiler.__qualname__}"


def _quiet_stdout():
    # The reader of our output went away (| head): stop writing quietly.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


COMMANDS = {
    "func": (cmd_func, "function-level profile, like python -m cProfile"),
}


def _usage():
    lines = ["usage: profkit COMMAND [options] (script.py | -m module) [args ...]", "", "commands:"]
    for name, (_fn, text) in COMMANDS.items():
        lines.append(f"  {name:<8}{text}")
    lines.append("")
    lines.append("Run 'profkit COMMAND --help' for the options of one command.")
    return "\n".join(lines)


def main(argv=None):
    """Entry point of the ``profkit`` command and of ``python -m profkit``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if not argv or argv[0] in ("-h", "--help"):
            print(_usage())
            return 0 if argv else 2
        if argv[0] == "--version":
            from profkit import __version__

            print(f"profkit {__version__}")
            return 0
        command = COMMANDS.get(argv[0])
        if command is None:
            raise ProfkitError(f"profkit: error: unknown command {argv[0]!r} "
                               f"(choose from {', '.join(COMMANDS)})")
        return command[0](argv[1:])
    except ProfkitError as exc:
        msg = str(exc)
        if not msg.startswith("profkit"):
            msg = "profkit: error: " + msg
        print(msg, file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
