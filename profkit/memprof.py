"""Line-by-line memory: ``profkit mem`` and ``profkit.LineMemoryProfiler``.

The C line tracer runs in memory mode (see src/linetracer.h): occurrences as
memory_profiler counts them, RSS read from a kept /proc descriptor only when
it may have moved, and, with the ``alloc`` backend, exact byte counts from
hooks on Python's allocators and numpy's (src/alloctrack.c).

Every change of memory goes to one line: the open line of the innermost
profiled call.  So a line's figures include the functions it calls, except
the ones that are profiled themselves, whose lines carry their own.
"""
import types
import os
import sys

from profkit import _engine
from profkit.errors import ProfkitError
from profkit.lineprof import LineProfiler, code_label, last_line

__all__ = ["LineMemoryProfiler", "MemStats", "show_results", "BACKENDS"]

MIB = 1048576.0
_WRAPPER_FILE = sys.modules[LineProfiler.__module__].__file__  # its wrappers are no one's caller
BACKENDS = {"rss": 1, "alloc": 2, "both": 3}
FORMAT = "profkit-line-memory"


def _nested_codes(code):
    """Code objects defined inside ``code`` (comprehensions, lambdas, inner
    functions), which memory_profiler profiles with their enclosing function."""
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield const
            yield from _nested_codes(const)


class FuncMem:
    """The per-line figures of one profiled function (bytes)."""

    def __init__(self, filename, first_line, name, last, lines, caller=None, precision=None,
                 stream=None):
        self.filename = filename
        self.first_line = first_line
        self.name = name
        self.last = last
        # lineno -> [occurrences, increment, mem usage, allocated, net, peak]
        self.lines = lines
        self.caller = caller
        self.precision = precision
        self.stream = stream

    @property
    def calls(self):
        row = self.lines.get(self.first_line)
        return row[0] if row else 0

    def total(self, column):
        return sum(row[column] for row in self.lines.values())

    def to_json(self):
        return {"filename": self.filename, "first_line": self.first_line, "name": self.name,
                "last_line": self.last, "caller": self.caller,
                "lines": [[ln] + list(row) for ln, row in sorted(self.lines.items())]}

    @classmethod
    def from_json(cls, d):
        lines = {int(r[0]): [int(v) for v in r[1:7]] for r in d["lines"]}
        return cls(str(d["filename"]), int(d["first_line"]), str(d["name"]), int(d["last_line"]),
                   lines, d.get("caller"))


