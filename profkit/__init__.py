"""profkit: where a Python program's time and memory go, per function, per
line and over time, measured by a C engine.

    profkit func script.py        # what python -m cProfile reports

Drop-in APIs: ``profkit.Profile`` for ``cProfile.Profile``, with
``profkit.run`` and ``profkit.runctx``.
"""
from profkit.funcprof import Profile, run, runctx

__version__ = "0.1.0"
__all__ = ["Profile", "run", "runctx", "__version__"]
