#!/usr/bin/env python3
"""What sampling memory costs a running program, start-up left out.

`bench/run.py --group memtime` times whole processes, so its ratios include
a fixed cost of starting two interpreters.  Here each workload times its own
main work (runpy inside a small wrapper that prints perf_counter seconds to
stderr), run plain and as a command under `profkit run` and `mprof run` at
10 ms and 1 ms.  Rounds alternate the order of the variants; the table shows
medians of the program's own time and their ratio to plain.

    python bench/sampling.py [--repeat 7] [--workloads mem_churn,mem_compute] [--out FILE]

Standard library only, apart from the tools measured.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from emit import emit  # bench/emit.py

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = {
    "mem_churn": os.path.join(HERE, "workloads", "mem_churn.py"),
    "mem_compute": os.path.join(HERE, "workloads", "mem_compute.py"),
}
TIMED = ("import runpy, sys, time\n"
         "t = time.perf_counter()\n"
         "runpy.run_path(sys.argv[1], run_name='__main__')\n"
         "print('SELF %.6f' % (time.perf_counter() - t), file=sys.stderr)\n")


def variants(py, wrapper, out):
    return {
        "plain": [py, wrapper],
        "profkit run -i 0.01": [py, "-m", "profkit", "run", "-i", "0.01", "-o", out, "--", py, wrapper],
        "profkit run -i 0.001": [py, "-m", "profkit", "run", "-i", "0.001", "-o", out, "--", py, wrapper],
        "mprof run --interval 0.01": [py, "-m", "mprof", "run", "-E", "--interval", "0.01", "-o", out,
                                      py, wrapper],
        "mprof run --interval 0.001": [py, "-m", "mprof", "run", "-E", "--interval", "0.001", "-o", out,
                                       py, wrapper],
    }


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # see run.py


def self_time(argv):
    """The program's own seconds, and the share of one core profkit's
    sampler used (None for the other variants)."""
    r = subprocess.run(argv, capture_output=True, text=True, env=ENV)
    m = re.search(r"^SELF ([\d.]+)$", r.stderr, re.M)
    if r.returncode != 0 or not m:
        raise SystemExit(f"failed: {' '.join(argv)}\n{r.stderr[-2000:]}")
    cpu = re.search(r"sampling used \d+ ms of CPU \(([\d.]+)% of one core\)", r.stderr)
    return float(m.group(1)), float(cpu.group(1)) if cpu else None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--out", help="append the markdown section to this file")
    opts = p.parse_args(argv)
    names = opts.workloads.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = os.path.join(tmp, "timed.py")
        with open(wrapper, "w") as f:
            f.write(TIMED)
        out = os.path.join(tmp, "out.dat")
        for name in names:
            vs = variants(opts.python, wrapper, out)
            times = {v: [] for v in vs}
            shares = {v: [] for v in vs}
            order = list(vs)
            for rnd in range(opts.repeat):
                for v in (order if rnd % 2 == 0 else order[::-1]):
                    if os.path.exists(out):
                        os.unlink(out)
                    took, share = self_time(vs[v] + [WORKLOADS[name]])
                    times[v].append(took)
                    if share is not None:
                        shares[v].append(share)
                print(f"{name}: round {rnd + 1}/{opts.repeat}", file=sys.stderr)
            base = statistics.median(times["plain"])
            for v in vs:
                med = statistics.median(times[v])
                spread = (max(times[v]) - min(times[v])) / med
                share = f"{statistics.median(shares[v]):.2f}%" if shares[v] else ""
                rows.append((name, v, med, med / base, spread, share))
    ver = subprocess.run([opts.python, "-c", "import platform; print(platform.python_version())"],
                         capture_output=True, text=True).stdout.strip()
    lines = [f"### Sampling cost to the running program (CPython {ver}, "
             f"{time.strftime('%Y-%m-%d %H:%M')})", "",
             f"`python bench/sampling.py --repeat {opts.repeat}`: the program's own time for its "
             "main work (start-up excluded), median of the rounds.", "",
             "The last column is the CPU profkit's sampler used, as a share of one core over the "
             "run (what `profkit run` prints at the end): the most it can take from the program "
             "when both share a core.  On this VM a timer wake-up alone costs about 33 µs of CPU.",
             "",
             "| workload | variant | program's own time (s) | × plain | spread | sampler CPU |",
             "|---|---|---:|---:|---:|---:|"]
    for name, v, med, ratio, spread, share in rows:
        lines.append(f"| {name} | {v} | {med:.3f} | {ratio:.3f} | {spread:.0%} | {share} |")
    text = "\n".join(lines) + "\n"
    emit(text, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
