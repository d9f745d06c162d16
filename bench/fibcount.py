#!/usr/bin/env python3
"""Instructions per call of fib, counted by valgrind: what each profiler
adds per call, whole process and in process, independent of the machine's
load.

    python bench/fibcount.py [--sizes 20,23] [--variants plain,cProfile,profkit] [--out FILE]

Each variant runs under ``valgrind --tool=cachegrind --cache-sim=no`` at two
sizes of bench/workloads/fib_n.py, as a whole process (``python fib_n.py
N``, ``python -m cProfile -o TMP fib_n.py N``, ``python -m profkit func -o
TMP fib_n.py N`` ...) and in process (this script's child: ``fib(N)``
between enable() and disable()).  The difference between the two sizes,
divided by the difference in calls, is the marginal cost of one call, from
which start-up, imports and writing the profile have dropped out; what is
left over at the smaller size is the fixed cost.  A cost that grew with the
length of the run would show as a marginal cost above the per-call cost of
the smaller run.  Counts are deterministic to a few instructions per call,
so one run is enough; each run takes 20 to 100 times its normal time.

``--where`` splits the in-process marginal cost by function instead: for
each profiler, the instructions per call it adds to each C function
(CPython's and its own), and what part of its added cost runs in its own
code, the rest being what the interpreter spends on delivering the events.
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile

from emit import emit  # bench/emit.py
from fibsizes import SCRIPT, calls  # bench/fibsizes.py

WHOLE = {
    "plain": [],
    "cProfile": ["-m", "cProfile", "-o", "{out}"],
    "profkit": ["-m", "profkit", "func", "-o", "{out}"],
    "profkit --no-tree": ["-m", "profkit", "func", "--no-tree", "-o", "{out}"],
    "profkit --no-builtins": ["-m", "profkit", "func", "--no-builtins", "-o", "{out}"],
}


def child(variant, n):
    """fib(n) under one variant, in this process."""
    sys.path.insert(0, os.path.dirname(SCRIPT))
    from fib_n import fib

    prof = None
    if variant == "cProfile":
        import cProfile
        prof = cProfile.Profile()
    elif variant != "plain":
        import profkit
        prof = profkit.Profile(tree="--no-tree" not in variant, builtins="--no-builtins" not in variant)
    if prof is not None:
        prof.enable()
    fib(n)
    if prof is not None:
        prof.disable()


def count(argv, tmp):
    """Instructions the command executes (cachegrind's Ir total)."""
    out = os.path.join(tmp, "cg.out")
    subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}"]
                   + argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError(f"no summary in {out}")


def per_function(path):
    """{function: Ir} from a cachegrind output file, and the set of functions
    with code from the profilers' own sources (profkit's src/, _lsprof.c, rotatingtree.c)."""
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src") + os.sep
    totals, own = {}, set()
    fl = fn = None
    with open(path) as f:
        for line in f:
            if line.startswith("fl="):
                fl = line[3:].strip()
            elif line.startswith("fn="):
                fn = line[3:].strip()
                if fl.startswith(src) or fl.endswith(("_lsprof.c", "rotatingtree.c")):
                    own.add(fn)
            elif line[:1].isdigit() and fn is not None:
                parts = line.split()
                if len(parts) >= 2:
                    totals[fn] = totals.get(fn, 0) + int(parts[1])
    return totals, own


def command(opts, small, big, flag=""):
    """The "Command: ..." line that heads a table: how to rerun it."""
    variants = "" if opts.variants == ",".join(WHOLE) else f" --variants '{opts.variants}'"
    return (f"Command: `python bench/fibcount.py{flag} --sizes {small},{big}{variants}`; "
            f"{platform.machine()}, valgrind cachegrind.")


