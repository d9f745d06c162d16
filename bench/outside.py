#!/usr/bin/env python3
"""In-process check: how much the line profiler slows code it does NOT profile.

    python bench/outside.py [--rounds 9] [--out bench/RESULTS.md]

A call-heavy function (recursion and a loop, not registered) is timed with
no profiler, then with profkit's line tracer enabled on another, registered
function, alternating the two for several rounds; the medians and their
ratio are printed as a markdown section (and appended to --out).  Unlike
the whole-process rows of run.py, interpreter start-up and saving the
results are not part of what is timed, so this is the number behind "code
outside the profiled functions runs at full speed".
"""
import argparse
import platform
import statistics
import sys
import time

import profkit

from emit import emit  # bench/emit.py


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def unprofiled():
    total = 0
    for i in range(3_000_000):
        total += i % 7
    return total + fib(25)


def registered(x):
    return x + 1


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--out")
    opts = ap.parse_args(argv)
    lp = profkit.LineProfiler(registered)
    plain, traced = [], []
    unprofiled()  # warm up
    for r in range(opts.rounds):
        order = ("plain", "traced") if r % 2 == 0 else ("traced", "plain")
        for which in order:
            if which == "plain":
                plain.append(timed(unprofiled))
            else:
                lp.enable()
                try:
                    registered(1)
                    traced.append(timed(unprofiled))
                finally:
                    lp.disable()
    p, t = statistics.median(plain), statistics.median(traced)
    text = (
        f"### Code outside the profiled functions, CPython {platform.python_version()} "
        f"(backend: {profkit._engine.backend()})\n\n"
        f"Command: `python bench/outside.py --rounds {opts.rounds}`; medians of "
        f"{opts.rounds} alternating in-process runs of an unregistered call-heavy function.\n\n"
        "| tracer | median (s) | × plain |\n|---|---:|---:|\n"
        f"| off | {p:.4f} | 1.000 |\n| on (another function registered) | {t:.4f} | {t / p:.3f} |\n"
    )
    emit(text, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
