#!/usr/bin/env python3
"""Start-up cost of the line-by-line memory profilers, and of `import profkit`.

A tiny script with one decorated function is run plain, under
`python -m profkit mem` and under `python -m memory_profiler`, in
alternating rounds; the medians over `python -c pass` are each tool's fixed
cost, which is all that separates them on scripts that profile a few lines.

Then what importing costs, from `python -X importtime` (the interpreter's own
count, in microseconds, free of process start-up noise): `import profkit`
(which defines the IPython extension's entry point and loads nothing for
it), and the pytest plugin as pytest loads it, after pytest itself.

    python bench/startup.py [--rounds 21] [--out FILE]
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from emit import emit  # bench/emit.py

TINY = "@profile\ndef f():\n    x = [0] * 10\n    return len(x)\n\nf()\n"
PLAIN = ("import builtins, runpy, sys\nbuiltins.profile = lambda f: f\n"
         "runpy.run_path(sys.argv[1], run_name='__main__')\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--out")
    opts = p.parse_args(argv)
    # byte-code caches as a user has them (see run.py)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "tiny.py")
        with open(script, "w") as f:
            f.write(TINY)
        variants = {
            "python -c pass": [py, "-c", "pass"],
            "plain (tiny.py)": [py, "-c", PLAIN, script],
            "python -m profkit mem tiny.py": [py, "-m", "profkit", "mem", script],
            "python -m memory_profiler tiny.py": [py, "-m", "memory_profiler", script],
        }
        times = {k: [] for k in variants}
        for rnd in range(opts.rounds + 1):  # round 0 warms the caches
            for k in (list(variants) if rnd % 2 == 0 else list(variants)[::-1]):
                t = time.perf_counter()
                r = subprocess.run(variants[k], capture_output=True, env=env)
                took = time.perf_counter() - t
                if r.returncode != 0:
                    raise SystemExit(f"{k} failed:\n{r.stderr.decode(errors='replace')[-2000:]}")
                if rnd:
                    times[k].append(took)
    med = {k: statistics.median(v) for k, v in times.items()}
    plain = med["plain (tiny.py)"]
    lines = [f"### Start-up of the line-by-line memory profilers (CPython {platform.python_version()}, "
             f"{time.strftime('%Y-%m-%d %H:%M')})", "",
             f"`python bench/startup.py --rounds {opts.rounds}`: a script with one decorated function "
             "of two lines; medians of alternating runs.", "",
             "| command | median (ms) | added to plain (ms) |", "|---|---:|---:|"]
    for k, v in med.items():
        lines.append(f"| {k} | {v * 1e3:.1f} | {(v - plain) * 1e3:+.1f} |")
    ours = med["python -m profkit mem tiny.py"] - plain
    theirs = med["python -m memory_profiler tiny.py"] - plain
    lines += ["", f"profkit's added time / memory_profiler's: {ours / theirs:.2f}"]
    lines += [""] + import_costs(py, env, opts.rounds)
    text = "\n".join(lines) + "\n"
    emit(text, opts.out)
    return 0


# what -X importtime measures: (code run, the module whose cumulative time counts)
IMPORTS = {
    "import profkit": ("import profkit", "profkit"),
    "import profkit.config (the settings reader)": ("import profkit.config", "profkit.config"),
    "the pytest plugin, after pytest": ("import pytest, profkit.pytest_plugin", "profkit.pytest_plugin"),
    "the magics (%load_ext profkit), after IPython": (
        "import IPython.core.magic, profkit.ipython_magics", "profkit.ipython_magics"),
}


def _cumulative_us(py, env, code, module):
    r = subprocess.run([py, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return None  # not installed here (IPython)
    for line in r.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    return None


def import_costs(py, env, rounds):
    """Markdown lines: the median cumulative import time of each of IMPORTS."""
    lines = ["`python -X importtime`, the cumulative microseconds of each module (with what it "
             "imports that was not loaded yet); medians.", "",
             "| import | median (us) |", "|---|---:|"]
    for label, (code, module) in IMPORTS.items():
        got = [_cumulative_us(py, env, code, module) for _ in range(rounds)]
        got = [g for g in got if g is not None]
        lines.append(f"| {label} | {statistics.median(got):.0f} |" if got else f"| {label} | - |")
    return lines


if __name__ == "__main__":
    sys.exit(main())
