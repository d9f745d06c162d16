"""The ``profkit`` command line: ``profkit MODE [options] (script.py | -m module) [args...]``.

Everything after the script (or ``-m module``) belongs to the program, as
with ``python`` itself.  A bad invocation prints one line on stderr and exits
with 2; the program's own errors print as python prints them.
"""
import os
import sys

from profkit._state import builtin_profile as _builtin_profile
from profkit._state import passthrough as _passthrough
from profkit.errors import ProfkitError


def _Parser(*args, **kwargs):
    """argparse, but an error is one line and exit code 2 (see _args).
    argparse loads only when a parser is made: `profkit mem` with plain
    options never needs it."""
    from profkit._args import Parser

    return Parser(*args, **kwargs)


def _type_error(message):
    from argparse import ArgumentTypeError

    return ArgumentTypeError(message)


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
    shown = os.path.relpath(outfile) if outfile else None  # from here: the program may chdir
    target = _runner.load_target(script=script, module=module, args=prog_args)

    prof = Profile(builtins=not opts.no_builtins, all_threads=not opts.main_thread_only)
    prof._hidden_files = frozenset({_runner.__file__})
    # Scripts marked up for kernprof (a bare @profile) run here too.
    with _builtin_profile(_passthrough):
        outcome = _runner.run_target(target, prof.enable, prof.disable, prof._pause_thread)
    out = outcome.stdout  # not sys.stdout: the program may have closed or replaced it
    try:
        if outfile is not None:
            prof.dump_stats(outfile)
            print(f"profkit: wrote {shown} (read it with: python -m pstats {shown})",
                  file=outcome.stderr)
        else:
            import pstats

            pstats.Stats(prof, stream=out).strip_dirs().sort_stats(sort).print_stats()
            out.flush()
    except BrokenPipeError:
        _quiet_stdout(out)
    except OSError as exc:
        raise ProfkitError(f"cannot write {outfile!r}: {exc.strerror or exc}", exit_code=1) from None
    return _runner.finish(outcome)


def _quiet_stdout(stream=None):
    # The reader of our output went away (| head): stop writing quietly.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, (sys.stdout if stream is None else stream).fileno())


# ---- profkit lines ----------------------------------------------------------


def _unit(text):
    try:
        value = float(text)
    except ValueError:
        raise _type_error(f"not a number: {text!r}") from None
    if not value > 0:
        raise _type_error(f"must be positive: {text!r}")
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
    shown = os.path.relpath(outfile)  # from here: the program may chdir
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
    report = stats
    if opts.all:
        ranked = sorted(stats.timings.items(), key=lambda kv: -sum(t for _, _, t in kv[1]))
        ranked = [kv for kv in ranked if sum(h for _, h, _ in kv[1])][:TOP_FUNCTIONS]
        report = lprof.LineStats(dict(ranked), stats.unit)
    # The report and messages go where profkit's own output went when it
    # started, whatever the program did to sys.stdout and sys.stderr.
    out, err = outcome.stdout, outcome.stderr
    try:
        if not stats.timings:
            print("profkit lines: no function was profiled: mark functions with @profile, "
                  "or choose them with -f PATTERN, --module MOD or --all", file=err)
        else:
            lprof.show_text(report.timings, report.unit, output_unit=opts.unit, stream=out,
                            stripzeros=opts.skip_zero, summarize=True)
            out.flush()
        print(f"profkit: wrote {shown} (show it again with: profkit show {shown})", file=err)
    except BrokenPipeError:
        _quiet_stdout(out)
    missing = selector.unmatched()
    code = _runner.finish(outcome)
    if missing:
        print(f"profkit lines: error: {missing[0]} matched no function", file=err)
        return 2
    return code


def _nothing():
    pass


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

    def __call__(self, func=None, **_options):
        if func is None:  # @profile(...): kernprof takes no options; ignore them
            return self
        self._lp.add_callable(func)
        return self._lp.wrap_callable(func) if self._wrap else func

    def __getattr__(self, name):
        return getattr(self._lp, name)


# ---- profkit mem --------------------------------------------------------------


