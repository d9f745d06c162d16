#!/usr/bin/env python3
"""In-process check of the function profiler's overhead against cProfile.

    python bench/funcinproc.py [--rounds 31] [--n 25] [--out bench/RESULTS.md]

Runs naive recursion (bench/workloads/fib.py's `fib`) with no profiler,
under cProfile.Profile() and under profkit.Profile() (with builtins, its
default, and with builtins=False; and with the call tree, tree=True, as
`profkit func` runs it), each round in a fresh random order.
What is timed is the profiled call alone: interpreter start-up, imports and
writing the profile are not in it, which makes these ratios steadier than
the whole-process rows of run.py on a noisy machine.  Prints, and appends
to --out, medians and each profiler's added time as a fraction of
cProfile's: the median of the ratios of each round (the headline figure),
and, as checks, the ratio of the medians and of the minimums.  Last, what
the call tree adds: the tree variant's time over the flat profile's, per
round (median), whole run and added time alike.
"""
import argparse
import cProfile
import os
import platform
import random
import statistics
import sys
import time

import profkit

from emit import emit  # bench/emit.py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "workloads"))
from fib import fib  # noqa: E402


def _has_tree():
    """Whether this profkit keeps a call tree (an older build, compared
    against in A/B runs, does not)."""
    try:
        profkit.Profile(tree=True)
    except TypeError:
        return False
    return True


def timed(fib, n, make=None):
    """A function that times fib(n) once, with no profiler or between
    enable() and disable() of a new make(), and returns the seconds."""
    def run():
        prof = make() if make is not None else None
        start = time.perf_counter()
        if prof is not None:
            prof.enable()
        fib(n)
        if prof is not None:
            prof.disable()
        return time.perf_counter() - start
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=31)
    ap.add_argument("--n", type=int, default=25, help="fib(N) per timed run (default 25)")
    ap.add_argument("--out")
    opts = ap.parse_args(argv)
    n = opts.n

    variants = {
        "plain": timed(fib, n),
        "cProfile": timed(fib, n, cProfile.Profile),
        "profkit": timed(fib, n, profkit.Profile),
        "profkit, builtins=False": timed(fib, n, lambda: profkit.Profile(builtins=False)),
    }
    if _has_tree():
        variants["profkit, tree=True"] = timed(fib, n, lambda: profkit.Profile(tree=True))
    times = {name: [] for name in variants}
    rng = random.Random(0)
    for fn in variants.values():  # warm up
        fn()
    for _ in range(opts.rounds):
        order = list(variants)
        rng.shuffle(order)
        for name in order:
            times[name].append(variants[name]())
    # Each round also gives its own ratio: the machine's load changes more
    # slowly than one round (a fraction of a second), so the median of the
    # per-round ratios is the steadiest figure on a shared machine.
    per_round = {
        name: statistics.median(
            (t - p) / (c - p) for t, p, c in zip(times[name], times["plain"], times["cProfile"]) if c > p
        )
        for name in variants
    }
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}
    ref_med = med["cProfile"] - med["plain"]
    ref_low = low["cProfile"] - low["plain"]
    rows = []
    for name in variants:
        rows.append(
            f"| {name} | {med[name]:.4f} | {low[name]:.4f} | {med[name] / med['plain']:.2f} "
            f"| {per_round[name]:.3f} | {(med[name] - med['plain']) / ref_med:.3f} "
            f"| {(low[name] - low['plain']) / ref_low:.3f} |"
        )
    text = (
        f"### Function profiler in process, CPython {platform.python_version()} "
        f"(backend: {profkit._engine.backend()})\n\n"
        f"Command: `python bench/funcinproc.py --rounds {opts.rounds} --n {n}`; fib({n}) per run, "
        f"{opts.rounds} rounds in random order.\n\n"
        "| profiler | median (s) | min (s) | × plain | added / cProfile's (per round, median) "
        "| added / cProfile's (medians) | added / cProfile's (mins) |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n"
    )
    if "profkit, tree=True" in times:
        tree, flat, plain_t = times["profkit, tree=True"], times["profkit"], times["plain"]
        whole = statistics.median(t / f for t, f in zip(tree, flat))
        added = statistics.median((t - p) / (f - p) for t, f, p in zip(tree, flat, plain_t) if f > p)
        text += (f"\nThe call tree (tree=True) against the flat profile, per round (median): "
                 f"{whole:.3f} × its time, {added:.3f} × its added time.\n")
    emit(text, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