class MemStats:
    """What a LineMemoryProfiler measured: ``functions`` (FuncMem, in the
    order they were registered) and the ``backend`` that measured them."""

    def __init__(self, functions, backend):
        self.functions = functions
        self.backend = backend

    def show(self, stream=None, precision=1):
        show_results(self, stream=stream, precision=precision)

    def dump(self, path):
        import json

        from profkit.formats.atomic import write_atomic

        doc = {"format": FORMAT, "version": 1, "backend": self.backend,
               "functions": [f.to_json() for f in self.functions]}
        write_atomic(path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))

    @classmethod
    def load(cls, path):
        import json

        try:
            with open(path, "rb") as f:
                doc = json.loads(f.read().decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise ValueError("not a profkit memory report")
            if doc.get("backend") not in BACKENDS:
                raise ValueError(f"unknown backend {doc.get('backend')!r}")
            return cls([FuncMem.from_json(d) for d in doc["functions"]], doc["backend"])
        except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as exc:
            raise ProfkitError(f"profkit show: error: {path}: a damaged memory report ({exc})",
                               exit_code=1) from None


# ---- the report ----------------------------------------------------------------

def _mib(value, precision):
    return f"{value / MIB:{precision + 4}.{precision}f} MiB"


def show_results(stats, stream=None, precision=1):
    """memory_profiler's report: per function, ``Filename: ...`` and the
    columns ``Line #  Mem usage  Increment  Occurrences  Line Contents``; the
    ``alloc`` backend puts ``Allocated  Net  Peak`` in place of (``both``:
    beside) the RSS columns."""
    if isinstance(stats, LineMemoryProfiler):
        stats = stats.get_stats()
    default_stream = stream
    rss = stats.backend in ("rss", "both")
    alloc = stats.backend in ("alloc", "both")
    for func in stats.functions:
        out = func.stream or default_stream or sys.stdout
        prec = func.precision if func.precision is not None else precision
        heads = ["Line #"]
        if rss:
            heads += ["Mem usage", "Increment"]
        heads.append("Occurrences")
        if alloc:
            heads += ["Allocated", "Net", "Peak"]
        # memory_profiler's template: '{:>6} {:>12} {:>12}  {:>10}   {}'
        fmt = "{:>6}" + "".join(("  {:>10}" if h == "Occurrences" else " {:>12}") for h in heads[1:])
        fmt += "   {}"
        header = fmt.format(*heads, "Line Contents")
        out.write(f"Filename: {func.filename}\n\n")
        out.write(header + "\n")
        out.write("=" * len(header) + "\n")
        source = source_lines(func.filename)
        for lineno in range(func.first_line, func.last + 1):
            text = source[lineno - 1].rstrip("\n") if 0 < lineno <= len(source) else ""
            row = func.lines.get(lineno)
            cells = [str(lineno)]
            if row is None:
                cells += [""] * (len(heads) - 1)
            else:
                occ, inc, mem, allocated, net, peak = row
                if rss:
                    cells += [_mib(mem, prec), _mib(inc, prec)]
                cells.append(str(occ))
                if alloc:
                    cells += [_mib(allocated, prec), _mib(net, prec), _mib(peak, prec)]
            out.write(fmt.format(*cells, text).rstrip() + "\n")
        out.write("\n\n")
        if out is not default_stream and hasattr(out, "flush"):
            out.flush()


def source_lines(filename):
    """The lines of a source file, as linecache gives them, without loading
    tokenize for the usual UTF-8 file."""
    try:
        with open(filename, "rb") as f:
            return f.read().decode("utf-8").splitlines(True)
    except UnicodeDecodeError:
        import linecache  # a PEP 263 coding line: let it find the encoding

        return linecache.getlines(filename)
    except OSError:
        return []


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
    def get_stats(self):
        merged = {}
        for code, rows in self._tracer._memstats():
            top = self._toplevel.get(code, code)
            table = merged.setdefault(top, {})
            for lineno, occ, inc, mem, alloc, net, peak in rows:
                cur = table.get(lineno)
                if cur is None:
                    table[lineno] = [occ, inc, mem, alloc, net, peak]
                else:
                    cur[0] += occ
                    cur[1] += inc
                    cur[2] = max(cur[2], mem)
                    cur[3] += alloc
                    cur[4] += net
                    cur[5] = max(cur[5], peak)
        callers = {self._toplevel.get(code, code): who for code, who in self._tracer._callers()}
        functions = []
        for code, table in merged.items():
            if not table:
                continue
            filename, first, name = code_label(code)
            precision, stream = self._options.get(code, (None, None))
            caller = list(callers[code]) if code in callers else None
            functions.append(FuncMem(filename, first, name, last_line(code), table,
                                     caller=caller, precision=precision, stream=stream))
        return MemStats(functions, self.backend)

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


# ---- what a script sees under `profkit mem` ------------------------------------------

class ScriptProfile:
    """``profile`` under ``profkit mem``: memory_profiler's decorator, with
    its ``stream=`` and ``precision=``, registering functions with one
    profiler for the whole run.  ``wrap``: also switch the tracer on only
    while a marked function runs (the legacy hook slows every call)."""

    def __init__(self, prof, wrap=False):
        self._prof = prof
        self._wrap = wrap

    def __call__(self, func=None, stream=None, precision=None, backend=None):
        if func is None:
            return lambda f: self(f, stream=stream, precision=precision, backend=backend)
        self._prof.add_callable(func)
        if stream is not None or precision is not None:
            self._prof.set_options(func, precision=precision, stream=stream)
        return self._prof.wrap_callable(func) if self._wrap else func

    def __getattr__(self, name):
        return getattr(self._prof, name)


def shim_module(script_profile):
    """A stand-in ``memory_profiler`` module for scripts that import its
    decorator, so they run unchanged under ``profkit mem``."""
    import types

    def memory_usage(*args, **kwargs):
        from profkit.memtime import memory_usage as real

        return real(*args, **kwargs)

    mod = types.ModuleType("memory_profiler")
    mod.__doc__ = "profkit's stand-in for memory_profiler under `profkit mem`."
    mod.profile = script_profile
    mod.LineProfiler = LineMemoryProfiler
    mod.show_results = show_results
    mod.memory_usage = memory_usage
    mod.__profkit__ = True
    return mod
