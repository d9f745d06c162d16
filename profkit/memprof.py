"""Line-by-line memory: ``profkit mem`` and ``profkit.LineMemoryProfiler``.

The C line tracer runs in memory mode (see src/linetracer.h): occurrences as
memory_profiler counts them, RSS read from a kept /proc descriptor only when
it may have moved, and, with the ``alloc`` backend, exact byte counts from
hooks on Python's allocators and numpy's (src/alloctrack.c).

Every change of memory goes to one line: the open line of the innermost
profiled call.  So a line's figures include the functions it calls, except
the ones that are profiled themselves, whose lines carry their own.
"""
import os
import sys
import types

from profkit import _engine
from profkit.lineprof import LineProfiler, code_label, last_line
from profkit.report.model import FunctionMemory, MemoryTable
from profkit.report.text import MIB, source_lines

__all__ = ["LineMemoryProfiler", "MemStats", "FuncMem", "show_results", "BACKENDS", "hints",
           "merge_rows", "merge_tables"]

_WRAPPER_FILE = sys.modules[LineProfiler.__module__].__file__  # its wrappers are no one's caller
BACKENDS = {"rss": 1, "alloc": 2, "both": 3}
FuncMem = FunctionMemory  # the per-line figures of one function (report/model.py)


def _nested_codes(code):
    """Code objects defined inside ``code`` (comprehensions, lambdas, inner
    functions), which memory_profiler profiles with their enclosing function."""
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield const
            yield from _nested_codes(const)


class MemStats(MemoryTable):
    """What a LineMemoryProfiler measured: ``functions`` (FuncMem, in the
    order they were registered) and the ``backend`` that measured them."""

    def show(self, stream=None, precision=1):
        show_results(self, stream=stream, precision=precision)

    def dump(self, path):
        from profkit.formats import linemem

        linemem.dump(self, path)

    @classmethod
    def load(cls, path):
        """Read a saved report; ValueError (one line) when it is damaged."""
        from profkit.formats import linemem

        return linemem.load(path, cls)


def show_results(stats, stream=None, precision=1):
    """memory_profiler's report of a LineMemoryProfiler or its MemStats (see
    report/text.py)."""
    from profkit import report

    if isinstance(stats, LineMemoryProfiler):
        stats = stats.get_stats()
    report.write(stats, stream=stream, precision=precision)


def hints(stats):
    """The tutorial's pitfall: a profiled function that builds memory and
    returns it tells little, because its caller is where the memory stays.
    One line per such function whose caller is not profiled."""
    out = []
    column = 4 if stats.backend in ("alloc", "both") else 1
    profiled = {f.name.rsplit(".", 1)[-1] for f in stats.functions}
    for func in stats.functions:
        if not func.caller:
            continue
        cname, cfile, cline = func.caller
        if cname in profiled:
            continue
        source = source_lines(func.filename)
        handed = sum(row[column] for ln, row in func.lines.items()
                     if 0 < ln <= len(source) and source[ln - 1].lstrip().startswith(("return", "yield")))
        if handed < MIB:
            continue
        calls = func.calls
        what = "allocated" if column == 4 else "added to RSS"
        out.append(f"hint: {func.name} returned what it {what}, {handed / MIB:.1f} MiB over {calls} "
                   f"call{'s' if calls != 1 else ''}, to its caller {cname} "
                   f"({os.path.basename(cfile)}:{cline}), which is not profiled: profile {cname} "
                   f"(@profile or -f {cname}) to see which of its lines keeps it.")
    return out


def merge_rows(table, rows):
    """Add ``rows`` ((line, row) pairs) into ``table`` ({line: row}):
    counts and sums add up, the two maxima (mem usage, peak) keep the
    larger."""
    for lineno, row in rows:
        cur = table.get(lineno)
        if cur is None:
            table[lineno] = list(row)
            continue
        occ, inc, mem, alloc, net, peak = row
        cur[0] += occ
        cur[1] += inc
        cur[2] = max(cur[2], mem)
        cur[3] += alloc
        cur[4] += net
        cur[5] = max(cur[5], peak)


def merge_tables(into, tables):
    """merge_rows for each function of ``tables`` ({code: {line: row}})."""
    for code, rows in tables.items():
        merge_rows(into.setdefault(code, {}), rows.items())


# ---- numpy ------------------------------------------------------------------------

def _numpy_api():
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        mod = sys.modules.get(name)
        if mod is not None and hasattr(mod, "_ARRAY_API"):
            return mod._ARRAY_API
    return None


def _numpy_new_enough():
    np = sys.modules.get("numpy")
    try:
        major, minor = (int(x) for x in np.__version__.split(".")[:2])
    except (AttributeError, ValueError):
        return False
    return (major, minor) >= (1, 22)


class _NumpyWatcher:
    """A sys.meta_path finder that hooks numpy's data allocations as soon as
    numpy has been imported.  (No importlib.abc base: importing it costs more
    than the rest of this module.)"""

    def __init__(self, on_import):
        self._on_import = on_import

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "numpy":
            return None
        import importlib.util

        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        on_import = self._on_import

        class _Loader:
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                on_import()

        spec.loader = _Loader()
        return spec


# ---- the profiler -------------------------------------------------------------------

