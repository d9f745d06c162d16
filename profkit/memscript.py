"""memory_profiler's ``profile`` where scripts use it.

Under ``profkit mem`` a script sees ``ScriptProfile`` as ``profile``: in
builtins (as ``python -m memory_profiler`` puts it there), behind
``from profkit import profile``, and behind ``from memory_profiler import
profile`` (the stand-in module of ``shim_module``).  It registers functions
with the run's one ``LineMemoryProfiler``, whose report prints once, at the
end of the run, as ``python -m memory_profiler`` prints it; and ``with
profile:`` switches profiling on for a block, as memory_profiler's profiler
does: the registered functions that run inside it are profiled (the block's
own lines are not: it is not a function).

A function marked with its own ``stream=`` is reported to that stream at the
end of each call instead, as memory_profiler's ``profile(func, stream=,
precision=)`` does: the stream is the program's, which may read it back or
close it before the run ends.  ``profile`` here is that decorator for plain
python: each call is profiled and its table printed when it returns.

One line tracer runs at a time, so all marked functions share one profiler;
a call's own figures are told apart by folding the counters at its start
(``LineMemoryProfiler.fold``): what was counted before goes to the running
totals, and the counters restart at zero.  A reported call nested in
another one folds again, and the outer call adds up what each fold took
from it; a recursive call is part of the outermost one.  (Another thread's
line that ends between a fold's read and its reset is lost: a few
occurrences at most, and only in runs with reported calls.)
"""
import functools
import sys
import types

from profkit.lineprof import CO_COROUTINE, CO_GENERATOR, _code_flag, unwrap_callable
from profkit.memprof import LineMemoryProfiler, MemStats, merge_tables, show_results

__all__ = ["CallReports", "ScriptProfile", "shim_module", "profile_script", "profile"]


class CallReports:
    """Per-call reports from ``prof``, a LineMemoryProfiler that keeps
    counting across calls.  ``wrap(func, inner, stream, precision)`` gives
    ``inner`` (``func``, or a wrapper that switches the tracer on) back
    wrapped so that each outermost call of ``func`` that returns prints its
    own table to ``stream`` (None: sys.stdout at that time)."""

    def __init__(self, prof):
        self.prof = prof
        self._open = []   # per call in progress: {toplevel code: {line: row}} counted in it so far
        self._depth = {}  # toplevel code -> its calls in progress (recursion is one call)

    def wrap(self, func, inner, stream=None, precision=1):
        code = _function_code(func)
        if code is None:
            return inner
        self.prof.each_call.add(code)
        call = functools.partial(_Call, self, code, stream, precision)
        if _code_flag(func, CO_GENERATOR):
            # A generator's call ends when it is exhausted (a report) or
            # closed early (none).
            @functools.wraps(func)
            def gen_wrapper(*args, **kwds):
                with call():
                    return (yield from inner(*args, **kwds))
            return gen_wrapper
        if _code_flag(func, CO_COROUTINE):
            @functools.wraps(func)
            async def coro_wrapper(*args, **kwds):
                with call():
                    return await inner(*args, **kwds)
            return coro_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwds):
            with call():
                return inner(*args, **kwds)
        return wrapper

    def begin(self, code):
        """A call of ``code`` starts: the figures it will own, or None for
        a call inside one already in progress."""
        depth = self._depth.get(code, 0)
        self._depth[code] = depth + 1
        if depth:
            return None
        folded = self.prof.fold()
        for counted in self._open:
            merge_tables(counted, folded)
        counted = {}
        self._open.append(counted)
        return counted

    def end(self, code, counted, stream=None, precision=1, report=True):
        """A call of ``code`` ends; its table goes to ``stream`` if
        ``report`` (memory_profiler prints none for a call that raised)."""
        self._depth[code] -= 1
        if counted is None:
            return
        self._open = [c for c in self._open if c is not counted]
        merge_tables(counted, self.prof.counted())
        table = counted.get(code)
        if report and table:
            func = self.prof.function_memory(code, table)
            show_results(MemStats([func], self.prof.backend),
                         stream=sys.stdout if stream is None else stream, precision=precision)


