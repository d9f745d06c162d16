"""profkit: where a Python program's time and memory go, per function, per
line and over time, measured by a C engine.

    profkit func script.py        # what python -m cProfile reports
    profkit lines script.py       # what kernprof -l -v reports
    profkit mem script.py         # what python -m memory_profiler reports
    profkit run script.py         # what mprof run records; profkit plot draws it

Drop-in APIs: ``profkit.Profile`` for ``cProfile.Profile`` (with
``profkit.run`` and ``profkit.runctx``), ``profkit.LineProfiler`` for
``line_profiler.LineProfiler``, ``profkit.memory_usage`` for
``memory_profiler.memory_usage``, and ``profkit.profile``, the decorator.
"""
from profkit.funcprof import Profile, run, runctx

__version__ = "0.1.0"
__all__ = ["Profile", "run", "runctx", "LineProfiler", "LineStats", "LineMemoryProfiler",
           "memory_usage", "profile", "__version__"]


def __getattr__(name):
    # The line profiler's modules load on first use, keeping `profkit func`
    # and `import profkit` quick to start.
    if name in ("LineProfiler", "LineStats"):
        from profkit import lineprof

        return getattr(lineprof, name)
    if name == "LineMemoryProfiler":
        from profkit.memprof import LineMemoryProfiler

        return LineMemoryProfiler
    if name == "memory_usage":
        from profkit.memtime import memory_usage

        return memory_usage
    raise AttributeError(f"module 'profkit' has no attribute {name!r}")


def profile(func=None, **options):
    """Mark a function for profiling.

    Under ``profkit lines``, ``profkit mem`` (where it takes memory_profiler's
    ``stream=`` and ``precision=``) and ``profkit run`` the function is
    registered with the running profiler.  Run with plain ``python`` it does
    nothing at all: the function is returned as it is, so the decorator can
    stay in the code.
    """
    if func is None:
        return lambda f: profile(f, **options)
    from profkit import _state

    prof = _state.current_line_profiler()
    if prof is not None:
        return prof(func, **options) if options else prof(func)
    return func
