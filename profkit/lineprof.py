"""profkit.LineProfiler: a drop-in for line_profiler.LineProfiler on
profkit's C line tracer, and how ``profkit lines`` arms it for a script
(``ScriptLineProfiler``, ``whole_run``, ``run_script``).

Hits follow line_profiler exactly: a line is hit when its interval ends at
the next event of the same frame, and its time runs from its line event to
that next event, callees included.  Time while a generator or coroutine is
suspended is charged to no line.  Several profilers can be on at once, each
with its own counts (src/linetracer.h).  What is registered and wrapped for
each kind of callable, class and module is ``profkit.linewrap``'s; the
function wrappers themselves are here (``LineProfiler._wrapper``).
"""
import functools
from _thread import _local, allocate_lock  # threading's own primitives, without importing it

from profkit import _engine, linewrap
from profkit.linewrap import CO_ASYNC_GENERATOR, CO_COROUTINE, CO_GENERATOR, _code_flag
from profkit.runcode import RunsCode

__all__ = ["LineProfiler", "LineStats", "ScriptLineProfiler", "code_label", "last_line",
           "profile_script", "run_script", "whole_run"]

UNIT = 1e-9  # stored times are nanoseconds
unwrap_callable = linewrap.functions  # the plain functions behind a callable (selection, memscript)


def __getattr__(name):
    # The .lprof format (and pickle) loads only when results are made.
    if name == "LineStats":
        from profkit.formats.lprof import LineStats

        return LineStats
    raise AttributeError(f"module 'profkit.lineprof' has no attribute {name!r}")


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


# The last step of a wrapped generator (or async generator) that its
# consumer closes: g's clean-up is its own time too.
def _close(g):
    g.close()
    raise StopIteration  # the wrapper returns


async def _aclose(g):
    await g.aclose()
    raise StopAsyncIteration  # the wrapper returns


class _Tracer(_engine.LineTracer):
    """The engine's line tracer, with the options its hook reads at each
    enable() (src/linetracer.h).  They are class attributes, so they hold
    for every profiler of the process, as line_profiler's do:
    ``wrap_trace``: on the legacy hook, a trace function already installed
    (coverage, a debugger) goes on getting every event; else it is
    suspended while profiling, and given back after, in both cases.
    ``set_frame_local_trace``: on the legacy hook, each profiled frame
    gets the hook as its f_trace, so that code that saves, clears and
    restores sys.settrace resumes line events at once."""
    __slots__ = ()
    wrap_trace = True
    set_frame_local_trace = False


def _legacy_hook():
    return _engine.backend() == "legacy"  # the same rule for both tracers: PROFKIT_BACKEND