class _Call:
    """One call of a function reported at its end (CallReports.wrap)."""

    def __init__(self, reports, code, stream, precision):
        self._args = reports, code, stream, precision
        self._counted = None

    def __enter__(self):
        reports, code, _stream, _precision = self._args
        self._counted = reports.begin(code)

    def __exit__(self, exc_type, exc, tb):
        reports, code, stream, precision = self._args
        reports.end(code, self._counted, stream, precision, report=exc_type is None)
        return False


def _function_code(func):
    """The code object reported for ``func``, when it is one function (a
    class, a property...: None, reported at the end of the run)."""
    if not isinstance(func, (types.FunctionType, types.MethodType)):
        return None
    funcs = unwrap_callable(func)
    return funcs[0].__code__ if len(funcs) == 1 else None


# ---- under `profkit mem` ------------------------------------------------------------

class ScriptProfile:
    """``profile`` under ``profkit mem``: memory_profiler's decorator, with
    its ``stream=`` and ``precision=``, registering functions with one
    profiler for the whole run, and its ``with profile:``.  ``wrap``: the
    tracer is on only while a marked function (or a ``with profile:``
    block) runs, as the legacy hook slows every call; else it is on for the
    whole run.  ``precision``: that of the per-call reports of functions
    marked with a ``stream=`` and no ``precision=`` (the command's
    ``--precision``)."""

    def __init__(self, prof, wrap=False, precision=1):
        self._prof = prof
        self._wrap = wrap
        self._precision = precision
        self._reports = CallReports(prof)

    def __call__(self, func=None, stream=None, precision=None, backend=None):
        if func is None:
            return lambda f: self(f, stream=stream, precision=precision, backend=backend)
        self._prof.add_callable(func)
        inner = self._prof.wrap_callable(func) if self._wrap else func
        if stream is not None and _function_code(func) is not None:
            return self._reports.wrap(func, inner, stream,
                                      self._precision if precision is None else precision)
        if stream is not None or precision is not None:
            self._prof.set_options(func, precision=precision, stream=stream)
        return inner

    def __enter__(self):
        if self._wrap:  # else the tracer is already on, for the whole run
            self._prof.enable_by_count()
        return self

    def __exit__(self, *exc):
        if self._wrap:
            self._prof.disable_by_count()
        return False

    def __getattr__(self, name):
        return getattr(self._prof, name)


def shim_module(script_profile):
    """A stand-in ``memory_profiler`` module for scripts that import its
    decorator, so they run unchanged under ``profkit mem``."""

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


def profile_script(target, selector, backend="rss", precision=1):
    """``profkit mem``: run ``target`` (see runner) with memory_profiler's
    decorator as its ``profile`` and the stand-in ``memory_profiler`` module
    in sys.modules, the tracer switched as ``lineprof.whole_run`` rules;
    returns (LineMemoryProfiler, outcome)."""
    from profkit import lineprof

    prof = LineMemoryProfiler(backend=backend)
    whole = lineprof.whole_run(selector)
    marker = ScriptProfile(prof, wrap=not whole, precision=precision)
    saved = sys.modules.get("memory_profiler")
    sys.modules["memory_profiler"] = shim_module(marker)
    try:
        outcome = lineprof.run_script(target, prof, marker, selector, whole)
    finally:
        if saved is None:
            sys.modules.pop("memory_profiler", None)
        else:
            sys.modules["memory_profiler"] = saved
    return prof, outcome


# ---- under plain python ---------------------------------------------------------------

_shared = None  # the one CallReports of `profile` in this process


def profile(func=None, stream=None, precision=1, backend=None):
    """memory_profiler's ``profile`` on profkit's engine: each call of
    ``func`` is profiled line by line, and when it returns its table is
    written to ``stream`` (default: sys.stdout) with ``precision`` decimals.
    ``backend`` is accepted for memory_profiler's signature; the figures
    are RSS, as its default ``psutil`` backend measures."""
    global _shared
    if func is None:
        return lambda f: profile(f, stream=stream, precision=precision, backend=backend)
    if _shared is None:
        _shared = CallReports(LineMemoryProfiler())
    prof = _shared.prof
    if not prof.add_callable(func) or _function_code(func) is None:
        return func  # nothing to profile here
    return _shared.wrap(func, prof.wrap_callable(func), stream, precision)
