#!/usr/bin/env python3
"""The line report against the size of the source file: does it take time
linear in what it prints?

One generated script holds N small functions, each called once; `profkit
lines -f 'f_*'` profiles all of them, writes the .lprof and prints N
tables; `profkit show` prints them again from the file.  line_profiler, when
installed, prints the same timings (the .lprof re-pickled as its own
LineStats) with `python -m line_profiler`.  Each command runs once per size,
under a time limit: a command over the limit is reported as such, not
waited for.  The per-function time should stay flat as N grows tenfold;
with the quadratic report of the issue ("A profile is never lost ...",
section 3), 200,000 functions were still printing after 400 s.

    python bench/linereport.py [--sizes 2000 20000 200000] [--limit 600] [--no-line-profiler]
                               [--out FILE]

Set PYTHONPATH to measure another copy of profkit (a patched one, say).
"""
import argparse
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time

from emit import emit  # bench/emit.py

FUNC = "def f_{i}(x):\n    y = x + 1\n    return y\n\n"
CALLS = ("for _name, _f in list(globals().items()):\n"
         "    if _name.startswith('f_'):\n"
         "        _f(1)\n")


def make_script(folder, n):
    path = os.path.join(folder, f"many_{n}.py")
    with open(path, "w") as f:
        for i in range(n):
            f.write(FUNC.format(i=i))
        f.write(CALLS)
    return path


def timed(cmd, cwd, limit):
    """(seconds, lines printed), or (None, None) past ``limit`` seconds."""
    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        try:
            r = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.PIPE, timeout=limit)
        except subprocess.TimeoutExpired:
            return None, None
        took = time.perf_counter() - t
        if r.returncode != 0:
            raise SystemExit(f"{cmd} failed:\n{r.stderr.decode(errors='replace')[-2000:]}")
        out.seek(0)
        return took, sum(1 for _ in out)


def kernprof_copy(lprof_path):
    """The .lprof as line_profiler pickles it, or None without line_profiler."""
    try:
        import line_profiler
    except ImportError:
        return None
    from profkit.formats import lprof

    stats = lprof.load(lprof_path)
    path = lprof_path + ".kernprof.lprof"
    with open(path, "wb") as f:
        pickle.dump(line_profiler.LineStats(stats.timings, stats.unit), f, pickle.HIGHEST_PROTOCOL)
    return path


def cell(seconds, n, limit, ran=True):
    if not ran:
        return "-", "-"
    if seconds is None:
        return f"over {limit:g} s", "-"
    return f"{seconds:.2f}", f"{seconds / n * 1e6:.0f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 200000])
    p.add_argument("--limit", type=float, default=600.0, help="seconds allowed per command")
    p.add_argument("--no-line-profiler", action="store_true", help="leave line_profiler out")
    p.add_argument("--out")
    opts = p.parse_args(argv)
    py = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in opts.sizes:
            script = make_script(tmp, n)
            lprof_path = os.path.join(tmp, f"many_{n}.lprof")
            run, printed = timed([py, "-m", "profkit", "lines", "-f", "f_*", "-o", lprof_path, script],
                                 tmp, opts.limit)
            show = theirs = None
            if os.path.exists(lprof_path):
                show, _ = timed([py, "-m", "profkit", "show", lprof_path], tmp, opts.limit)
                copy = None if opts.no_line_profiler else kernprof_copy(lprof_path)
                if copy is not None:
                    theirs, _ = timed([py, "-m", "line_profiler", copy], tmp, opts.limit)
            rows.append((n, printed, run, show, theirs))
            print(f"{n} functions: lines {run}, show {show}, line_profiler {theirs}", file=sys.stderr)
    lines = [f"### The line report against the size of the source file (CPython "
             f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')})", "",
             f"`python bench/linereport.py --sizes {' '.join(map(str, opts.sizes))} --limit "
             f"{opts.limit:g}{' --no-line-profiler' if opts.no_line_profiler else ''}`"
             f"{' with PYTHONPATH=' + os.environ['PYTHONPATH'] if os.environ.get('PYTHONPATH') else ''}"
             f": one script of N three-line functions, each called once; one run "
             f"per command, {opts.limit:g} s allowed. Machine: {platform.machine()}, "
             f"{os.cpu_count()} CPUs.", "",
             "| functions | lines printed | profkit lines -f 'f_*' (s) | per function (us) | "
             "profkit show (s) | per function (us) | python -m line_profiler (s) | "
             "per function (us) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, printed, run, show, theirs in rows:
        cells = [*cell(run, n, opts.limit), *cell(show, n, opts.limit),
                 *cell(theirs, n, opts.limit, not opts.no_line_profiler)]
        lines.append(f"| {n:,} | {printed if printed is not None else '-'} | " + " | ".join(cells) + " |")
    emit("\n".join(lines) + "\n", opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
