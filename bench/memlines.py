#!/usr/bin/env python3
"""What line-by-line memory profiling costs the profiled function, in process.

`bench/run.py --group mem` times whole processes, whose start-up (importing
the tool; psutil for memory_profiler) is most of the difference on short
scripts.  Here each function runs in this process: plain, under
memory_profiler's `LineProfiler` (what `python -m memory_profiler` uses) and
under profkit's `LineMemoryProfiler` with each backend, in alternating
rounds.  The ratio that matters is profkit's added time over
memory_profiler's.

    python bench/memlines.py [--rounds 7] [--out FILE]
"""
import argparse
import builtins
import gc
import os
import platform
import runpy
import statistics
import sys
import time

from emit import emit  # bench/emit.py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load(path, name, *args):
    """The function `name` of the script at `path`, undecorated, with args."""
    builtins.profile = lambda f: f
    try:
        ns = runpy.run_path(path, run_name="bench")
    finally:
        del builtins.profile
    return ns[name], args


CASES = {
    "mem_kern_refactored: main()": (os.path.join(ROOT, "examples", "memory", "mem_kern_refactored.py"),
                                    "main"),
    "memlines_loop: churn(100_000)": (os.path.join(HERE, "workloads", "memlines_loop.py"), "churn",
                                      100_000),
    "memlines_loop: one_line_loops(100_000)": (os.path.join(HERE, "workloads", "memlines_loop.py"),
                                               "one_line_loops", 100_000),
}


def timed(run):
    gc.collect()
    t = time.perf_counter()
    run()
    return time.perf_counter() - t


def variants(func, args):
    from profkit.memprof import LineMemoryProfiler

    def plain():
        func(*args)

    def mp():
        from memory_profiler import LineProfiler

        prof = LineProfiler()
        prof(func)(*args)

    def ours(backend):
        def run():
            prof = LineMemoryProfiler(backend=backend)
            prof(func)(*args)
        return run

    return {"plain": plain, "memory_profiler": mp, "profkit (rss)": ours("rss"),
            "profkit (alloc)": ours("alloc"), "profkit (both)": ours("both")}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--out")
    opts = p.parse_args(argv)
    import memory_profiler  # noqa: F401 - fail early when it is missing

    lines = [f"### Line-by-line memory, in process (CPython {platform.python_version()}, "
             f"{time.strftime('%Y-%m-%d %H:%M')})", "",
             f"`python bench/memlines.py --rounds {opts.rounds}`: the decorated function run in "
             "one process, plain and under each profiler, rounds alternating; medians.", "",
             "| function | variant | median (s) | × plain | added / memory_profiler's added |",
             "|---|---|---:|---:|---:|"]
    for label, (path, name, *args) in CASES.items():
        func, args = load(path, name, *args)
        vs = variants(func, args)
        times = {v: [] for v in vs}
        for rnd in range(opts.rounds):
            order = list(vs) if rnd % 2 == 0 else list(vs)[::-1]
            for v in order:
                times[v].append(timed(vs[v]))
            print(f"{label}: round {rnd + 1}/{opts.rounds}", file=sys.stderr)
        med = {v: statistics.median(t) for v, t in times.items()}
        base, ref = med["plain"], med["memory_profiler"] - med["plain"]
        for v in vs:
            ratio = "" if v in ("plain", "memory_profiler") else f"{(med[v] - base) / ref:.4f}"
            lines.append(f"| {label} | {v} | {med[v]:.4f} | {med[v] / base:.2f} | {ratio} |")
    text = "\n".join(lines) + "\n"
    emit(text, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
