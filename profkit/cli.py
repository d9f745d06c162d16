"""The ``profkit`` command line: ``profkit MODE [options] (script.py | -m module) [args...]``.

Everything after the script (or ``-m module``) belongs to the program, as
with ``python`` itself.  A bad invocation prints one line on stderr and exits
with 2; the program's own errors print as python prints them.
"""
import argparse
import contextlib
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
    # Scripts marked up for kernprof (a bare @profile) run here too.
    with _builtin_profile(_passthrough):
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


# ---- profkit lines ----------------------------------------------------------


def _unit(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _lines_parser():
    p = _Parser(
        prog="profkit lines",
        description="Line-by-line timing: what kernprof -l -v reports, for functions marked "
        "@profile or chosen with -f, --module or --all.",
        usage="profkit lines [-o FILE] [-u UNIT] [-z] [-f PATTERN ...] [--module MOD ...] [--all] "
        "(script.py | -m module) [args ...]",
    )
    p.add_argument("-o", "--outfile", metavar="FILE",
                   help="where to save the results (default: SCRIPT.lprof beside the script)")
    p.add_argument("-u", "--unit", type=_unit, default=1e-6, metavar="UNIT",
                   help="time unit of the report, in seconds (default: 1e-6)")
    p.add_argument("-z", "--skip-zero", action="store_true", help="leave out functions never called")
    p.add_argument("-f", "--func", action="append", default=[], metavar="PATTERN",
                   help="profile functions whose qualified name matches this glob "
                   "(make_sparse, Matrix.*, mypkg.mod:func); repeatable")
    p.add_argument("--module", action="append", default=[], metavar="MOD",
                   help="profile every function defined in module MOD; repeatable")
    p.add_argument("--all", action="store_true",
                   help="profile every function of the script's own file; report the costliest")
    return p


def _default_lprof_path(script, module):
    if module is not None:
        return os.path.abspath(module + ".lprof")
    return os.path.abspath(script) + ".lprof"


def _ordered(stats, order):
    """Functions file by file (files in first-registration order), each file
    in source order."""
    files = {}
    for key in order:
        files.setdefault(key[0], len(files))
    keys = sorted(stats.timings, key=lambda k: (files.get(k[0], len(files)), k[1], k[2]))
    return {k: stats.timings[k] for k in keys}


TOP_FUNCTIONS = 10


def cmd_lines(argv):
    from profkit import _runner, _state
    from profkit._select import Selector
    from profkit.formats import lprof
    from profkit.formats.atomic import check_writable
    from profkit.lineprof import code_label

    parser = _lines_parser()
    opts_argv, script, module, prog_args = _split_target(
        argv, {"-o", "--outfile", "-u", "--unit", "-f", "--func", "--module"})
    opts = parser.parse_args(opts_argv)
    if script is None and module is None:
        parser.error("a script or -m module to profile is required")
    outfile = check_writable(opts.outfile or _default_lprof_path(script, module))
    target = _runner.load_target(script=script, module=module, args=prog_args)

    from profkit import _engine

    selector = Selector(None, opts.func, opts.module, opts.all, target.path0)
    # With sys.monitoring the tracer costs nothing outside the registered
    # functions, so it stays on for the whole run and @profile needs no
    # wrapper.  The legacy trace hook slows every call, so there, unless
    # functions were chosen by name, it is on only while a @profile function
    # runs, as under kernprof.
    whole_run = _engine.backend() == "monitoring" or selector.active
    prof = _CLILineProfiler(wrap=not whole_run)
    selector.profiler = prof
    selector.scan_code(target.code, "__main__", is_script=True)
    selector.install()
    start, stop = (prof.enable, prof.disable) if whole_run else (_nothing, _nothing)
    with _state.line_profiler(prof), _builtin_profile(prof):
        try:
            outcome = _runner.run_target(target, start, stop)
        finally:
            selector.uninstall()
            if prof.enable_count:  # the program left a @profile call by os._exit or a thread
                prof.disable()
    stats = prof.get_stats()
    order = [code_label(f.__code__) for f in prof.functions] + list(stats.timings)
    stats = lprof.LineStats(_ordered(stats, order), stats.unit)
    try:
        lprof.dump(stats, outfile)
    except OSError as exc:
        raise ProfkitError(f"cannot write {outfile!r}: {exc.strerror or exc}", exit_code=1) from None
    shown = stats
    if opts.all:
        ranked = sorted(stats.timings.items(), key=lambda kv: -sum(t for _, _, t in kv[1]))
        ranked = [kv for kv in ranked if sum(h for _, h, _ in kv[1])][:TOP_FUNCTIONS]
        shown = lprof.LineStats(dict(ranked), stats.unit)
    try:
        if not stats.timings:
            print("profkit lines: no function was profiled: mark functions with @profile, "
                  "or choose them with -f PATTERN, --module MOD or --all", file=sys.stderr)
        else:
            lprof.show_text(shown.timings, shown.unit, output_unit=opts.unit,
                            stripzeros=opts.skip_zero, summarize=True)
            sys.stdout.flush()
        print(f"profkit: wrote {os.path.relpath(outfile)} (show it again with: "
              f"profkit show {os.path.relpath(outfile)})", file=sys.stderr)
    except BrokenPipeError:
        _quiet_stdout()
    missing = selector.unmatched()
    if missing:
        _runner.finish(outcome)
        raise ProfkitError(f"profkit lines: error: {missing[0]} matched no function")
    return _runner.finish(outcome)


_MISSING = object()


def _nothing():
    pass


def _passthrough(func=None, **_options):
    """``profile`` for modes that do not use it: leaves the function as it is."""
    if func is None:
        return _passthrough
    return func


@contextlib.contextmanager
def _builtin_profile(obj):
    """Put ``profile`` into builtins for the program, as kernprof does."""
    import builtins

    saved = builtins.__dict__.get("profile", _MISSING)
    builtins.profile = obj
    try:
        yield
    finally:
        if saved is _MISSING:
            builtins.__dict__.pop("profile", None)
        else:
            builtins.profile = saved


class _CLILineProfiler:
    """The ``profile`` a script sees under ``profkit lines``: kernprof's
    decorator and profiler object in one.  When the line tracer is on for the
    whole run the decorator only registers the function and returns it
    unchanged; otherwise (``wrap``) it also wraps it to switch the tracer on
    while it runs."""

    def __init__(self, wrap=False):
        from profkit.lineprof import LineProfiler

        # Wrapped calls switch the hook on their own thread only: cheap, and
        # what kernprof does.
        self._lp = LineProfiler(all_threads=not wrap)
        self._wrap = wrap

    def __call__(self, func):
        self._lp.add_callable(func)
        return self._lp.wrap_callable(func) if self._wrap else func

    def __getattr__(self, name):
        return getattr(self._lp, name)


# ---- profkit show -------------------------------------------------------------


def _show_parser():
    p = _Parser(prog="profkit show", description="Print a saved profile again: a .lprof file "
                "(profkit lines, kernprof -l) or a pstats file (profkit func -o, cProfile -o).",
                usage="profkit show [-u UNIT] [-z] [-s KEY] FILE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-u", "--unit", type=_unit, default=1e-6, metavar="UNIT",
                   help="time unit of a line report, in seconds (default: 1e-6)")
    p.add_argument("-z", "--skip-zero", action="store_true", help="leave out functions never called")
    p.add_argument("-s", "--sort", metavar="KEY", default=None, help="sort key of a pstats table")
    return p


def cmd_show(argv):
    from profkit.formats import lprof, pstats_io

    opts = _show_parser().parse_args(argv)
    path = opts.file
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError as exc:
        raise ProfkitError(f"can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}") from None
    try:
        if head[:1] == b"\x80":  # a pickle: a line profile
            stats = lprof.load(path)
            lprof.show_text(stats.timings, stats.unit, output_unit=opts.unit,
                            stripzeros=opts.skip_zero, summarize=True)
            return 0
        raw = pstats_io.load(path)
        if not all(isinstance(k, tuple) and len(k) == 3 and isinstance(v, tuple) and len(v) == 5
                   for k, v in raw.items()):
            raise ValueError(f"{path}: not a pstats file")
    except (ValueError, EOFError, TypeError) as exc:
        raise ProfkitError(f"profkit show: error: {exc}", exit_code=1) from None
    import pstats

    sort = opts.sort or "cumulative"
    keys = _sort_keys()
    if sort not in keys:
        raise ProfkitError(f"profkit show: error: argument -s/--sort: invalid choice: {sort!r} "
                           f"(choose from {', '.join(keys)})")
    try:
        pstats.Stats(path).strip_dirs().sort_stats(sort).print_stats()
    except BrokenPipeError:
        _quiet_stdout()
    return 0


COMMANDS = {
    "func": (cmd_func, "function-level profile, like python -m cProfile"),
    "lines": (cmd_lines, "line-by-line timing, like kernprof -l -v"),
    "show": (cmd_show, "print a saved profile (.lprof or pstats) again"),
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
