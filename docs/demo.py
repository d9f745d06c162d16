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


def run(args, head=None, note=None, input_text=None):
    shown = " ".join(["python" if a == sys.executable else shlex.quote(a) for a in args])
    print(f"\n$ {shown}\n", flush=True)
    cmd = [sys.executable, "-m", "profkit"] + args[1:] if args[0] == "profkit" else args
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, input=input_text)
    lines = (out.stdout + out.stderr).rstrip("\n").splitlines()
    if head is not None and len(lines) > head:
        lines = lines[:head] + [f"    ... ({len(lines) - head} more lines)"]
    print("\n".join(lines))
    if note:
        print(f"\n-> {note}")
    if out.returncode != 0:
        sys.exit(f"demo step failed with exit code {out.returncode}")


def _have(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def browser():
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def report_html(script):
    """Step 3: the HTML report of `script`, then, when a headless Chromium is
    here, what it draws (the frames the page lists with #frames in its
    address) and a screenshot."""
    import json
    import re

    folder = os.path.join("build", "demo")
    os.makedirs(os.path.join(ROOT, folder), exist_ok=True)
    page = os.path.join(folder, "linalg.html")
    run(["profkit", "func", "-o", page, script],
        note="one file, no server, nothing fetched: open it in any browser, offline.")
    exe = browser()
    if exe is None:
        print("\n(no chromium here: make chromium installs one to look at the page headless)")
        return
    url = "file://" + os.path.join(ROOT, page)
    flags = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=1400,1000"]
    dom = subprocess.run(flags + ["--dump-dom", url + "#frames"], capture_output=True, text=True,
                         timeout=120).stdout
    m = re.search(r'<pre id="pk-frames" hidden="">(.*?)</pre>', dom, re.S)
    if m:
        import html

        drawn = json.loads(html.unescape(m.group(1)))
        frames = [f for f in drawn["frames"] if not f["small"]]
        module = next(f for f in frames if f["name"] == "<module>")
        chain = ("main", "build_matrices")  # the module's callers of make_sparse, doing nothing else
        widest = max((f for f in frames if f["y"] > module["y"] and f["name"] not in chain),
                     key=lambda f: f["w"])
        print(f"\nThe browser drew {len(frames)} frames; under <module> ({module['w']:.0f} px wide) "
              f"the widest that does work is {widest['name']} ({widest['w']:.0f} px, "
              f"{100 * widest['w'] / module['w']:.0f}%).")
    shot = os.path.join(folder, "report-linalg.png")
    subprocess.run(flags + [f"--screenshot={os.path.join(ROOT, shot)}", url + "#select=make_sparse"],
                   capture_output=True, timeout=120)
    print(f"-> a screenshot of the page, make_sparse selected: {shot} (docs/report-linalg.png is one)")


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

    banner("3. See it: one HTML file with the flame graph of the exact call tree")
    report_html(os.path.join(TIME, "linalg.py"))

    banner("4. Which line?  profkit lines (what kernprof -l -v reports), on the @profile-marked copy")
    run(["profkit", "lines", "-o", "demo.lprof", os.path.join(TIME, "linalg_kern.py")],
        note="the membership test inside the double loop is the hot line.")

    banner("5. The same without touching the code: choose the function by name")
    run(["profkit", "lines", "-o", "demo.lprof", "-f", "make_sparse", os.path.join(TIME, "linalg.py")],
        head=26)

    banner("6. Saved profiles, for later and for other tools")
    run(["profkit", "show", "demo.lprof"], head=21)
    run(["profkit", "func", "-o", "demo.prof", os.path.join(TIME, "slow.py")])
    run([sys.executable, "-c", 'import pstats; pstats.Stats("demo.prof").sort_stats("tottime").print_stats(4)'])
    run(["profkit", "func", "-o", "callgrind.out.demo", os.path.join(TIME, "slow.py")],
        note="also x.speedscope.json (speedscope.app) and x.collapsed (flamegraph.pl, inferno); "
             "profkit show reads them all back.")
    for name in ("demo.lprof", "demo.prof", "callgrind.out.demo"):
        os.unlink(os.path.join(ROOT, name))

    banner("7. The fix: a vectorised make_sparse that builds the very same matrices")
    slow, fast = timed(os.path.join(TIME, "linalg.py")), timed(os.path.join(TIME, "linalg_solution.py"))
    print(f"\nlinalg.py          {slow:6.2f} s\nlinalg_solution.py {fast:6.2f} s   ({slow / fast:.0f}x faster)")

    banner("8. Memory over time: profkit run (what mprof run records), then profkit plot")
    mem = os.path.join("examples", "memory")
    pictures = os.path.join("build", "demo")
    os.makedirs(os.path.join(ROOT, pictures), exist_ok=True)
    dat = os.path.join(pictures, "mem.dat")
    run(["profkit", "run", "--interval", "0.01", "-o", dat, os.path.join(mem, "mem.py")],
        note="a C thread in profkit's own process samples the program's memory from /proc; "
             "each sample reaches the .dat file as it is taken.")
    run(["profkit", "peak", dat])
    picture = os.path.join(pictures, "mem.png" if _have("matplotlib") else "mem.svg")
    run(["profkit", "plot", dat, "-o", picture],
        note=f"open {picture}: the rise, the partial fall when half the lists go, the second rise.")
    run(["profkit", "run", "--interval", "0.01", "-o", dat, os.path.join(mem, "mem_kern_refactored.py")],
        head=4)
    run(["profkit", "plot", dat, "--flame", "-o", os.path.join(pictures, "mem_flame.svg")],
        note="the @profile function main is drawn under the curve (FUNC lines of the .dat file).")
    os.unlink(os.path.join(ROOT, dat))

    banner("9. Which line holds the memory?  profkit mem (what python -m memory_profiler reports)")
    run(["profkit", "mem", os.path.join(mem, "mem_kern.py")],
        note="@profile sits on the helper that makes one list: its table says little, and profkit "
             "names the caller that keeps the lists.")
    run(["profkit", "mem", "--backend", "both", os.path.join(mem, "mem_kern_refactored.py")],
        note="with the decorator where the lists live: the rise, the partial release and the second "
             "rise, in RSS and in exact bytes (Allocated, Net, Peak).")

    banner("Next")
    print("profkit func --help          options of the function profiler")
    print("profkit lines --help         options of the line profiler")
    print("profkit mem --help           options of the line-by-line memory profiler")
    print("profkit run --help           options of the memory sampler; profkit plot --help")
    print("bench/RESULTS.md             overheads measured against cProfile, kernprof, memory_profiler")


if __name__ == "__main__":
    main()
