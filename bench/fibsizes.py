#!/usr/bin/env python3
"""The function profiler against cProfile on fib at several sizes, whole
process and in process, so that a cost growing with the run shows.

    python bench/fibsizes.py [--sizes 25,28,31] [--rounds 15] [--out bench/RESULTS.md]

For each size N, each round runs bench/workloads/fib_n.py as whole
processes (``python fib_n.py N``, ``python -m cProfile -o TMP fib_n.py N``,
``python -m profkit func -o TMP fib_n.py N`` and the same with
``--no-builtins``, forward in even rounds and backward in odd ones), then
one child process that times ``fib(N)`` alone in process, plain, under
``cProfile.Profile()`` and under ``profkit.Profile()`` (what
``profkit func -o x.prof`` runs: no call tree, which only the viewers'
formats are drawn from) with and without builtins, in a random order.
Prints, and appends to --out, one table: medians, and each profiler's added
time as a fraction of cProfile's (the median of the rounds' own ratios,
the figure the targets are judged on), and the added nanoseconds per call,
which stay flat across sizes when nothing grows with the run.

profkit's modules are byte-compiled first (``compileall``), as an installed
copy is: with PYTHONDONTWRITEBYTECODE set and no ``__pycache__``, every
``profkit func`` would compile its own sources at start-up (about 30 ms),
while cProfile's standard-library modules come compiled.
"""
import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

from emit import emit  # bench/emit.py

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "workloads", "fib_n.py")

WHOLE = {
    "plain": [],
    "cProfile": ["-m", "cProfile", "-o", "{out}"],
    "profkit": ["-m", "profkit", "func", "-o", "{out}"],
    "profkit --no-builtins": ["-m", "profkit", "func", "--no-builtins", "-o", "{out}"],
}
PROFILERS = ("profkit", "profkit --no-builtins")


def calls(n):
    """Calls of fib made by fib(n)."""
    a, b = 1, 1  # calls of fib(0), fib(1)
    for _ in range(n - 1):
        a, b = b, a + b + 1
    return b if n > 0 else 1


def child(n, seed):
    """One in-process round of fib(n): {variant: seconds}, as JSON on stdout."""
    import cProfile

    import profkit
    from funcinproc import timed  # bench/funcinproc.py

    sys.path.insert(0, os.path.dirname(SCRIPT))
    from fib_n import fib

    variants = {
        "plain": timed(fib, n),
        "cProfile": timed(fib, n, cProfile.Profile),
        "profkit": timed(fib, n, profkit.Profile),
        "profkit --no-builtins": timed(fib, n, lambda: profkit.Profile(builtins=False)),
    }
    order = list(variants)
    random.Random(seed).shuffle(order)
    fib(15)  # warm the function's caches before the first timed run
    print(json.dumps({name: variants[name]() for name in order}))


def whole(python, n, names, out, env):
    """Wall-clock seconds of each whole process, in the order given."""
    times = {}
    for name in names:
        argv = [python] + [a.format(out=out) for a in WHOLE[name]] + [SCRIPT, str(n)]
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times[name] = time.perf_counter() - start
    return times


def per_round(times, name):
    """The median of the rounds' own ratios of added times (nan when
    cProfile added nothing in any round: a size too small to measure)."""
    ratios = [(t - p) / (c - p) for t, p, c in zip(times[name], times["plain"], times["cProfile"])
              if c > p]
    return statistics.median(ratios) if ratios else float("nan")


def on_minimums(times, name):
    """The ratio of added times on the fastest run of each variant, which a
    few slow runs on a busy machine cannot move."""
    low = {k: min(times[k]) for k in ("plain", "cProfile", name)}
    ref = low["cProfile"] - low["plain"]
    return (low[name] - low["plain"]) / ref if ref > 0 else float("nan")


def table_rows(mode, n, times):
    med = {k: statistics.median(v) for k, v in times.items()}
    ncalls = calls(n)
    added = {k: (med[k] - med["plain"]) / ncalls * 1e9 for k in med}
    cells = [f"fib({n})", f"{ncalls:,}", mode] + [f"{med[k]:.3f}" for k in WHOLE]
    for k in PROFILERS:
        cells += [f"{per_round(times, k):.2f}", f"{on_minimums(times, k):.2f}"]
    cells += [f"{added['cProfile']:.0f}", f"{added['profkit']:.0f}"]
    return "| " + " | ".join(cells) + " |"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="25,28,31", help="fib sizes, comma-separated (default 25,28,31)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--python", default=sys.executable, help="interpreter under test")
    ap.add_argument("--out")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.child is not None:
        return child(opts.child, opts.seed)
    sizes = [int(s) for s in opts.sizes.split(",")]
    info = json.loads(subprocess.run(
        [opts.python, "-c", "import json, os, platform, profkit, profkit._engine as e; "
         "print(json.dumps([platform.python_version(), e.backend(), e.clock_info()['source'], "
         "os.path.dirname(profkit.__file__)]))"],
        check=True, capture_output=True, text=True).stdout)
    version, backend, clock, pkg = info
    subprocess.run([opts.python, "-m", "compileall", "-q", pkg], check=True, stdout=subprocess.DEVNULL)  # see the docstring
    env = dict(os.environ)
    load_before = os.getloadavg()
    names = list(WHOLE)
    results = {(m, n): {k: [] for k in WHOLE} for m in ("whole", "in") for n in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.prof")
        for r in range(opts.rounds):
            print(f"round {r + 1}/{opts.rounds}", file=sys.stderr)
            for n in sizes:
                for k, v in whole(opts.python, n, names if r % 2 == 0 else names[::-1], out, env).items():
                    results[("whole", n)][k].append(v)
                got = subprocess.run([opts.python, os.path.abspath(__file__), "--child", str(n),
                                      "--seed", str(r)], check=True, capture_output=True, text=True)
                for k, v in json.loads(got.stdout).items():
                    results[("in", n)][k].append(v)
    load_after = os.getloadavg()
    rows = [table_rows(mode, n, results[(m, n)]) for m, mode in (("whole", "whole process"),
                                                                  ("in", "in process")) for n in sizes]
    head = ["size", "calls", "timed"] + [f"{k} (s)" for k in WHOLE]
    for k in PROFILERS:
        head += [f"{k} / cProfile, added", "(on minimums)"]
    head += ["cProfile ns/call", "profkit ns/call"]
    text = (
        f"### fib at {len(sizes)} sizes, CPython {version} (backend: {backend}, clock: {clock})\n\n"
        f"Command: `python bench/fibsizes.py --sizes {opts.sizes} --rounds {opts.rounds}`; "
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load_before[0]:.2f} before and {load_after[0]:.2f} after.  Medians of "
        f"{opts.rounds} rounds; the ratios are the median of each round's own ratio of added "
        "times (profkit − plain) / (cProfile − plain), and the same ratio on the fastest run of "
        "each variant; ns/call is the added time of the medians per call of fib.  `profkit` is "
        "`profkit func -o x.prof` whole process and `Profile()` in process (no call tree: only "
        "the viewers' formats are drawn from it).\n\n"
        "| " + " | ".join(head) + " |\n|" + "---|" * 3 + "---:|" * (len(head) - 3) + "\n"
        + "\n".join(rows) + "\n"
    )
    emit(text, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
