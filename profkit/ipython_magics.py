"""IPython and Jupyter magics: ``%load_ext profkit`` gives

* ``%pkfunc`` / ``%%pkfunc``: the function profile, as ``%prun`` (options
  -s, -l, -r, -T, -D, -q);
* ``%pklines -f func stmt``: line-by-line timing, as ``%lprun`` (-f, -m,
  -D, -T, -r, -u, -z);
* ``%pkmem -f func stmt``: line-by-line memory, as ``%mprun`` (-f, -m, -T,
  -D, -r, and profkit mem's -b BACKEND and -p PRECISION);
* ``%pkmemit stmt``: the peak memory of a statement and its increment over
  the memory before, as ``%memit`` (-r, -i, -c, -o, -q), sampled by the
  engine's C thread; the statement runs once (-r N: N times).

Each prints the table the command line prints (through ``report.write``)
and, with -r (``%pkmemit``: -o), returns what the next cell can use.  In a
notebook the function profile shows as the HTML report once
``profkit.report.html`` exists.  Loaded only by ``load_ipython_extension``.
"""
import io
import pstats
import sys
import types

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

__all__ = ["ProfkitMagics", "FunctionStats", "MemitResult", "load_ipython_extension"]


def load_ipython_extension(ip):
    ip.register_magics(ProfkitMagics)


def html_report(table):
    """The HTML report of ``table`` framed for a notebook's output, or None
    while profkit has no HTML report (checked at each call)."""
    import importlib.util

    if importlib.util.find_spec("profkit.report.html") is None:
        return None
    from html import escape

    from profkit.report import html

    buf = io.StringIO()
    html.write(table, path=None, fmt="html", stream=buf)
    # a frame of its own: the page's styles and scripts stay out of the notebook's
    return (f'<iframe srcdoc="{escape(buf.getvalue(), quote=True)}" '
            'style="width:100%;height:640px;border:0"></iframe>')


class _Holder:  # what pstats.Stats reads a profile from
    def __init__(self, stats):
        self.stats = stats

    def create_stats(self):
        pass


class FunctionStats(pstats.Stats):
    """What ``%pkfunc -r`` returns: a ``pstats.Stats``, as ``%prun -r``
    does, with the profile as ``table`` (report.model.FunctionTable); in a
    notebook it shows as the HTML report."""

    def __init__(self, table):
        self.table = table
        super().__init__(_Holder(table.stats))

    def dump(self, path):
        """Save the profile as a pstats file."""
        from profkit.formats import pstats_io

        pstats_io.dump(self.table.stats, path)

    def _repr_html_(self):
        return html_report(self.table)


class MemitResult(types.SimpleNamespace):
    """What ``%pkmemit -o`` returns, as memory_profiler's: ``mem_usage`` the
    peak of each run (MiB), ``baseline`` the memory before (MiB), and
    ``repeat``, ``interval``, ``include_children``, ``timeout`` (None)."""

    @property
    def peak(self):
        return max(self.mem_usage)

    @property
    def increment(self):
        return self.peak - self.baseline

    def __str__(self):
        return f"peak memory: {self.peak:.2f} MiB, increment: {self.increment:.2f} MiB"

    def _repr_pretty_(self, p, cycle):
        p.text(f"<MemitResult : {self}>")


def _sort_key(key):
    """A pstats sort key, or its unambiguous start (as pstats takes them)."""
    keys = pstats.Stats.sort_arg_dict_default
    if key in keys:
        return key
    found = [k for k in keys if k.startswith(key)]
    if len(found) != 1:
        raise UsageError(f"-s {key}: not a sort key (choose from {', '.join(sorted(keys))})")
    return found[0]


