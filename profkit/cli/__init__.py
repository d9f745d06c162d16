"""The ``profkit`` command line: ``profkit MODE [options] (script.py | -m module) [args...]``.

Everything after the script (or ``-m module``) belongs to the program, as
with ``python`` itself.  A bad invocation prints one line on stderr and exits
with 2; the program's own errors print as python prints them.

One module per command, imported only when that command runs: each parses
its arguments, calls the library (the profilers, ``formats``, ``report``)
and returns an exit code.  What they share is in ``_common``.
"""
import sys

from profkit.errors import ProfkitError

# command -> (its module in profkit.cli, one line for the usage)
COMMANDS = {
    "func": ("func", "function-level profile, like python -m cProfile"),
    "lines": ("lines", "line-by-line timing, like kernprof -l -v"),
    "mem": ("mem", "line-by-line memory, like python -m memory_profiler"),
    "run": ("run", "memory over time into an mprof .dat file, like mprof run"),
    "plot": ("plot", "draw .dat files: PNG, SVG or HTML, like mprof plot"),
    "peak": ("peak", "the peak memory of .dat files, like mprof peak"),
    "list": ("list_", "number the .dat files here, like mprof list"),
    "clean": ("clean", "remove the .dat files here, like mprof clean"),
    "show": ("show", "print a saved profile (.lprof or pstats) again"),
    "diff": ("diff", "compare two saved profiles: what got slower, what is noise"),
}


def _usage():
    lines = ["usage: profkit COMMAND [options] (script.py | -m module) [args ...]", "", "commands:"]
    for name, (_module, text) in COMMANDS.items():
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
        module = "profkit.cli." + command[0]
        __import__(module)
        return sys.modules[module].main(argv[1:])
    except ProfkitError as exc:
        msg = str(exc)
        if not msg.startswith("profkit"):
            msg = "profkit: error: " + msg
        print(msg, file=sys.stderr)
        return exc.exit_code