def _precision(text):
    try:
        value = int(text)
    except ValueError:
        raise _type_error(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 9:
        raise _type_error(f"{text} is out of range (0 to 9)")
    return value


def _mem_parser():
    p = _Parser(
        prog="profkit mem",
        description="Line-by-line memory: what python -m memory_profiler reports, for functions "
        "marked @profile or chosen with -f or --module.",
        usage="profkit mem [-o FILE] [-f PATTERN ...] [--module MOD ...] [--precision N] "
        "[--backend rss|alloc|both] (script.py | -m module) [args ...]",
    )
    p.add_argument("-o", "--outfile", metavar="FILE",
                   help="also save the report (profkit show FILE prints it again)")
    p.add_argument("-f", "--func", action="append", default=[], metavar="PATTERN",
                   help="profile functions whose qualified name matches this glob; repeatable")
    p.add_argument("--module", action="append", default=[], metavar="MOD",
                   help="profile every function defined in module MOD; repeatable")
    p.add_argument("-p", "--precision", type=_precision, default=1, metavar="N",
                   help="decimals of the MiB figures (default 1)")
    p.add_argument("-b", "--backend", choices=("rss", "alloc", "both"), default="rss",
                   help="rss: memory_profiler's columns (default); alloc: exact bytes allocated, "
                   "net and peak, from allocation hooks; both: all of them")
    return p


# option -> (attribute, kind): the options of `profkit mem`, for the quick
# reading below.  _mem_parser() must accept exactly the same ones.
_MEM_OPTIONS = {"-o": ("outfile", "value"), "--outfile": ("outfile", "value"),
                "-f": ("func", "append"), "--func": ("func", "append"),
                "--module": ("module", "append"),
                "-p": ("precision", "precision"), "--precision": ("precision", "precision"),
                "-b": ("backend", "backend"), "--backend": ("backend", "backend")}


def _quick_mem_options(words):
    """The options of `profkit mem` read without argparse (whose import
    costs more than a short profile), or None when anything is unusual:
    --help, an unknown or abbreviated option, a bad value.  argparse then
    reads them again and says what is wrong in the usual words."""
    import types

    opts = types.SimpleNamespace(outfile=None, func=[], module=[], precision=1, backend="rss")
    i = 0
    while i < len(words):
        word, value = words[i], None
        if word.startswith("--") and "=" in word:
            word, value = word.split("=", 1)
        spec = _MEM_OPTIONS.get(word)
        if spec is None:
            return None
        if value is None:
            if i + 1 >= len(words):
                return None
            value = words[i + 1]
            i += 1
        i += 1
        name, kind = spec
        if kind == "append":
            getattr(opts, name).append(value)
        elif kind == "precision":
            if not value.isdigit() or not 0 <= int(value) <= 9:
                return None
            opts.precision = int(value)
        elif kind == "backend":
            if value not in ("rss", "alloc", "both"):
                return None
            opts.backend = value
        else:
            setattr(opts, name, value)
    return opts


def cmd_mem(argv):
    from profkit import _engine, _runner, _state, memprof
    from profkit._select import Selector
    from profkit.formats.atomic import check_writable

    opts_argv, script, module, prog_args = _split_target(argv, set(_MEM_OPTIONS))
    opts = _quick_mem_options(opts_argv)
    if opts is None:  # help, or something argparse must explain
        opts = _mem_parser().parse_args(opts_argv)
    if script is None and module is None:
        _mem_parser().error("a script or -m module to profile is required")
    outfile = check_writable(opts.outfile) if opts.outfile else None
    shown = os.path.relpath(outfile) if outfile else None  # from here: the program may chdir
    target = _runner.load_target(script=script, module=module, args=prog_args)

    prof = memprof.LineMemoryProfiler(backend=opts.backend)
    selector = Selector(None, opts.func, opts.module, False, target.path0)
    # As in `profkit lines`: on the legacy hook, unless functions were chosen
    # by name, the tracer is on only while a @profile function runs.
    whole_run = _engine.backend() == "monitoring" or selector.active
    marker = memprof.ScriptProfile(prof, wrap=not whole_run)
    selector.profiler = prof
    selector.scan_code(target.code, "__main__", is_script=True)
    selector.install()
    saved_mp = sys.modules.get("memory_profiler")
    sys.modules["memory_profiler"] = memprof.shim_module(marker)
    start, stop = (prof.enable, prof.disable) if whole_run else (_nothing, _nothing)
    with _state.line_profiler(marker), _builtin_profile(marker):
        try:
            outcome = _runner.run_target(target, start, stop)
        finally:
            selector.uninstall()
            if saved_mp is None:
                sys.modules.pop("memory_profiler", None)
            else:
                sys.modules["memory_profiler"] = saved_mp
            while prof.enable_count:  # left by os._exit-like paths or a thread
                prof.disable_by_count()
    stats = prof.get_stats()
    nothing_marked = not prof.functions and not selector.active
    out, err = outcome.stdout, outcome.stderr  # as in cmd_lines
    try:
        if nothing_marked:
            print("profkit mem: error: no function was profiled: mark functions with @profile, "
                  "or choose them with -f PATTERN or --module MOD", file=err)
        elif not stats.functions:
            print("profkit mem: the profiled functions never ran", file=err)
        else:
            memprof.show_results(stats, stream=out, precision=opts.precision)
            out.flush()
            for hint in memprof.hints(stats):
                print(f"profkit mem: {hint}", file=err)
        if outfile is not None:
            stats.dump(outfile)
            print(f"profkit: wrote {shown} (show it again with: profkit show {shown})", file=err)
    except BrokenPipeError:
        _quiet_stdout(out)
    except OSError as exc:
        raise ProfkitError(f"cannot write {outfile!r}: {exc.strerror or exc}", exit_code=1) from None
    missing = selector.unmatched()
    code = _runner.finish(outcome)
    if missing:
        print(f"profkit mem: error: {missing[0]} matched no function", file=err)
        return 2
    return code if code or not nothing_marked else 1


# ---- profkit run / plot / list / clean / peak --------------------------------


def _interval(text):
    try:
        value = float(text)
    except ValueError:
        raise _type_error(f"not a number: {text!r}") from None
    if not 0.001 <= value <= 3600:
        raise _type_error(f"{text} s is out of range (0.001 to 3600 s)")
    return value


def _run_parser():
    p = _Parser(prog="profkit run", description="Record memory over time, as mprof run does: "
                "samples go to an mprof .dat file as they are taken.",
                usage="profkit run [--interval S] [--include-children] [--multiprocess] "
                "[--backend rss|pss|uss] [-o FILE] (script.py | -m module | -- command ...) [args ...]")
    p.add_argument("-i", "--interval", type=_interval, default=0.1, metavar="S",
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


def cmd_run(argv):
    import shlex
    import shutil
    import signal

    from profkit import _runner, memtime
    from profkit.formats import mprof
    from profkit.formats.atomic import check_writable

    parser = _run_parser()
    value_opts = {"-i", "--interval", "-b", "--backend", "-o", "--output"}
    opts_argv, script, module, prog_args = _split_target(argv, value_opts)
    explicit_command = len(opts_argv) < len(argv) and argv[len(opts_argv)] == "--"
    opts = parser.parse_args(opts_argv)
    if script is None and module is None:
        parser.error("a script, -m module or -- command to run is required")
    path = check_writable(opts.output) if opts.output else os.path.abspath(mprof.default_name())
    python_target = None
    if module is not None:
        _runner.load_target(module=module, args=prog_args)  # a bad name fails here, in one line
        python_target = ["-m", module] + prog_args
        words = [os.path.basename(sys.executable), "-m", module] + prog_args
    elif not explicit_command and script.endswith((".py", ".pyw")):
        _runner.load_target(script=script, args=prog_args)
        python_target = [script] + prog_args
        words = [os.path.basename(sys.executable), script] + prog_args
    else:
        if os.sep not in script and shutil.which(script) is None:
            raise ProfkitError(f"profkit run: error: no such command: {script!r}")
        if os.sep in script and not (os.path.isfile(script) and os.access(script, os.X_OK)):
            raise ProfkitError(f"profkit run: error: {script!r} is not an executable file")
        words = [script] + prog_args
    cmdline = " ".join(shlex.quote(w) for w in words)
    print(f"profkit run: sampling every {opts.interval:g} s into {os.path.relpath(path)}",
          file=sys.stderr)
    result = memtime.record(words if python_target is None else None, path, cmdline,
                            opts.interval, opts.backend, opts.include_children, opts.multiprocess,
                            python_target)
    status = result.status
    if result.started is False:
        # The interpreter, or profkit's side of it, failed before the
        # program's first line: the samples are not the program's.
        try:
            os.remove(path)
        except OSError:
            pass
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        how = f"killed by {memtime.signal_name(sig)}" if sig else f"exit status {os.WEXITSTATUS(status)}"
        print(f"profkit run: error: the program did not start ({how}); nothing was recorded",
              file=sys.stderr)
        if sig == signal.SIGINT:
            sys.stderr.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        return 128 + sig if sig else os.WEXITSTATUS(status) or 1
    summary = result.summary
    if summary and summary["count"]:
        elapsed = summary["peak_time"] - summary["first_time"]
        kernel = result.rusage.ru_maxrss / 1024.0
        # The kernel's figure is only the program's own once it is above
        # what the child inherited from profkit at its start.
        note = "" if opts.include_children or opts.backend != "rss" or \
            kernel * 1048576 < result.own_rss * 1.1 else f" (the kernel's peak RSS: {kernel:.1f} MiB)"
        span = max(summary["last_time"] - summary["first_time"], 1e-9)
        print(f"profkit run: {summary['count']} samples; peak {summary['peak']:.1f} MiB at "
              f"{elapsed:.2f} s{note}", file=sys.stderr)
        print(f"profkit run: sampling used {result.sampler_cpu * 1e3:.0f} ms of CPU "
              f"({100 * result.sampler_cpu / span:.2f}% of one core)", file=sys.stderr)
    else:
        print("profkit run: the program ended before its first sample", file=sys.stderr)
    print(f"profkit run: wrote {os.path.relpath(path)} (draw it with: profkit plot)", file=sys.stderr)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGINT:
            sys.stderr.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        print(f"profkit run: the program was killed by {memtime.signal_name(sig)}", file=sys.stderr)
        return 128 + sig
    return os.WEXITSTATUS(status)


def _plot_parser():
    p = _Parser(prog="profkit plot", description="Draw memory against time from .dat files "
                "(profkit run or mprof run).  No FILE: the newest in this folder.",
                usage="profkit plot [FILE ...] [-o OUT.png|.svg|.html] [--title T] [--flame] "
                "[--no-functions] [--show]")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help=".dat files, or their numbers in 'profkit list' (-1 = the newest)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="the picture; its extension picks the format (default: beside the .dat, "
                   ".png with matplotlib, else .svg)")
    p.add_argument("-t", "--title", help="title of the picture")
    p.add_argument("-f", "--flame", action="store_true",
                   help="draw the marked calls as bars by nesting level, under the memory")
    p.add_argument("-n", "--no-functions", action="store_true",
                   help="leave out the marked functions")
    p.add_argument("-s", "--show", action="store_true", help="open a window (needs a display)")
    return p


def cmd_plot(argv):
    from profkit import plot
    from profkit.formats import mprof
    from profkit.formats.atomic import check_writable

    opts = _plot_parser().parse_args(argv)
    files = mprof.resolve(opts.files)
    out = opts.output
    if out is not None:
        check_writable(out)
    if opts.show and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ProfkitError("profkit plot: error: --show needs a display; write a file with -o instead")
    datas = []
    for path in files:
        data = mprof.read(path)
        for w in data.warnings:
            print(f"profkit plot: warning: {w}", file=sys.stderr)
        datas.append(data)
    if out is None and not opts.show:
        ext = ".png" if plot.have_matplotlib() else ".svg"
        out = os.path.splitext(files[-1])[0] + ext
    model = plot.build(datas, title=opts.title, functions=not opts.no_functions, flame=opts.flame)
    plot.render(model, out, show=opts.show)
    if out:
        print(f"profkit plot: wrote {os.path.relpath(out)}", file=sys.stderr)
    return 0


def _folder_parser(name, text):
    p = _Parser(prog=f"profkit {name}", description=text, usage=f"profkit {name}"
                + (" [--dry-run]" if name == "clean" else ""))
    if name == "clean":
        p.add_argument("--dry-run", action="store_true", help="say what would be removed")
    return p


def cmd_list(argv):
    from profkit.formats import mprof

    _folder_parser("list", "Number the .dat files in this folder, oldest first.").parse_args(argv)
    for i, name in enumerate(mprof.list_files()):
        print(f"{i} {name} {mprof.stamp_of(name)}")
    return 0


def cmd_clean(argv):
    from profkit.formats import mprof

    opts = _folder_parser("clean", "Remove the mprofile_*.dat files in this folder.").parse_args(argv)
    for name in mprof.list_files():
        if opts.dry_run:
            print(name)
        else:
            os.remove(name)
    return 0


def _peak_parser():
    p = _Parser(prog="profkit peak", description="Print the highest memory of each run.",
                usage="profkit peak [FILE ...]")
    p.add_argument("files", nargs="*", metavar="FILE", help=".dat files or their numbers")
    return p


def cmd_peak(argv):
    from profkit.formats import mprof

    opts = _peak_parser().parse_args(argv)
    for path in mprof.resolve(opts.files):
        data = mprof.read(path)
        for w in data.warnings:
            print(f"profkit peak: warning: {w}", file=sys.stderr)
        if data.mem:
            print(f"{path}\t{data.peak()[0]:.3f} MiB")
        else:
            print(f"{path}\tNaN MiB")
        for pid, samples in sorted(data.children.items()):
            print(f"  Child {pid}\t\t\t{max(m for m, _t in samples):.3f} MiB")
    return 0


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
        if head[:1] == b"{":  # JSON: a line-by-line memory report
            from profkit import memprof

            memprof.MemStats.load(path).show()
            return 0
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
    "mem": (cmd_mem, "line-by-line memory, like python -m memory_profiler"),
    "run": (cmd_run, "memory over time into an mprof .dat file, like mprof run"),
    "plot": (cmd_plot, "draw .dat files: PNG, SVG or HTML, like mprof plot"),
    "peak": (cmd_peak, "the peak memory of .dat files, like mprof peak"),
    "list": (cmd_list, "number the .dat files here, like mprof list"),
    "clean": (cmd_clean, "remove the .dat files here, like mprof clean"),
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
