"""What the commands share: the argument parser and its option groups, value
types, the split of a command line at the program's name, the checks made
before a program runs, the "wrote" messages, and writing a report to a
reader that may go away.

argparse loads only when a parser is made: ``profkit mem`` with plain
options reads them with ``read_quickly`` and never needs it.
"""
import contextlib
import os
import sys

from profkit.errors import UNREADABLE, ProfkitError

# ---- the parser ------------------------------------------------------------------


def parser(prog, description, usage):
    """The argparse parser of command ``prog``: an error is one line (no
    usage dump) with exit code 2, and the help measures the terminal with os
    instead of shutil: argparse makes a formatter for every option added,
    and importing shutil (with bz2, lzma, zlib and threading behind it)
    costs every run 4 ms."""
    import argparse

    class Formatter(argparse.HelpFormatter):
        def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
            if width is None:
                try:
                    width = int(os.environ.get("COLUMNS", "")) - 2
                except ValueError:
                    try:
                        width = os.get_terminal_size(sys.__stdout__.fileno()).columns - 2
                    except (AttributeError, ValueError, OSError):
                        width = 78
            super().__init__(prog, indent_increment, max_help_position, width)

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise ProfkitError(f"{self.prog}: error: {message}")

    return Parser(prog=prog, description=description, usage=usage, formatter_class=Formatter)


def _number(convert, ok, out_of_range):
    """An argparse type: ``convert(text)`` that ``ok`` accepts, else an
    error in one phrase (``out_of_range`` is formatted with ``text``)."""
    what = "a number" if convert is float else "a whole number"

    def parse(text):
        from argparse import ArgumentTypeError

        try:
            value = convert(text)
        except ValueError:
            raise ArgumentTypeError(f"not {what}: {text!r}") from None
        if not ok(value):
            raise ArgumentTypeError(out_of_range.format(text=text))
        return value

    return parse


unit = _number(float, lambda v: v > 0, "must be positive: {text!r}")
precision = _number(int, lambda v: 0 <= v <= 9, "{text} is out of range (0 to 9)")
interval = _number(float, lambda v: 0.001 <= v <= 3600, "{text} s is out of range (0.001 to 3600 s)")


def add_selection(p, examples=""):
    """-f PATTERN and --module MOD: functions chosen without editing code."""
    p.add_argument("-f", "--func", action="append", default=[], metavar="PATTERN",
                   help=f"profile functions whose qualified name matches this glob{examples}; "
                   "repeatable")
    p.add_argument("--module", action="append", default=[], metavar="MOD",
                   help="profile every function defined in module MOD; repeatable")


def add_line_report(p, what="the report"):
    """-u UNIT and -z: how a line table is printed."""
    p.add_argument("-u", "--unit", type=unit, default=1e-6, metavar="UNIT",
                   help=f"time unit of {what}, in seconds (default: 1e-6)")
    p.add_argument("-z", "--skip-zero", action="store_true", help="leave out functions never called")


def check_sort(prog, key):
    """``key`` if pstats sorts by it, else the one-line error argparse
    would give."""
    from profkit.report.text import sort_keys

    keys = sort_keys()
    if key not in keys:
        raise ProfkitError(f"{prog}: error: argument -s/--sort: invalid choice: {key!r} "
                           f"(choose from {', '.join(keys)})")
    return key


# ---- the command line of a profiled program ----------------------------------