def where(opts, variants, small, big, version):
    """The --where table: in process, added instructions per call by function."""
    dcalls = calls(big) - calls(small)
    funcs, own = {}, set()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        for v in variants:
            for n in (small, big):
                print(f"in process, by function: {v} fib({n})", file=sys.stderr)
                subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                                f"--cachegrind-out-file={out}", opts.python,
                                os.path.abspath(__file__), "--child", v, str(n)],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                funcs[(v, n)], found = per_function(out)
                own |= found

    def marginal(v):
        keys = set(funcs[(v, small)]) | set(funcs[(v, big)])
        return {k: (funcs[(v, big)].get(k, 0) - funcs[(v, small)].get(k, 0)) / dcalls for k in keys}

    base = marginal("plain")
    rows = []
    for v in variants:
        if v == "plain":
            continue
        per = marginal(v)
        added = {k: per.get(k, 0) - base.get(k, 0) for k in set(per) | set(base)}
        mine = sum(x for fn, x in added.items() if fn in own)
        total = sum(added.values())
        rows.append(f"| {v} | **all** | **{total:.0f}** | own code: {mine:.0f} ({mine / total:.0%}) |")
        for fn, x in sorted(added.items(), key=lambda kv: -kv[1])[:8]:
            rows.append(f"| {v} | `{fn}` | {x:.0f} | {'own' if fn in own else 'interpreter'} |")
    text = (
        f"### Where the added instructions go, fib in process, CPython {version}\n\n"
        + command(opts, small, big, " --where")
        + "  Instructions per call of fib added "
        f"over plain, marginal from fib({small}) to fib({big}) ({dcalls:,} calls), by C function "
        "(the eight largest per profiler); own code: the profiler's extension module "
        "(profkit's _engine, cProfile's _lsprof), the rest is the interpreter delivering the "
        "events.  In process every `profkit` variant but `--no-tree` keeps the call tree.\n\n"
        "| variant | function | added Ir per call | whose |\n|---|---|---:|---|\n"
        + "\n".join(rows) + "\n"
    )
    emit(text, opts.out)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20,23", help="two fib sizes (default 20,23)")
    ap.add_argument("--variants", default=",".join(WHOLE))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--out")
    ap.add_argument("--where", action="store_true",
                    help="in process only: the added instructions per call by C function")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.child:
        return child(opts.child[0], int(opts.child[1]))
    if shutil.which("valgrind") is None:
        print("fibcount.py: valgrind is not installed", file=sys.stderr)
        return 2
    small, big = (int(s) for s in opts.sizes.split(","))
    variants = opts.variants.split(",")
    if "plain" not in variants:
        variants.insert(0, "plain")
    unknown = [v for v in variants if v not in WHOLE]
    if unknown:
        print(f"fibcount.py: unknown variant {unknown[0]!r} (known: {', '.join(WHOLE)})", file=sys.stderr)
        return 2
    version = subprocess.run([opts.python, "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()
    if opts.where:
        return where(opts, variants, small, big, version)
    dcalls = calls(big) - calls(small)
    ir = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.prof")
        for mode in ("whole process", "in process"):
            for v in variants:
                for n in (small, big):
                    print(f"{mode}: {v} fib({n})", file=sys.stderr)
                    if mode == "whole process":
                        cmd = [opts.python] + [a.format(out=out) for a in WHOLE[v]] + [SCRIPT, str(n)]
                    else:
                        cmd = [opts.python, os.path.abspath(__file__), "--child", v, str(n)]
                    ir[(mode, v, n)] = count(cmd, tmp)
    rows = []
    for mode in ("whole process", "in process"):
        base = (ir[(mode, "plain", big)] - ir[(mode, "plain", small)]) / dcalls
        for v in variants:
            per = (ir[(mode, v, big)] - ir[(mode, v, small)]) / dcalls
            fixed = ir[(mode, v, small)] - per * calls(small)
            ratio = ""
            if v not in ("plain", "cProfile") and "cProfile" in variants:
                ref = (ir[(mode, "cProfile", big)] - ir[(mode, "cProfile", small)]) / dcalls - base
                ratio = f"{(per - base) / ref:.3f}"
            rows.append(f"| {mode} | {v} | {per:.0f} | {per - base:.0f} | {ratio} | {fixed / 1e6:.1f} |")
    text = (
        f"### Instructions per call of fib, CPython {version}\n\n"
        + command(opts, small, big)
        + f"  Per call: the marginal instructions from fib({small}) to "
        f"fib({big}) ({dcalls:,} calls); added: over plain; fixed: the instructions of the "
        f"fib({small}) run that are not per call (start-up, imports, writing the profile).\n\n"
        "| timed | variant | Ir per call | added per call | added / cProfile's | fixed (M Ir) |\n"
        "|---|---|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n"
    )
    emit(text, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
