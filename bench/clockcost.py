#!/usr/bin/env python3
"""What the clock costs the function profiler: fib(N) under
profkit.Profile(tree=True) with each engine clock (PROFKIT_CLOCK=tsc,
counter, monotonic), the fastest of many runs in CPU time.

    python bench/clockcost.py [--n 27] [--rounds 7] [--out FILE]

Each round starts one process per clock, in turn, which times fib(N) five
times under the profiler and once plain (time.process_time, so time the
machine takes the CPU away is not counted).  The `counter` clock (a tick
per read, for tests) costs next to nothing, so the difference from it is
what reading the real clock adds per call.
"""
import argparse
import os
import platform
import subprocess
import sys

from emit import emit  # bench/emit.py
from fibsizes import calls  # bench/fibsizes.py

CHILD = """
import sys, time
sys.path.insert(0, {workloads!r})
from fib_n import fib
import profkit
runs = []
for _ in range(5):
    p = profkit.Profile(tree=True)
    start = time.process_time(); p.enable(); fib({n}); p.disable()
    runs.append(time.process_time() - start)
start = time.process_time(); fib({n})
print(min(runs), time.process_time() - start)
"""
CLOCKS = ("tsc", "counter", "monotonic")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=27)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out")
    opts = ap.parse_args(argv)
    code = CHILD.format(n=opts.n, workloads=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "workloads"))
    best = {c: [float("inf"), float("inf")] for c in CLOCKS}
    for _ in range(opts.rounds):
        for clock in CLOCKS:
            got = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PROFKIT_CLOCK=clock),
                                 check=True, capture_output=True, text=True).stdout.split()
            best[clock] = [min(b, float(g)) for b, g in zip(best[clock], got)]
    ncalls = calls(opts.n)
    rows = [f"| {c} | {best[c][0]:.4f} | {(best[c][0] - best['counter'][0]) / ncalls * 1e9:.1f} |"
            for c in CLOCKS]
    plain = min(b[1] for b in best.values())
    text = (f"### The clock's cost per call, CPython {platform.python_version()}\n\n"
            f"Command: `python bench/clockcost.py --n {opts.n} --rounds {opts.rounds}`; fib({opts.n}) "
            f"({ncalls:,} calls) under `Profile(tree=True)`, fastest CPU time of "
            f"{opts.rounds * 5} runs per clock; plain {plain:.4f} s.\n\n"
            "| PROFKIT_CLOCK | profiled (s) | ns per call over `counter` |\n|---|---:|---:|\n"
            + "\n".join(rows) + "\n")
    emit(text, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
