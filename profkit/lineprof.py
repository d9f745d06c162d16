"""profkit.LineProfiler: a drop-in for line_profiler.LineProfiler on
profkit's C line tracer, and how ``profkit lines`` arms it for a script
(``ScriptLineProfiler``, ``whole_run``, ``run_script``).

Hits follow line_profiler exactly: a line is hit when its interval ends at
the next event of the same frame, and its time runs from its line event to
that next event, callees included.  Time while a generator or coroutine is
suspended is charged to no line.
"""
import functools
import types
from _thread import _local, allocate_lock  # threading's own primitives, without importing it

from profkit import _engine
from profkit.runcode import RunsCode

__all__ = ["LineProfiler", "LineStats", "ScriptLineProfiler", "code_label", "last_line",
           "profile_script", "run_script", "whole_run"]

UNIT = 1e-9  # stored times are nanoseconds
CO_GENERATOR = 0x20
CO_COROUTINE = 0x80


def __getattr__(name):
    # The .lprof format (and pickle) loads only when results are made.
    if name == "LineStats":
        from profkit.formats.lprof import LineStats

        return LineStats
    raise AttributeError(f"module 'profkit.lineprof' has no attribute {name!r}")


def _code_flag(func, flag):
    # inspect.isgeneratorfunction / iscoroutinefunction without importing
    # inspect (which costs more than this whole module): look through
    # methods and partials at the function's code flags.
    while True:
        if isinstance(func, types.MethodType):
            func = func.__func__
        elif isinstance(func, functools.partial):
            func = func.func
        else:
            break
    return isinstance(func, types.FunctionType) and bool(func.__code__.co_flags & flag)


def code_label(code):
    """line_profiler's key: (filename, first line, qualified name on 3.11+)."""
    name = getattr(code, "co_qualname", code.co_name)
    return (code.co_filename, code.co_firstlineno, name)


def last_line(code):
    """The last source line that has bytecode in ``code``."""
    if hasattr(code, "co_lines"):
        lines = [ln for _, _, ln in code.co_lines() if ln is not None]
    else:
        import dis  # 3.9: no co_lines

        lines = [ln for _, ln in dis.findlinestarts(code)]
    return max(lines, default=code.co_firstlineno)


def unwrap_callable(obj):
    """The plain functions behind ``obj``: decorated functions (through
    ``__wrapped__``), methods, static and class methods, properties,
    partials, and every function defined in a class."""
    seen = set()
    out = []

    def visit(o):
        if id(o) in seen:
            return
        seen.add(id(o))
        if isinstance(o, (staticmethod, classmethod)):
            visit(o.__func__)
        elif isinstance(o, property):
            for f in (o.fget, o.fset, o.fdel):
                if f is not None:
                    visit(f)
        elif isinstance(o, functools.partial):
            visit(o.func)
        elif isinstance(o, functools.cached_property):
            visit(o.func)
        elif isinstance(o, types.MethodType):
            visit(o.__func__)
        elif isinstance(o, type):
            for member in vars(o).values():
                if isinstance(member, (staticmethod, classmethod, property, functools.cached_property)) \
                        or isinstance(member, types.FunctionType):
                    visit(member)
        elif isinstance(o, types.FunctionType):
            inner = getattr(o, "__wrapped__", None)
            if inner is not None and callable(inner):
                visit(inner)  # the user's function, not the decorator's wrapper
            else:
                out.append(o)

    visit(obj)
    return out


