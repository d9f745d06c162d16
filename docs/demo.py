"""The walk-through behind `make demo`: the tutorial's workflow on examples/.

Each step prints the command it runs, then that command's real output.
"""
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIME = os.path.join("examples", "time")


def banner(text):
    print()
    print("=" * 78)
    print(text)
    print("=" * 78)


def run(args, head=None, note=None):
    shown = " ".join(["python" if a == sys.executable else shlex.quote(a) for a in args])
    print(f"\n$ {shown}\n", flush=True)
    cmd = [sys.executable, "-m", "profkit"] + args[1:] if args[0] == "profkit" else args
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    lines = (out.stdout + out.stderr).rstrip("\n").splitlines()
    if head is not None and len(lines) > head:
        lines = lines[:head] + [f"    ... ({len(lines) - head} more lines)"]
    print("\n".join(lines))
    if note:
        print(f"\n-> {note}")
    if out.returncode != 0:
        sys.exit(f"demo step failed with exit code {out.returncode}")


def timed(script):
    start = time.perf_counter()
    subprocess.run([sys.executable, script], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    banner("1. Which function takes the time?  profkit func (what python -m cProfile reports)")
    run(["profkit", "func", "-s", "tottime", os.path.join(TIME, "slow.py")],
        note="func3 > func2 > func1, in their own code (tottime) and with the sleeps they wait on (cumtime).")

    banner("2. A realistic script: some linear algebra, and one poor helper")
    run(["profkit", "func", "-s", "tottime", os.path.join(TIME, "linalg.py")], head=16,
        note="make_sparse, not the algebra, dominates: it tests membership in a Python list in a double loop.")

    banner("3. The same profile saved for other tools (pstats, snakeviz, gprof2dot)")
    run(["profkit", "func", "-o", "linalg.prof", os.path.join(TIME, "linalg.py")])
    run([sys.executable, "-c", "import pstats; pstats.Stats('linalg.prof').sort_stats('cumtime').print_stats(5)"],
        head=14)
    os.unlink(os.path.join(ROOT, "linalg.prof"))

    banner("4. The fix: a vectorised make_sparse that builds the very same matrices")
    slow, fast = timed(os.path.join(TIME, "linalg.py")), timed(os.path.join(TIME, "linalg_solution.py"))
    print(f"\nlinalg.py          {slow:6.2f} s\nlinalg_solution.py {fast:6.2f} s   ({slow / fast:.0f}x faster)")

    banner("Next")
    print("profkit func --help          options of the function profiler")
    print("bench/RESULTS.md             overhead measured against cProfile (make bench)")


if __name__ == "__main__":
    main()
