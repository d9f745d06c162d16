"""The line tracer's per-event and per-call costs, in one process.

    python bench/linehot.py [--rounds 7] [--legacy]

Times three loops plain and under profkit.LineProfiler, and prints the
ratio of each (the best of the rounds):

* ``lines``: a registered function's loop: one line event per turn;
* ``calls``: calls of an unregistered function while the profiler is on
  (the legacy hook sees each call; sys.monitoring sees none);
* ``decorated``: calls of a tiny decorated function with the profiler
  switched per thread (all_threads=False, kernprof's wrapper on the legacy
  hook): the enable/disable per call.

To compare two builds of the engine, run it with each on PYTHONPATH (a
scratch copy from ``git archive``, built with ``setup.py build_ext
--inplace``), several times, alternating.  ``--legacy`` sets
PROFKIT_BACKEND=legacy first (3.12+: the legacy hook)."""
import argparse
import os
import sys
import time


def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


def small(x):
    return x + 1


def calls(n):
    s = 0
    for i in range(n):
        s = small(s)
    return s


def best(fn, rounds):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--legacy", action="store_true")
    opts = p.parse_args()
    if opts.legacy:
        os.environ["PROFKIT_BACKEND"] = "legacy"
    import profkit

    n = 200_000
    lp = profkit.LineProfiler(work)
    on = profkit.LineProfiler(work)  # on, but registers nothing that `calls` runs
    deco = profkit.LineProfiler(all_threads=False)
    tiny = deco(small)

    def profiled(fn):
        def run():
            on.enable()
            try:
                fn()
            finally:
                on.disable()
        return run

    def decorated():
        s = 0
        for _ in range(n // 4):
            s = tiny(s)

    cases = [("lines", lambda: work(n), lambda: lp.runcall(work, n)),
             ("calls", lambda: calls(n), profiled(lambda: calls(n))),
             ("decorated", lambda: [small(i) for i in range(n // 4)], decorated)]
    print(f"# Python {sys.version.split()[0]}, backend {profkit._engine.backend()}, "
          f"profkit from {os.path.dirname(profkit.__file__)}")
    for name, plain, prof in cases:
        tp, tq = best(plain, opts.rounds), best(prof, opts.rounds)
        print(f"{name:10s} plain {tp * 1e3:8.2f} ms  profkit {tq * 1e3:8.2f} ms  x{tq / tp:6.2f}")


if __name__ == "__main__":
    main()