class LineProfiler(RunsCode):
    """LineProfiler(*functions, all_threads=True)

    Profile the lines of the given functions.  ``add_function``,
    ``add_callable``, ``add_module`` and ``add_class`` register more; using
    the profiler as a decorator registers the function and turns profiling
    on while it runs (``enable_by_count``), like line_profiler's.
    """

    def __init__(self, *functions, all_threads=True):
        self._tracer = _engine.LineTracer(all_threads=all_threads)
        self._all_threads = all_threads
        self._lock = allocate_lock()
        self._local = _local()
        self._count = 0
        self.functions = []
        self.timer_unit = UNIT
        for f in functions:
            self.add_callable(f)

    # -- registration ------------------------------------------------------
    def add_code(self, code):
        """Register a code object; True when it was new."""
        return self._tracer.add_code(code, last_line(code))

    def add_function(self, func):
        """Register one function (line_profiler returns None here too)."""
        self.add_callable(func)

    def add_callable(self, func):
        """Register the functions behind ``func``; 1 if any, else 0."""
        added = 0
        for f in unwrap_callable(func):
            code = getattr(f, "__code__", None)
            if code is None:
                continue
            if self.add_code(code):
                self.functions.append(f)
            added = 1
        return added

    def add_class(self, cls):
        """Register every function defined in ``cls``; returns how many."""
        return sum(self.add_callable(m) for m in _members(cls, cls.__module__))

    def add_module(self, mod):
        """Register every function and class method defined in ``mod``;
        returns how many callables were added."""
        count = 0
        for member in _members(mod, mod.__name__):
            if isinstance(member, type):
                count += self.add_class(member)
            else:
                count += self.add_callable(member)
        return count

    # -- switching ----------------------------------------------------------
    def enable(self):
        self._tracer.enable()

    def disable(self):
        self._tracer.disable()

    @property
    def enable_count(self):
        """How many enable_by_count() calls are open: in this thread when
        each thread switches itself (all_threads=False), else in all."""
        if self._all_threads:
            return self._count
        return getattr(self._local, "count", 0)

    def enable_by_count(self):
        if not self._all_threads:  # per thread, as line_profiler counts
            count = getattr(self._local, "count", 0)
            if count == 0:
                self._tracer.enable()
            self._local.count = count + 1
            return
        with self._lock:
            if self._count == 0:
                self._tracer.enable()
            self._count += 1

    def disable_by_count(self):
        if not self._all_threads:
            count = getattr(self._local, "count", 0)
            if count > 0:
                self._local.count = count - 1
                if count == 1:
                    self._tracer.disable()
            return
        with self._lock:
            if self._count > 0:
                self._count -= 1
                if self._count == 0:
                    self._tracer.disable()

    # run, runctx, runcall and `with` (RunsCode) nest like the decorator
    def _on(self):
        self.enable_by_count()

    def _off(self):
        self.disable_by_count()

    # -- decorator ----------------------------------------------------------
    def __call__(self, func):
        self.add_callable(func)
        return self.wrap_callable(func)

    def wrap_callable(self, func):
        """A wrapper that profiles while ``func`` runs (generators: while each
        step runs, so the consumer's time is not the generator's)."""
        if _code_flag(func, CO_GENERATOR):
            @functools.wraps(func)
            def gen_wrapper(*args, **kwds):
                g = func(*args, **kwds)
                step, value = g.send, None  # the first step: g.send(None) is next(g)
                while True:
                    self.enable_by_count()
                    try:
                        item = step(value)
                    except StopIteration as stop:
                        return stop.value
                    finally:
                        self.disable_by_count()
                    try:
                        value = yield item
                        step = g.send
                    except GeneratorExit:
                        g.close()
                        raise
                    except BaseException as exc:  # noqa: BLE001 - forwarded into the generator
                        step, value = g.throw, exc
            return gen_wrapper
        if _code_flag(func, CO_COROUTINE):
            @functools.wraps(func)
            async def coro_wrapper(*args, **kwds):
                self.enable_by_count()
                try:
                    return await func(*args, **kwds)
                finally:
                    self.disable_by_count()
            return coro_wrapper
        if not (isinstance(func, types.FunctionType) or isinstance(func, types.MethodType)):
            return func  # classes, properties...: registered, left as they are

        @functools.wraps(func)
        def wrapper(*args, **kwds):
            self.enable_by_count()
            try:
                return func(*args, **kwds)
            finally:
                self.disable_by_count()
        return wrapper

    # -- results --------------------------------------------------------------
    def get_stats(self):
        """LineStats: ``timings`` {(file, first line, name): [(lineno, hits,
        ns)]} for every registered function, ``unit`` 1e-9."""
        timings = {}
        for code, lines in self._tracer._rawstats():
            key = code_label(code)
            if key in timings:  # two code objects with one label: merge
                merged = {ln: [h, t] for ln, h, t in timings[key]}
                for ln, h, t in lines:
                    cur = merged.setdefault(ln, [0, 0])
                    cur[0] += h
                    cur[1] += t
                lines = [(ln, h, t) for ln, (h, t) in sorted(merged.items())]
            timings[key] = lines
        from profkit.formats.lprof import LineStats

        return LineStats(timings, UNIT)

    def print_stats(self, stream=None, output_unit=None, stripzeros=False, details=True,
                    summarize=False, sort=False, rich=False):
        """Print line_profiler's report (``rich`` is accepted and ignored)."""
        self.get_stats().print(stream=stream, output_unit=output_unit, stripzeros=stripzeros,
                               details=details, summarize=summarize, sort=sort)

    def dump_stats(self, filename):
        """Save a .lprof file (atomically) that ``profkit show`` and
        ``python -m line_profiler`` read."""
        from profkit.formats import lprof

        lprof.dump(self.get_stats(), filename)

    def reset(self):
        """Zero every counter; registrations stay."""
        self._tracer.reset()