def split_target(argv, value_options):
    """Split ``argv`` into (profkit options, script, module, program args).

    The first word that is not an option, or the word after ``-m``, ends
    profkit's options; the rest goes to the program untouched.
    ``value_options``: the options that take a value (the next word).
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


APPEND = "append"  # a kind in read_quickly's table: a repeatable option


def read_quickly(words, options, defaults):
    """Options read without argparse (whose import costs more than a short
    profile), or None when anything is unusual: --help, an unknown or
    abbreviated option, a missing or bad value.  argparse then reads them
    again and says what is wrong in the usual words.

    ``options`` maps each spelling (``-o``, ``--outfile``) to (attribute,
    kind): kind ``APPEND`` collects a repeatable option's values, None takes
    the value as it is, and a function returns the value or None when it
    is bad.  ``defaults``: attribute -> value.  The parser of the same
    command must accept exactly these options.
    """
    import types

    opts = {name: list(value) if isinstance(value, list) else value
            for name, value in defaults.items()}
    i = 0
    while i < len(words):
        word, value = words[i], None
        if word.startswith("--") and "=" in word:
            word, value = word.split("=", 1)
        spec = options.get(word)
        if spec is None:
            return None
        if value is None:
            if i + 1 >= len(words):
                return None
            value = words[i + 1]
            i += 1
        i += 1
        name, kind = spec
        if kind is APPEND:
            opts[name].append(value)
            continue
        if kind is not None:
            value = kind(value)
            if value is None:
                return None
        opts[name] = value
    return types.SimpleNamespace(**opts)


def require_target(p, script, module, what="a script or -m module to profile"):
    if script is None and module is None:
        p.error(f"{what} is required")


def check_writable(path):
    """Raise ProfkitError (exit 2) unless ``path`` can be created or replaced.

    Called before the profiled program starts, so a typo in ``-o``, or a
    folder where nothing can be created (``/proc``, ``/sys``, a read-only
    mount), costs the user nothing: it makes and removes the temporary
    file the profile will be written through, and opens an existing file
    for writing (an immutable or append-only one refuses).  A full disk
    cannot be foreseen: ``saving`` handles that.  Returns the absolute path:
    the program may chdir.
    """
    import errno

    from profkit.formats import atomic
    from profkit.formats.atomic import temp_name

    path = os.path.abspath(os.fspath(path))
    folder, prefix, suffix = temp_name(path)
    if os.path.isdir(path):
        raise ProfkitError(f"cannot write {path!r}: it is a directory")
    if not os.path.isdir(folder):
        raise ProfkitError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if atomic.written_in_place(path):  # a device or FIFO: opening it would be noticed
        return path
    try:
        fd, tmp = atomic.make_temp(folder, prefix, suffix)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ProfkitError(f"cannot write {path!r}: cannot create a file in {folder!r} "
                           f"({exc.strerror or exc})") from None
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CLOEXEC))
    except OSError as exc:
        if exc.errno == errno.EPERM:  # immutable or append-only: the rename would fail
            raise ProfkitError(f"cannot write {path!r}: {exc.strerror}") from None
    return path


def dat_files(args, folder="."):
    """``.dat`` file arguments as mprof takes them: paths, or indices into
    the folder's list (0 the oldest, -1 the newest).  None: the newest."""
    import re

    from profkit.formats import mprof

    files = mprof.list_files(folder)
    if not args:
        if not files:
            raise ProfkitError("no mprofile_*.dat file in this folder: record one with "
                               "'profkit run script.py', or name a file", exit_code=UNREADABLE)
        return [_join(folder, files[-1])]
    out = []
    for arg in args:
        if re.fullmatch(r"-?\d+", arg) and not os.path.exists(arg):
            index = int(arg)
            try:
                out.append(_join(folder, files[index]))
            except IndexError:
                raise ProfkitError(f"there is no profile number {index} here (profkit list shows "
                                   f"{len(files)})", exit_code=UNREADABLE) from None
        else:
            if not os.path.exists(arg):
                raise ProfkitError(f"can't open file {arg!r}: [Errno 2] No such file or directory",
                                   exit_code=UNREADABLE)
            out.append(arg)
    return out


def _join(folder, name):
    return name if folder in (".", "") else os.path.join(folder, name)


def finish_selected(outcome, selector, prog):
    """End a run under -f/--module: the program's own ending (see
    runner.finish), then an error for the first choice that matched no
    function, which makes the exit code 2."""
    from profkit import runner

    missing = selector.unmatched()
    code = runner.finish(outcome)
    if missing:
        print(f"{prog}: error: {missing[0]} matched no function", file=outcome.stderr)
        return 2
    return code


# ---- output --------------------------------------------------------------------

SHOW_AGAIN = "show it again with: profkit show {}"


def wrote(shown, then=None, stream=None, prog="profkit"):
    """``profkit: wrote FILE (then)``, on stderr unless ``stream``; ``then``
    is formatted with the file's name."""
    tail = f" ({then.format(shown)})" if then else ""
    print(f"{prog}: wrote {shown}{tail}", file=stream if stream is not None else sys.stderr)


@contextlib.contextmanager
def printing(out=None):
    """Around a report: when its reader goes away (``| head``), stop
    writing quietly, with no traceback now or at exit."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, (sys.stdout if out is None else out).fileno())


class Saved:
    """What ``saving`` yields: ``path`` is where the profile went, once
    saved: the path asked for, or the copy in the temporary folder
    (``fallback`` True), whose line ``saving`` has printed."""

    def __init__(self, path):
        self.path = path
        self.fallback = False


@contextlib.contextmanager
def saving(path, stream=None):
    """Around saving ``path``.  When the write fails (a full disk, a folder
    gone read-only) the profile is not lost: it is saved in the temporary
    folder, one line on ``stream`` (default: sys.stderr) names it, and the
    block ends there without an error, so the program's exit code stands.
    Only when that fails too is it an error: one line, exit code 1."""
    from profkit.formats import atomic

    saved = Saved(path)
    try:
        yield saved
    except OSError as exc:
        reason = exc.strerror or str(exc)
        data = getattr(exc, "data", None)
        if data is None:
            raise ProfkitError(f"cannot write {path!r}: {reason}", exit_code=1) from None
        try:
            saved.path = atomic.save_elsewhere(path, data)
        except OSError as again:
            raise ProfkitError(f"cannot write {path!r}: {reason} (nor a copy in the temporary "
                               f"folder: {again.strerror or again})", exit_code=1) from None
        saved.fallback = True
        out = _usable(stream)
        if out is not None:
            print(f"profkit: cannot write {path!r}: {reason}; saved it to {saved.path} instead",
                  file=out)


def _usable(stream):
    """``stream``, else sys.stderr while it is open, else the stderr python
    started with: the program may have closed or replaced sys.stderr."""
    for s in (stream, sys.stderr, sys.__stderr__):
        try:
            if s is not None and not s.closed:
                return s
        except (AttributeError, ValueError):
            continue
    return None