def _limit(text):
    """A -l restriction as %prun reads it: a row count, a fraction, or a
    regular expression on the function's name."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _number(opts, name, convert, default, ok, what):
    if name not in opts:
        return default
    raw = opts[name][-1] if isinstance(opts[name], list) else opts[name]
    try:
        value = convert(raw)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise UsageError(f"-{name} {raw}: {what}")
    return value


INTERRUPTED = "*** {} exception caught in code being profiled."


@magics_class
class ProfkitMagics(Magics):
    # -- what every magic shares -------------------------------------------------
    def _code(self, arg_str, cell):
        code = arg_str if cell is None else arg_str + "\n" + cell
        if not code.strip():
            raise UsageError("nothing to profile: give a statement, or a cell")
        return self.shell.transform_cell(code)

    def _run(self, prof, code):
        """Run ``code`` in the user's namespace under ``prof``; the message
        to print when it ended by SystemExit or Ctrl-C, else None."""
        ns = self.shell.user_ns
        try:
            prof.runctx(code, ns, ns)
        except (SystemExit, KeyboardInterrupt) as exc:
            return INTERRUPTED.format(type(exc).__name__)
        return None

    def _functions(self, opts, prof):
        """Register the -f expressions and -m modules with ``prof``."""
        ns = self.shell.user_ns
        for expr in opts.get("f", []):
            try:
                func = eval(expr, self.shell.user_global_ns, ns)
            except Exception as exc:  # noqa: BLE001 - the user's expression: any error
                raise UsageError(f"-f {expr}: {type(exc).__name__}: {exc}") from None
            if not prof.add_callable(func):
                raise UsageError(f"-f {expr}: not a Python function, method or class: {func!r}")
        for name in opts.get("m", []):
            try:
                module = __import__(name, fromlist=[""])
            except Exception as exc:  # noqa: BLE001 - importing runs the user's code
                raise UsageError(f"-m {name}: {type(exc).__name__}: {exc}") from None
            prof.add_module(module)

    def _under(self, prof, code):
        """Run ``code`` with ``prof`` as ``profile`` (builtins and
        profkit.profile), as %lprun and %mprun do."""
        from profkit import marking

        with marking.builtin_profile(prof), marking.line_profiler(prof):
            return self._run(prof, code)

    @staticmethod
    def _finish(text, opts, message, quiet=False, save=None, then=""):
        """Print ``text`` and ``message``, then save what -D and -T ask."""
        text = text.rstrip("\n") + "\n"
        if not quiet:
            print(text, end="")
        if message:
            print(message)
        dump = opts.get("D", [""])[-1]
        if dump and save is not None:
            save(dump)
            print(f"profkit: wrote {dump} ({then.format(dump)})")
        text_file = opts.get("T", [""])[-1]
        if text_file:
            from profkit.formats.atomic import write_atomic

            write_atomic(text_file, text.encode("utf-8"))
            print(f"profkit: wrote {text_file}")

    def _in_notebook(self):
        return getattr(self.shell, "kernel", None) is not None

    # -- the magics ------------------------------------------------------------------
    @line_cell_magic
    def pkfunc(self, line="", cell=None):
        """Run a statement (or a cell) under profkit's function profiler, as
        %prun:  %pkfunc [-s KEY]... [-l LIMIT]... [-r] [-q] [-T FILE] [-D FILE] stmt

        -s KEY    sort by KEY (repeatable: later keys break ties; default time)
        -l LIMIT  print only LIMIT rows (a count, a fraction, or a regular
                  expression on the function's name); repeatable
        -r        return the profile: a pstats.Stats with .table and .dump(path)
        -q        print nothing
        -T FILE   save the printed table;  -D FILE  save a pstats file
        """
        opts, arg_str = self.parse_options(line, "D:l:rs:T:q", list_all=True, posix=False)
        keys = tuple(_sort_key(k) for k in opts.get("s", ["time"]))
        limits = tuple(_limit(v) for v in opts.get("l", []))
        code = self._code(arg_str, cell)
        from profkit import report
        from profkit.funcprof import Profile

        prof = Profile()
        message = self._run(prof, code)
        table = prof.function_table()
        buf = io.StringIO()
        report.write(table, stream=buf, sort=keys, limits=limits)
        inline = "q" not in opts and self._in_notebook() and html_report(table) is not None
        from profkit.formats import pstats_io

        self._finish(buf.getvalue(), opts, message, quiet="q" in opts or inline,
                     save=lambda path: pstats_io.dump(table.stats, path),
                     then="read it with: python -m pstats {}")
        return FunctionStats(table) if "r" in opts or inline else None

    @line_cell_magic
    def pklines(self, line="", cell=None):
        """Line-by-line timing of chosen functions while a statement runs, as
        %lprun:  %pklines -f FUNC [-f FUNC]... [-m MODULE]... [-u UNIT] [-z] [-r]
                          [-T FILE] [-D FILE] stmt

        -f FUNC    an expression giving a function, method or class to profile
        -m MODULE  every function of MODULE
        -u UNIT    the report's time unit in seconds (default 1e-6)
        -z         leave out functions never called
        -r         return the profkit.LineProfiler
        -T FILE    save the printed report;  -D FILE  save a .lprof file
        Functions marked @profile in the statement are profiled too.
        """
        opts, arg_str = self.parse_options(line, "f:m:D:T:ru:z", list_all=True, posix=False)
        unit = _number(opts, "u", float, 1e-6, lambda v: v > 0, "the unit must be a positive number")
        code = self._code(arg_str, cell)
        from profkit import report
        from profkit.formats import lprof
        from profkit.lineprof import LineProfiler, code_label
        from profkit.report import text

        prof = LineProfiler()
        self._functions(opts, prof)
        message = self._under(prof, code)
        registered = [code_label(f.__code__) for f in prof.functions]
        stats = text.source_order(prof.get_stats(), registered)
        buf = io.StringIO()
        if stats.timings:
            report.write(stats, stream=buf, output_unit=unit, stripzeros="z" in opts, summarize=True)
        else:
            buf.write("profkit: no function was profiled: choose them with -f FUNC or -m MODULE\n")
        self._finish(buf.getvalue(), opts, message, save=lambda path: lprof.dump(stats, path),
                     then="show it again with: profkit show {}")
        return prof if "r" in opts else None

    @line_cell_magic
    def pkmem(self, line="", cell=None):
        """Line-by-line memory of chosen functions while a statement runs, as
        %mprun:  %pkmem -f FUNC [-f FUNC]... [-m MODULE]... [-b BACKEND] [-p N] [-r]
                        [-T FILE] [-D FILE] stmt

        -f FUNC     an expression giving a function, method or class to profile
        -m MODULE   every function of MODULE
        -b BACKEND  rss (memory_profiler's columns, the default), alloc (exact
                    bytes from the allocation hooks) or both
        -p N        decimals of the MiB figures (default 1)
        -r          return the profkit.LineMemoryProfiler
        -T FILE     save the printed report;  -D FILE  save it for profkit show
        """
        opts, arg_str = self.parse_options(line, "f:m:T:D:rb:p:", list_all=True, posix=False)
        precision = _number(opts, "p", int, 1, lambda v: 0 <= v <= 9, "a whole number from 0 to 9")
        backend = opts.get("b", ["rss"])[-1]
        from profkit import report
        from profkit.memprof import BACKENDS, LineMemoryProfiler, hints

        if backend not in BACKENDS:
            raise UsageError(f"-b {backend}: choose from {', '.join(BACKENDS)}")
        code = self._code(arg_str, cell)
        prof = LineMemoryProfiler(backend=backend)
        self._functions(opts, prof)
        message = self._under(prof, code)
        stats = prof.get_stats()
        buf = io.StringIO()
        if stats.functions:
            report.write(stats, stream=buf, precision=precision)
        elif prof.functions:
            buf.write("profkit: the profiled functions never ran\n")
        else:
            buf.write("profkit: no function was profiled: choose them with -f FUNC or -m MODULE\n")
        self._finish(buf.getvalue(), opts, message, save=stats.dump,
                     then="show it again with: profkit show {}")
        for hint in hints(stats):
            print(f"profkit: {hint}", file=sys.stderr)
        return prof if "r" in opts else None

    @line_cell_magic
    def pkmemit(self, line="", cell=None):
        """The peak memory of a statement, and its increment over the memory
        before it, as %memit:  %pkmemit [-r N] [-i S] [-c] [-o] [-q] stmt
        In a cell, the first line is setup (run, not measured) and the cell
        is measured.

        -r N  run it N times (default 1) and report the highest peak
        -i S  seconds between samples (default 0.01)
        -c    add the memory of child processes
        -o    return a MemitResult;  -q  print nothing
        """
        opts, stmt = self.parse_options(line, "r:i:coq", posix=False, strict=False)
        repeat = _number(opts, "r", int, 1, lambda v: v >= 1, "a whole number from 1")
        interval = _number(opts, "i", float, 0.01, lambda v: 0.0001 <= v <= 3600,
                           "seconds from 0.0001 to 3600")
        setup, stmt = ("pass", stmt) if cell is None else (stmt or "pass", cell)
        if not stmt.strip():
            raise UsageError("nothing to measure: give a statement, or a cell")
        import gc

        from profkit.memtime import memory_usage

        ns = self.shell.user_ns
        code = compile(self.shell.transform_cell(stmt), "<pkmemit>", "exec")
        exec(compile(self.shell.transform_cell(setup), "<pkmemit setup>", "exec"), ns)
        gc.collect()  # what earlier cells left for the collector is not the statement's
        children = "c" in opts
        baseline = memory_usage(-1, interval=interval, include_children=children)[0]
        usage = [memory_usage((exec, (code, ns)), interval=interval, max_usage=True,
                              include_children=children) for _ in range(repeat)]
        result = MemitResult(mem_usage=usage, baseline=baseline, repeat=repeat, timeout=None,
                             interval=interval, include_children=children)
        if "q" not in opts:
            print(result)
        return result if "o" in opts else None