class LineMemoryProfiler(LineProfiler):
    """LineMemoryProfiler(*functions, backend="rss")

    memory_profiler's ``LineProfiler`` on profkit's C tracer.  Register
    functions with ``add_function`` (or as a decorator, or with the
    constructor), run them, then ``print_stats()`` / ``show_results(prof)``
    print memory_profiler's report and ``get_stats()`` gives the numbers.
    ``backend``: ``"rss"`` (memory_profiler's columns), ``"alloc"`` (exact
    bytes from the allocation hooks) or ``"both"``.
    """

    def __init__(self, *functions, backend="rss"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: choose from rss, alloc, both")
        self.backend = backend
        self._toplevel = {}   # code -> the registered function's code it belongs to
        self._options = {}    # toplevel code -> (precision, stream)
        self._folded = {}     # toplevel code -> {line: row}: counted before the last fold()
        self.each_call = set()  # toplevel codes reported at the end of each call (memscript)
        self._watcher = None
        super().__init__(all_threads=True)
        self._tracer = _engine.LineTracer(all_threads=True, memory=BACKENDS[backend])
        _engine._hide_caller_file(_WRAPPER_FILE)
        for f in functions:
            self.add_callable(f)

    def add_code(self, code):
        if code in self._toplevel:
            return False
        self._tracer.add_code(code, last_line(code))
        self._toplevel[code] = code
        for sub in _nested_codes(code):
            if sub not in self._toplevel:
                self._tracer.add_code(sub, last_line(sub))
                self._toplevel[sub] = code
        return True

    def set_options(self, func, precision=None, stream=None):
        """Per-function report options (memory_profiler's ``profile(func,
        stream=, precision=)``)."""
        import inspect

        code = getattr(inspect.unwrap(func), "__code__", None)
        if code is not None:
            self._options[code] = (precision, stream)

    # -- switching: numpy's allocations follow the tracer -------------------------
    def enable(self):
        super().enable()
        # numpy's buffers: exact bytes for `alloc`, and for `rss` a sign
        # that RSS may have moved
        self._hook_numpy()
        if "numpy" not in sys.modules and self._watcher is None:
            self._watcher = _NumpyWatcher(self._hook_numpy)
            sys.meta_path.insert(0, self._watcher)

    def enable_by_count(self):
        with self._lock:
            if self._count == 0:
                self.enable()
            self._count += 1

    def disable_by_count(self):
        with self._lock:
            if self._count > 0:
                self._count -= 1
                if self._count == 0:
                    self.disable()

    def disable(self):
        if self._watcher is not None:
            try:
                sys.meta_path.remove(self._watcher)
            except ValueError:
                pass
            self._watcher = None
        super().disable()

    def _hook_numpy(self):
        if not self._tracer.enabled or "numpy" not in sys.modules or not _numpy_new_enough():
            return
        api = _numpy_api()
        if api is not None:
            try:
                _engine.alloc_hook_numpy(api)
            except RuntimeError as exc:
                print(f"profkit mem: warning: numpy's allocations are not tracked: {exc}",
                      file=sys.stderr)

    # -- results ---------------------------------------------------------------------
    def counted(self):
        """What the tracer counted since the last fold(): {toplevel code:
        {line: [occurrences, increment, mem usage, allocated, net, peak]}},
        nested code merged into the function that holds it."""
        merged = {}
        for code, rows in self._tracer._memstats():
            table = merged.setdefault(self._toplevel.get(code, code), {})
            merge_rows(table, ((lineno, row) for lineno, *row in rows))
        return merged

    def fold(self):
        """Move what the tracer counted so far into the running totals and
        zero its counters, so that what it counts from now on can be told
        apart (memscript: one call's figures).  Returns what was moved."""
        counted = self.counted()
        self._tracer.reset()
        merge_tables(self._folded, counted)
        return counted

    def reset(self):
        """Zero every counter; registrations stay."""
        self._folded = {}
        self._tracer.reset()

    def function_memory(self, code, table, callers=None):
        """A FuncMem for the registered function of ``code`` with the figures
        ``table`` ({line: row})."""
        filename, first, name = code_label(code)
        precision, stream = self._options.get(code, (None, None))
        caller = list(callers[code]) if callers and code in callers else None
        return FuncMem(filename, first, name, last_line(code), table,
                       caller=caller, precision=precision, stream=stream)

    def get_stats(self, each_call=True):
        """MemStats of every function that ran; ``each_call=False`` leaves
        out those already reported at the end of each call."""
        merged = {code: {ln: list(row) for ln, row in table.items()}
                  for code, table in self._folded.items()}
        merge_tables(merged, self.counted())
        callers = {self._toplevel.get(code, code): who for code, who in self._tracer._callers()}
        return MemStats([self.function_memory(code, table, callers)
                         for code, table in merged.items()
                         if table and (each_call or code not in self.each_call)], self.backend)

    @property
    def code_map(self):
        """memory_profiler's shape: {code: {lineno: (increment MiB, mem MiB,
        occurrences)}} for each registered function (nested code merged)."""
        out = {}
        stats = {(f.filename, f.first_line, f.name): f for f in self.get_stats().functions}
        for code, top in self._toplevel.items():
            if code is not top:
                continue
            f = stats.get(code_label(code))
            out[code] = {ln: (row[1] / MIB, row[2] / MIB, row[0])
                         for ln, row in sorted(f.lines.items())} if f else {}
        return out

    def print_stats(self, stream=None, precision=1):
        show_results(self.get_stats(), stream=stream, precision=precision)

    def dump_stats(self, filename):
        self.get_stats().dump(filename)


def __getattr__(name):
    # What a script sees under `profkit mem` lives in memscript.py, which
    # loads only when a script is run.
    if name in ("ScriptProfile", "shim_module", "profile_script"):
        from profkit import memscript

        return getattr(memscript, name)
    raise AttributeError(f"module 'profkit.memprof' has no attribute {name!r}")
