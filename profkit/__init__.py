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

Every name loads on first use: ``import profkit`` loads neither the C engine
nor any profiler, so ``profkit plot``, ``profkit show``, the child of
``profkit run`` and code that only marks functions with ``@profile`` pay
nothing for what they do not use.
"""
import sys

__version__ = "0.1.0"  # the one place: pyproject.toml reads it from here
__all__ = ["Profile", "run", "runctx", "LineProfiler", "LineStats", "LineMemoryProfiler",
           "memory_usage", "profile", "__version__"]

# name -> the module that defines it, imported on first use
_LAZY = {
    "Profile": "profkit.funcprof",
    "run": "profkit.funcprof",
    "runctx": "profkit.funcprof",
    "LineProfiler": "profkit.lineprof",
    "LineStats": "profkit.formats.lprof",
    "LineMemoryProfiler": "profkit.memprof",
    "memory_usage": "profkit.memtime",
    "profile": "profkit.marking",  # the decorator: loads nothing more unless asked (marking.py)
}


def __getattr__(name):
    if name == "_engine":  # profkit._engine without an import statement, as before
        import profkit._engine

        return profkit._engine
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'profkit' has no attribute {name!r}")
    __import__(where)
    value = getattr(sys.modules[where], name)
    globals()[name] = value  # the next lookup finds it directly
    return value


def load_ipython_extension(ipython):  # %load_ext profkit: the magics load only now
    from profkit.ipython_magics import load_ipython_extension as load

    load(ipython)