def _members(container, module_name):
    """Functions and classes defined in ``container`` (a module or class) itself."""
    out = []
    for member in vars(container).values():
        target = member
        if isinstance(member, (staticmethod, classmethod)):
            target = member.__func__
        elif isinstance(member, property):
            target = member.fget
        if target is None:
            continue
        if (isinstance(target, types.FunctionType) or isinstance(target, type)) and \
                getattr(target, "__module__", None) == module_name:
            out.append(member)
    return out


# ---- a script under `profkit lines` ------------------------------------------


class ScriptLineProfiler:
    """The ``profile`` a script sees under ``profkit lines``: kernprof's
    decorator and profiler object in one.  When the line tracer is on for the
    whole run the decorator only registers the function and returns it
    unchanged; otherwise (``wrap``) it also wraps it to switch the tracer on
    while it runs."""

    def __init__(self, wrap=False):
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


def whole_run(selector):
    """Whether a script's line tracer stays on for the whole run.

    With sys.monitoring the tracer costs nothing outside the registered
    functions, so it does, and ``@profile`` needs no wrapper.  The legacy
    trace hook slows every call, so there, unless functions were chosen by
    name (``selector.active``), it is on only while a ``@profile`` function
    runs, as under kernprof.  The same rule serves ``profkit mem``.
    """
    return _engine.backend() == "monitoring" or selector.active


def run_script(target, prof, marker, selector, whole):
    """Run ``target`` (see runner) as ``__main__`` with ``marker`` as its
    ``profile`` (in builtins and behind ``profkit.profile``), registering
    the functions ``selector`` chooses with ``prof`` as their code loads.
    ``prof`` is on for the whole run when ``whole``, else only while marked
    functions run (``marker`` wraps them).  Returns the runner's Outcome."""
    from profkit import marking, runner

    selector.profiler = prof
    selector.scan_code(target.code, "__main__", is_script=True)
    selector.install()
    start, stop = (prof.enable, prof.disable) if whole else (None, None)
    with marking.line_profiler(marker), marking.builtin_profile(marker):
        try:
            return runner.run_target(target, start, stop)
        finally:
            selector.uninstall()
            while prof.enable_count:  # a marked call left open by os._exit-like paths or a thread
                prof.disable_by_count()


def profile_script(target, selector):
    """``profkit lines``: run ``target`` under a ScriptLineProfiler armed
    for this Python; returns (profiler, outcome)."""
    whole = whole_run(selector)
    prof = ScriptLineProfiler(wrap=not whole)
    return prof, run_script(target, prof, prof, selector, whole)