class LineProfiler(RunsCode):
    """LineProfiler(*functions, wrap_trace=None, set_frame_local_trace=None, all_threads=True)

    Profile the lines of the given functions.  ``add_function``,
    ``add_callable``, ``add_module`` and ``add_class`` register more; using
    the profiler as a decorator registers the function and turns profiling
    on while it runs (``enable_by_count``), like line_profiler's.  Several
    profilers can be on at once, and one function can be registered with
    several: each keeps its own counts.  ``wrap_trace`` and
    ``set_frame_local_trace`` are line_profiler 5's (see ``_Tracer``); None
    keeps the process-wide value (True and False by default).
    """

    def __init__(self, *functions, wrap_trace=None, set_frame_local_trace=None, all_threads=True):
        self._tracer = _Tracer(all_threads=all_threads)
        self._all_threads = all_threads
        self._lock = allocate_lock()
        self._local = _local()
        self._count = 0
        self.functions = []
        self.timer_unit = UNIT
        if wrap_trace is not None:
            self.wrap_trace = wrap_trace
        if set_frame_local_trace is not None:
            self.set_frame_local_trace = set_frame_local_trace
        for f in functions:
            self.add_callable(f)

    # -- the hook's options (process-wide) ----------------------------------------
    @property
    def wrap_trace(self):
        return _Tracer.wrap_trace

    @wrap_trace.setter
    def wrap_trace(self, value):
        _Tracer.wrap_trace = bool(value)

    @property
    def set_frame_local_trace(self):
        """As line_profiler's: always False under sys.monitoring, which has
        no frame-local trace functions."""
        return _Tracer.set_frame_local_trace and _legacy_hook()

    @set_frame_local_trace.setter
    def set_frame_local_trace(self, value):
        _Tracer.set_frame_local_trace = bool(value)

    # -- registration ------------------------------------------------------
    def add_code(self, code):
        """Register a code object; True when it was new."""
        return self._tracer.add_code(code, last_line(code))

    def add_function(self, func):
        """Register one function (line_profiler returns None here too)."""
        self.add_callable(func)

    def add_callable(self, func, guard=None, name=None):
        """Register the functions behind ``func`` (methods, properties,
        partials, classes, decorated functions...) but those ``guard``
        rejects; 1 if any, else 0.  ``name`` (line_profiler's, for its log)
        is accepted."""
        added = 0
        for f in linewrap.functions(func):
            if guard is not None and guard(f):
                continue
            if self.add_code(f.__code__):
                self.functions.append(f)
            added = 1
        return added

    def add_class(self, cls, *, scoping_policy=None, wrap=False):
        """Register what ``cls`` defines (its methods, and its nested classes
        as ``scoping_policy`` says, line_profiler's); with ``wrap``, replace
        them by profiling wrappers.  Returns how many members were added."""
        return linewrap.add_namespace(self, cls, linewrap.policies(scoping_policy), wrap)

    def add_module(self, mod, *, scoping_policy=None, wrap=False):
        """Register what ``mod`` defines, not what it imported (line_profiler's
        scoping policies: by default its functions and classes and those of
        its package); with ``wrap``, replace them by profiling wrappers.
        Returns how many members were added."""
        return linewrap.add_namespace(self, mod, linewrap.policies(scoping_policy), wrap)

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
        """Register ``func`` and return a wrapper of the same kind that
        profiles while it runs (see ``wrap_callable``)."""
        self.add_callable(func)
        return self.wrap_callable(func)

    def wrap_callable(self, func):
        """A wrapper that profiles while ``func`` runs, of ``func``'s kind
        (generators and async generators: while each step runs, so the
        consumer's time is not the generator's); see profkit.linewrap."""
        return linewrap.wrap(self, func)

    def _wrapper(self, func):
        """The function wrapper of ``func`` (here, so that memory reports
        skip these frames when they look for a caller: memprof)."""
        on, off = self.enable_by_count, self.disable_by_count
        if _code_flag(func, CO_ASYNC_GENERATOR):
            @functools.wraps(func)
            async def agen_wrapper(*args, **kwds):
                g = func(*args, **kwds)
                step, value = g.asend, None  # each step of the generator runs profiled
                while True:
                    on()
                    try:
                        item = await step(value)
                    except StopAsyncIteration:
                        return
                    finally:
                        off()
                    try:
                        value = yield item
                        step = g.asend
                    except GeneratorExit:  # closed: the last step closes g, on the clock
                        step, value = _aclose, g
                    except BaseException as exc:  # noqa: BLE001 - forwarded into the generator
                        step, value = g.athrow, exc
            return agen_wrapper
        if _code_flag(func, CO_GENERATOR):
            @functools.wraps(func)
            def gen_wrapper(*args, **kwds):
                g = func(*args, **kwds)
                step, value = g.send, None  # the first step: g.send(None) is next(g)
                while True:
                    on()
                    try:
                        item = step(value)
                    except StopIteration as stop:
                        return stop.value
                    finally:
                        off()
                    try:
                        value = yield item
                        step = g.send
                    except GeneratorExit:  # closed: the last step closes g, on the clock
                        step, value = _close, g
                    except BaseException as exc:  # noqa: BLE001 - forwarded into the generator
                        step, value = g.throw, exc
            return gen_wrapper
        if _code_flag(func, CO_COROUTINE):
            @functools.wraps(func)
            async def coro_wrapper(*args, **kwds):
                on()
                try:
                    return await func(*args, **kwds)
                finally:
                    off()
            return coro_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwds):
            on()
            try:
                return func(*args, **kwds)
            finally:
                off()
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
                    summarize=False, sort=False, rich=False, *, config=None):
        """Print line_profiler's report.  ``rich`` is accepted and ignored
        (the report is plain text); ``config``, line_profiler's TOML file,
        is refused: pass the options themselves."""
        if config not in (None, False, True):
            raise ValueError(f"print_stats(config={config!r}): profkit reads no line_profiler "
                             "configuration file; pass output_unit, stripzeros, details, "
                             "summarize or sort instead")
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

    def __enter__(self):  # `with profile:` as kernprof's profile allows
        self._lp.enable_by_count()
        return self

    def __exit__(self, *exc_info):
        self._lp.disable_by_count()

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
    # by count, so that the script's own `with profile:` or
    # enable_by_count()/disable_by_count() pairs nest inside the run's
    start, stop = (prof.enable_by_count, prof.disable_by_count) if whole else (None, None)
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
