#!/usr/bin/env python3
"""Benchmark harness: wall-clock overhead of profkit against cProfile, kernprof and mprof.

Each workload is a script run as a subprocess of the interpreter under test,
once per *variant* (plain, under the reference tool, under profkit, ...).  The
harness times the whole process, repeats in rounds that alternate the order of
the variants, and reports medians as markdown tables.  Workloads come in
*groups*, one table each, and each group names the tool profkit is compared
with: "func" (``profkit func`` against cProfile), "lines" (``profkit lines``
against line_profiler's ``kernprof -l``) and "memtime" (``profkit run``
against memory_profiler's ``mprof run``).

    python bench/run.py                          # every workload, 5 rounds
    python bench/run.py --python /tmp/v3.12/bin/python --workloads fib,oop
    python bench/run.py --group lines --repeat 1
    python bench/run.py --repeat 9 --out bench/RESULTS.md

Adding a measurement is a dict entry: a new tool is one ``Variant`` in
``VARIANTS`` (an argv template), a new workload one ``Workload`` in
``WORKLOADS``, a new comparison one ``Group`` in ``GROUPS``.  See
bench/README.md for the method.

Standard library only; runs on every Python profkit supports (3.9+).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORKLOAD_DIR = BENCH_DIR / "workloads"
EXAMPLES_DIR = REPO_ROOT / "examples"


# ---- what to run --------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One way of running a workload.

    ``argv`` is a template: each word is formatted with ``{python}`` (the
    interpreter under test), ``{script}`` (the workload's absolute path) and
    ``{out}`` (a scratch file in a temporary directory, for profile output);
    the workload's own arguments are appended after the last word, so the
    template must end with ``{script}``.
    """

    argv: Tuple[str, ...]
    label: str
    # The group (key of ``GROUPS``) whose workloads it runs on; None for every
    # group ("plain").
    group: Optional[str] = "func"
    # Variants compared against their group's reference tool (cProfile,
    # kernprof) get a row in the group's table (their median goes in the
    # "profkit" column).  Anything else (memory tools, ...) is listed in the
    # "other variants" table, as a ratio to plain only.
    vs_reference: bool = False
    # Run for every workload (True), or only for workloads naming it in
    # ``Workload.extra_variants`` (False).
    default: bool = True
    # Modules the interpreter under test must import for this variant to run.
    requires: Tuple[str, ...] = ()
    # Extra environment variables for the subprocess.
    env: Dict[str, str] = field(default_factory=dict)


PROFKIT_FUNC = ("{python}", "-m", "profkit", "func", "-o", "{out}")

# The order here is the order of the runs in a forward round and of the rows
# in the tables.  "plain" and the group's reference (cProfile, kernprof, mprof) are
# the two references of every ratio.
VARIANTS: Dict[str, Variant] = {
    "plain": Variant(("{python}", "{script}"), "plain", group=None),
    # ---- function profilers ("func" group)
    # -o: cProfile would otherwise print its table, and formatting and writing
    # the text would be part of what we time.
    "cProfile": Variant(("{python}", "-m", "cProfile", "-o", "{out}", "{script}"), "cProfile"),
    "profkit": Variant(PROFKIT_FUNC + ("{script}",), "profkit", vs_reference=True,
                       requires=("profkit",)),
    # cProfile always profiles builtins: this row shows what skipping them buys.
    "profkit-nobuiltins": Variant(PROFKIT_FUNC + ("--no-builtins", "{script}"),
                                  "profkit --no-builtins", vs_reference=True, default=False,
                                  requires=("profkit",)),
    # cProfile profiles one thread; profkit all of them unless told otherwise.
    "profkit-mainthread": Variant(PROFKIT_FUNC + ("--main-thread-only", "{script}"),
                                  "profkit --main-thread-only", vs_reference=True, default=False,
                                  requires=("profkit",)),
    # ---- line profilers ("lines" group).  Both put a bare `profile` into
    # builtins and time the lines of the functions it marks.  kernprof (from
    # the line_profiler package) without -v saves its results and prints only
    # where they went; profkit lines always prints its report (to /dev/null
    # here) as well as saving it.
    "kernprof": Variant(("{python}", "-m", "kernprof", "-l", "-o", "{out}", "{script}"),
                        "kernprof -l", group="lines", requires=("kernprof",)),
    "profkit-lines": Variant(("{python}", "-m", "profkit", "lines", "-o", "{out}", "{script}"),
                             "profkit lines", group="lines", vs_reference=True,
                             requires=("profkit",)),
    # ---- memory over time ("memtime" group).  Both tools start the script as
    # a child process and sample its memory from the parent into an mprof
    # .dat file: mprof (memory_profiler) with psutil in a Python loop, profkit
    # with a C thread reading /proc/<pid>/statm.  For a .py script, mprof runs
    # the child as `python -m memory_profiler --timestamp` (its @profile
    # stamps FUNC lines), and profkit through profkit/timeline_child.py.  mprof's
    # short option is -T, not -i.  -E: without it mprof exits 0 whatever the
    # program's exit status, and a failed run would be timed as a good one.
    "mprof": Variant(("{python}", "-m", "mprof", "run", "-E", "-o", "{out}", "--interval", "0.01",
                      "{script}"),
                     "mprof run --interval 0.01", group="memtime", requires=("mprof",)),
    "profkit-run": Variant(("{python}", "-m", "profkit", "run", "-i", "0.01", "-o", "{out}",
                            "{script}"),
                           "profkit run -i 0.01", group="memtime", vs_reference=True,
                           requires=("profkit",)),
    "profkit-run-1ms": Variant(("{python}", "-m", "profkit", "run", "-i", "0.001", "-o", "{out}",
                                "{script}"),
                               "profkit run -i 0.001", group="memtime", vs_reference=True,
                               requires=("profkit",)),
    "mprof-1ms": Variant(("{python}", "-m", "mprof", "run", "-E", "-o", "{out}", "--interval",
                          "0.001", "{script}"),
                         "mprof run --interval 0.001", group="memtime", requires=("mprof",)),
    # ---- line-by-line memory ("mem" group).  Both print memory_profiler's
    # report of the functions marked @profile (to /dev/null here).
    "memory_profiler": Variant(("{python}", "-m", "memory_profiler", "{script}"),
                               "python -m memory_profiler", group="mem",
                               requires=("memory_profiler",)),
    "profkit-mem": Variant(("{python}", "-m", "profkit", "mem", "{script}"), "profkit mem",
                           group="mem", vs_reference=True, requires=("profkit",)),
    "profkit-mem-alloc": Variant(("{python}", "-m", "profkit", "mem", "--backend", "alloc",
                                  "{script}"),
                                 "profkit mem --backend alloc", group="mem", vs_reference=True,
                                 requires=("profkit",)),
    "profkit-mem-both": Variant(("{python}", "-m", "profkit", "mem", "--backend", "both",
                                 "{script}"),
                                "profkit mem --backend both", group="mem", vs_reference=True,
                                requires=("profkit",)),
}


@dataclass(frozen=True)
class Group:
    """A set of workloads, the tool profkit is compared with on them, and their table."""

    description: str
    # The competitor's variant: with "plain", the base of every ratio.
    reference: str
    # profkit's own variant: its rows are labelled by the workload alone, the
    # other compared variants by their options.
    primary: str
    # Column headers: the reference's name, and the header of profkit's time.
    reference_column: str
    profkit_column: str
    # Printed under the table.
    note: str
    # Printed just above the table, if any.
    heading: Optional[str] = None


GROUPS: Dict[str, Group] = {
    "func": Group(
        "profkit func against cProfile",
        reference="cProfile", primary="profkit",
        reference_column="cProfile", profkit_column="profkit",
        note="× columns: median of the variant / median of plain.  Last column: the time profkit "
             "adds over plain, as a fraction of the time cProfile adds (below 1: profkit is "
             "cheaper).  Rows with an option in parentheses run profkit with that option; "
             "cProfile and plain are the same runs as the row above."),
    "lines": Group(
        "profkit lines against kernprof -l (line_profiler)",
        reference="kernprof", primary="profkit-lines",
        reference_column="kernprof", profkit_column="profkit lines",
        heading="Line profiler: `profkit lines` against `kernprof -l` (line_profiler), "
                "both timing the lines of the functions marked `@profile`.",
        note="× columns: median of the variant / median of plain.  Last column: the time "
             "`profkit lines` adds over plain, as a fraction of the time `kernprof -l` adds "
             "(below 1: profkit is cheaper)."),
    "memtime": Group(
        "profkit run against mprof run (memory_profiler), memory over time",
        reference="mprof", primary="profkit-run",
        reference_column="mprof run", profkit_column="profkit run",
        heading="Memory over time: `profkit run` against memory_profiler's `mprof run`, both "
                "sampling the program's memory every 10 ms into a .dat file "
                "(`profkit run -i 0.01`, `mprof run --interval 0.01`).",
        note="× columns: median of the variant / median of plain.  Last column: the time "
             "`profkit run` adds over plain, as a fraction of the time `mprof run` adds (below 1: "
             "profkit is cheaper).  Rows marked (profkit run -i 0.001) sample every 1 ms and are "
             "compared with mprof at 10 ms; mprof at 1 ms is under Other variants.  These are "
             "whole-process times: besides the sampling, each tool adds a fixed cost of "
             "starting two interpreters (its own and the program's, which imports the tool's "
             "`@profile` support) and of ending, whatever the program does.  `mem_empty` (an "
             "empty script) shows that fixed cost; subtract its difference to plain to estimate "
             "what sampling costs a running program (the targets: within 2 % of plain at 10 ms, "
             "5 % at 1 ms)."),
    "mem": Group(
        "profkit mem against python -m memory_profiler, line-by-line memory",
        reference="memory_profiler", primary="profkit-mem",
        reference_column="memory_profiler", profkit_column="profkit mem",
        heading="Line-by-line memory: `profkit mem` against `python -m memory_profiler`, both "
                "reporting the functions marked `@profile`.",
        note="× columns: median of the variant / median of plain.  Last column: the time "
             "`profkit mem` adds over plain, as a fraction of the time memory_profiler adds "
             "(target: at most 0.05, that is 1/20; aim 0.02).  Rows with `--backend` use "
             "profkit's allocation hooks; memory_profiler is the same run as the row above."),
}

# The package to install for a module a variant or workload requires, when
# the names differ (for the notes of skipped cells).
PACKAGES = {"kernprof": "line_profiler", "mprof": "memory_profiler"}


@dataclass(frozen=True)
class Workload:
    path: Path
    description: str
    args: Tuple[str, ...] = ()
    # Modules the interpreter under test must import, else the workload is
    # skipped with a note.
    requires: Tuple[str, ...] = ()
    # Non-default variants (``Variant.default=False``) to run as well.
    extra_variants: Tuple[str, ...] = ()
    # Which group (key of ``GROUPS``) it belongs to: its variants and table.
    group: str = "func"
    # The script uses a bare @profile with no fallback (kernprof style): its
    # plain run puts an identity ``profile`` into builtins first.
    plain_needs_profile: bool = False
    # Printed under its group's table when it ran.
    note: Optional[str] = None


WORKLOADS: Dict[str, Workload] = {
    "fib": Workload(WORKLOAD_DIR / "fib.py", "call-heavy recursion",
                    extra_variants=("profkit-nobuiltins",)),
    "loops": Workload(WORKLOAD_DIR / "loops.py", "arithmetic loops, few calls"),
    "oop": Workload(WORKLOAD_DIR / "oop.py", "classes, methods, properties"),
    "generators": Workload(WORKLOAD_DIR / "generators.py", "generator pipelines"),
    "exceptions": Workload(WORKLOAD_DIR / "exceptions.py", "raise/catch across frames"),
    "threads": Workload(WORKLOAD_DIR / "threads.py", "4 threads of pure Python",
                        extra_variants=("profkit-mainthread",)),
    "slow": Workload(EXAMPLES_DIR / "time" / "slow.py", "example: sleeps and a little arithmetic"),
    "linalg": Workload(EXAMPLES_DIR / "time" / "linalg.py", "example: numpy/scipy",
                       requires=("numpy", "scipy")),
    "mem": Workload(EXAMPLES_DIR / "memory" / "mem.py", "example: big lists"),
    # Line profiler workloads: each marks some functions with a bare @profile.
    "lines_loop": Workload(WORKLOAD_DIR / "lines_loop.py",
                           "one @profile function, tight arithmetic loop, no calls", group="lines"),
    "lines_calls": Workload(WORKLOAD_DIR / "lines_calls.py",
                            "@profile loop calling undecorated helpers", group="lines"),
    "lines_gen": Workload(WORKLOAD_DIR / "lines_gen.py",
                          "@profile generator, undecorated consumer", group="lines"),
    "lines_outside": Workload(
        WORKLOAD_DIR / "lines_outside.py", "tiny @profile function, the work done elsewhere",
        group="lines",
        note="`lines_outside` spends almost all its time outside its one small `@profile` "
             "function: its × columns are what each tool costs the code it does not profile "
             "(plus its fixed cost: start-up, saving the results)."),
    "linalg_kern": Workload(EXAMPLES_DIR / "time" / "linalg_kern.py",
                            "example: numpy/scipy, @profile on make_sparse", group="lines",
                            requires=("numpy", "scipy"), plain_needs_profile=True),
    # Memory over time: the tools sample the program from their own process.
    "mem_churn": Workload(WORKLOAD_DIR / "mem_churn.py",
                          "build and drop dicts, lists, strings: memory up and down",
                          group="memtime"),
    "mem_compute": Workload(WORKLOAD_DIR / "mem_compute.py",
                            "recursion and integer arithmetic, flat memory", group="memtime"),
    "mem_example": Workload(EXAMPLES_DIR / "memory" / "mem.py",
                            "example: big lists (short run, mostly fixed cost)", group="memtime"),
    "mem_empty": Workload(
        WORKLOAD_DIR / "mem_empty.py", "an empty script: the fixed cost of each tool",
        group="memtime",
        note="`mem_empty` does nothing: its seconds over plain are each tool's fixed cost "
             "(start-up of the tool and of the program under it, writing the file, noticing "
             "the end), paid once by every run whatever its length."),
    # Line-by-line memory: functions marked @profile.
    "memlines_loop": Workload(WORKLOAD_DIR / "memlines_loop.py",
                              "one @profile function: a tight loop, a few allocations",
                              group="mem", extra_variants=("profkit-mem-alloc", "profkit-mem-both")),
    "mem_kern_refactored": Workload(EXAMPLES_DIR / "memory" / "mem_kern_refactored.py",
                                    "example: @profile on main, big lists", group="mem",
                                    plain_needs_profile=True,
                                    extra_variants=("profkit-mem-alloc", "profkit-mem-both")),
    "mem_kern": Workload(EXAMPLES_DIR / "memory" / "mem_kern.py",
                         "example: @profile on a helper called 200 times", group="mem",
                         plain_needs_profile=True),
}

# The plain run of a script that needs a `profile` builtin: an identity
# decorator, then the script run as __main__ with its folder first on
# sys.path, as `python SCRIPT` would.  (runpy costs about a millisecond.)
PLAIN_WITH_PROFILE = """\
import builtins, os, runpy, sys
builtins.profile = lambda func: func
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


# ---- the interpreter under test ----------------------------------------------

# Run in the interpreter under test: what it is, what it can import, and
# profkit's clock.  Prints one JSON object.
PROBE = r"""
import importlib, json, platform, sys
out = {"version": platform.python_version(), "implementation": platform.python_implementation(),
       "full_version": " ".join(sys.version.split()), "executable": sys.executable,
       "missing": [], "profkit": None, "clock": None}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as exc:
        out["missing"].append(name)
try:
    import profkit, profkit._engine as engine
    out["profkit"] = {"file": profkit.__file__, "version": getattr(profkit, "__version__", "?")}
    out["clock"] = repr(engine.clock_info())
except Exception as exc:
    out["profkit_error"] = "%s: %s" % (type(exc).__name__, exc)
print(json.dumps(out))
"""


def probe(python: str, env: Dict[str, str], modules: List[str]) -> dict:
    proc = subprocess.run([python, "-c", PROBE] + modules, env=env, cwd=tempfile.gettempdir(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if proc.returncode != 0:
        sys.exit(f"run.py: cannot run {python}:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def subprocess_env(python: str, modules: List[str]) -> Tuple[Dict[str, str], dict]:
    """The environment of every run, and the probe of the interpreter in it.

    profkit comes from the environment if the interpreter can import it (an
    installed or in-place build); failing that, the repository root is put in
    front of PYTHONPATH (for an in-place build made after the fact).
    """
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"  # same dict/set layouts in every run
    # Byte-code caches as a user has them: with PYTHONDONTWRITEBYTECODE an
    # editable install recompiles the tool's modules in every run, which a
    # wheel (memory_profiler, line_profiler) never does.  The warm-up run
    # writes them.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    info = probe(python, env, modules)
    if info["profkit"] is None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        info = probe(python, env, modules)
        if info["profkit"] is None:
            print(f"run.py: warning: {python} cannot import profkit "
                  f"({info.get('profkit_error')}); build it in place with\n"
                  f"  cd {REPO_ROOT} && {python} setup.py -q build_ext --inplace",
                  file=sys.stderr)
    return env, info


# ---- measuring ----------------------------------------------------------------


@dataclass
class Result:
    """The timings of one variant on one workload."""

    times: List[float] = field(default_factory=list)
    error: Optional[str] = None  # set when a run failed: the variant stops there
    skipped: Optional[str] = None  # set when it was not run at all, and why

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None and bool(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def command(vname: str, workload: Workload, python: str, out: Path) -> List[str]:
    if vname == "plain" and workload.plain_needs_profile:
        return [python, "-c", PLAIN_WITH_PROFILE, str(workload.path)] + list(workload.args)
    words = {"python": python, "script": str(workload.path), "out": str(out)}
    return [w.format(**words) for w in VARIANTS[vname].argv] + list(workload.args)


def run_once(argv: List[str], env: Dict[str, str], cwd: str, timeout: float) -> Tuple[float, Optional[str]]:
    """Wall-clock seconds of one run, and an error text if it failed."""
    start = time.perf_counter()
    try:
        # The program's output is discarded; stderr is kept for error reports.
        proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, f"timed out after {timeout:g} s"
    except OSError as exc:
        return time.perf_counter() - start, str(exc)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        return elapsed, f"exit status {proc.returncode}\n{err}"
    return elapsed, None


def measure(name: str, workload: Workload, variants: List[str], python: str,
            env: Dict[str, str], rounds: int, timeout: float, log) -> Dict[str, Result]:
    """Time every variant of one workload, `rounds` times each.

    An untimed warm-up run of each variant comes first (it fills the page
    cache and the .pyc files, and catches broken variants early).  Then each
    round runs every variant once, the order reversed every other round
    (ABC, CBA, ABC, ...) so that a slow drift of the machine weighs the same
    on all variants.
    """
    results = {v: Result() for v in variants}
    with tempfile.TemporaryDirectory(prefix="profkit-bench-") as scratch:

        def run(vname: str, timed: bool) -> None:
            res = results[vname]
            if res.error is not None:
                return
            argv = command(vname, workload, python, Path(scratch) / f"{vname}.out")
            venv = dict(env, **VARIANTS[vname].env)
            elapsed, error = run_once(argv, venv, scratch, timeout)
            if error is not None:
                res.error = error
                log(f"  {name} / {vname}: FAILED: {shlex.join(argv)}")
                log("    " + error.replace("\n", "\n    "))
            elif timed:
                res.times.append(elapsed)

        log(f"{name}: warm-up")
        for vname in variants:
            run(vname, timed=False)
        for r in range(rounds):
            order = variants if r % 2 == 0 else variants[::-1]
            for vname in order:
                run(vname, timed=True)
            done = ", ".join(f"{v} {results[v].times[-1]:.3f}" for v in order
                             if results[v].error is None and results[v].times)
            log(f"{name}: round {r + 1}/{rounds}: {done}")
    return results


# ---- reporting ----------------------------------------------------------------

# A cProfile overhead below this fraction of the plain run is within the noise
# of the measurement: the ratio of overheads is then not reported.
NOISE_FRACTION = 0.05


def cell_time(res: Optional[Result]) -> str:
    if res is None:
        return "—"
    if res.skipped is not None:
        return "skipped"
    if not res.ok:
        return "error"
    return f"{res.median:.3f}"


def cell_ratio(res: Optional[Result], base: Optional[Result]) -> str:
    if res is None or base is None:
        return "—"
    if not (res.ok and base.ok):
        return "error" if (res.error or base.error) else "—"
    return f"{res.median / base.median:.2f}"


def cell_overhead_ratio(res: Result, ref: Result, plain: Result) -> Tuple[str, bool]:
    """(profkit − plain) / (reference − plain), and whether it was too noisy."""
    if not (res.ok and ref.ok and plain.ok):
        return ("error" if (res.error or ref.error or plain.error) else "—"), False
    base = ref.median - plain.median
    if base < NOISE_FRACTION * plain.median:
        return "n/a†", True
    return f"{(res.median - plain.median) / base:.2f}", False


def render(info: dict, rounds: int, python: str, all_results: Dict[str, Dict[str, Result]],
           notes: List[str]) -> str:
    lines = []
    now = datetime.datetime.now().astimezone()
    lines.append(f"## {info['implementation']} {info['version']} — {now:%Y-%m-%d %H:%M}")
    lines.append("")
    lines.append(f"- Date: {now.isoformat(timespec='seconds')}")
    cmdline = shlex.join([sys.executable] + sys.argv)
    lines.append(f"- Command: `{cmdline}`")
    lines.append(f"- Python: `{python}` — {info['full_version']}")
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    core_text = f"{cores} logical" + (f" ({usable} usable)" if usable != cores else "")
    lines.append(f"- CPU: {cpu_model()}, {core_text}; load average at end: "
                 + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    lines.append(f"- OS: {platform.platform()}")
    if info["profkit"]:
        lines.append(f"- profkit {info['profkit']['version']} from `{info['profkit']['file']}`"
                     f"{git_revision()}")
        lines.append(f"- profkit clock: `{info['clock']}`")
    else:
        lines.append(f"- profkit: not importable ({info.get('profkit_error')})")
    lines.append(f"- Method: {rounds} round{'s' if rounds != 1 else ''}, variant order alternating each round, median wall-clock "
                 "time of the whole process (interpreter start-up included); profile output "
                 "written to a scratch file with `-o`.")
    lines.append("")

    # One table per group: a row per (workload, variant compared with the
    # group's reference).
    others = []
    first = True
    for gname, group in GROUPS.items():
        members = {w: r for w, r in all_results.items() if WORKLOADS[w].group == gname}
        if not members:
            continue
        if not first:
            lines.append("")
        first = False
        lines.extend(group_table(group, members, others))

    if others:
        lines.append("")
        lines.append("Other variants:")
        lines.append("")
        lines.append("| workload | variant | median (s) | × plain |")
        lines.append("|---|---|---:|---:|")
        for wname, vname, res, plain in others:
            lines.append(f"| {wname} | {VARIANTS[vname].label} | {cell_time(res)} "
                         f"| {cell_ratio(res, plain)} |")

    # Every timing, to judge the spread.
    lines.append("")
    lines.append("<details><summary>All runs (median, min, max in seconds)</summary>")
    lines.append("")
    lines.append("| workload | variant | runs | median | min | max | (max−min)/median |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    for wname, results in all_results.items():
        for vname, res in results.items():
            if res.ok:
                spread = (max(res.times) - min(res.times)) / res.median
                lines.append(f"| {wname} | {VARIANTS[vname].label} | {len(res.times)} "
                             f"| {res.median:.3f} | {min(res.times):.3f} | {max(res.times):.3f} "
                             f"| {spread:.1%} |")
            else:
                lines.append(f"| {wname} | {VARIANTS[vname].label} | {len(res.times)} "
                             f"| {cell_time(res)} | | | |")
    lines.append("")
    lines.append("</details>")

    if notes:
        lines.append("")
        lines.extend(f"- {n}" for n in notes)
    lines.append("")
    return "\n".join(lines)


def group_table(group: Group, all_results: Dict[str, Dict[str, Result]],
                others: List[tuple]) -> List[str]:
    """The markdown table of one group; variants not compared go to `others`."""
    lines = []
    if group.heading:
        lines.append(group.heading)
        lines.append("")
    ref_col = group.reference_column
    lines.append(f"| workload | plain (s) | {ref_col} (s) | {group.profkit_column} (s) | {ref_col} × "
                 f"| profkit × | profkit overhead / {ref_col} overhead |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    noisy = False
    notes = []
    primary_label = VARIANTS[group.primary].label + " "
    for wname, results in all_results.items():
        plain, ref = results.get("plain"), results.get(group.reference)
        for vname, res in results.items():
            if vname in ("plain", group.reference):
                continue
            variant = VARIANTS[vname]
            if not variant.vs_reference:
                others.append((wname, vname, res, plain))
                continue
            label = (wname if vname == group.primary
                     else f"{wname} ({variant.label.replace(primary_label, '')})")
            if plain is None or ref is None:
                ratio = "—"
            else:
                ratio, was_noisy = cell_overhead_ratio(res, ref, plain)
                noisy |= was_noisy
            lines.append(f"| {label} | {cell_time(plain)} | {cell_time(ref)} | {cell_time(res)} "
                         f"| {cell_ratio(ref, plain)} | {cell_ratio(res, plain)} | {ratio} |")
        if WORKLOADS[wname].note:
            notes.append(WORKLOADS[wname].note)
    lines.append("")
    lines.append(group.note)
    if noisy:
        lines.append(f"† {ref_col} adds less than {NOISE_FRACTION:.0%} to the plain run here, "
                     "so the ratio of the overheads would be noise.")
    lines.extend(notes)
    return lines


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True)
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain",
                                "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               universal_newlines=True)
    except OSError:
        return ""
    if rev.returncode != 0:
        return ""
    return f", commit {rev.stdout.strip()}" + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def write_out(path: Path, text: str) -> None:
    """Append `text` to the markdown file `path`, starting it with a title if new."""
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a") as f:
        if new:
            f.write("# profkit benchmark results\n\n"
                    "Written by `bench/run.py`; see bench/README.md for the method.\n\n")
        f.write(text)


# ---- command line ---------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Time workloads plain, under cProfile, kernprof or mprof and under profkit; "
                    "print markdown tables.")
    p.add_argument("--python", metavar="PATH", default=sys.executable,
                   help="interpreter to benchmark (default: the one running this script)")
    p.add_argument("--group", choices=list(GROUPS),
                   help="run only this group's workloads: " + "; ".join(
                       f"{g}: {GROUPS[g].description}" for g in GROUPS) + " (default: all)")
    p.add_argument("--workloads", metavar="A,B", help="comma-separated workloads to run "
                   f"(default: all of {','.join(WORKLOADS)})")
    p.add_argument("--variants", metavar="A,B", help="comma-separated variants to run; plain and "
                   "the group's reference (cProfile, kernprof, mprof) always run "
                   f"(default: all of {','.join(VARIANTS)})")
    p.add_argument("--repeat", metavar="N", type=int, default=5,
                   help="timed rounds per workload (default: 5; use 5 or more for results)")
    p.add_argument("--timeout", metavar="S", type=float, default=600.0,
                   help="seconds before one run counts as failed (default: 600)")
    p.add_argument("--out", metavar="FILE", type=Path,
                   help="also append the markdown section to FILE (created if missing)")
    p.add_argument("--list", action="store_true", help="list workloads and variants, and exit")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    names = pick(p, "--workloads", args.workloads, WORKLOADS)
    if args.group:
        if args.workloads:
            outside = [n for n in names if WORKLOADS[n].group != args.group]
            if outside:
                p.error(f"--workloads: {', '.join(outside)} not in --group {args.group}")
        names = [n for n in names if WORKLOADS[n].group == args.group]
    chosen = set(pick(p, "--variants", args.variants, VARIANTS))
    named_groups = {VARIANTS[v].group for v in chosen} - {None}
    if named_groups:
        # Only the groups --variants names a variant of.
        names = [n for n in names if WORKLOADS[n].group in named_groups]
    if not names:
        p.error("no workload left to run: --workloads, --group and --variants do not overlap")
    args.workload_names = names
    # The groups of the chosen workloads; only their variants run.
    args.groups = [g for g in GROUPS if any(WORKLOADS[n].group == g for n in names)]
    chosen |= {"plain"} | {GROUPS[g].reference for g in args.groups}
    args.variant_names = [v for v in VARIANTS if v in chosen
                          and VARIANTS[v].group in (None, *args.groups)]
    return args


def pick(parser, option: str, text: Optional[str], table: dict) -> List[str]:
    if not text:
        return list(table)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"{option}: unknown {', '.join(unknown)} (choose from {', '.join(table)})")
    return [n for n in table if n in names]  # the table's order


def modules_text(names: List[str]) -> str:
    """Module names for a note, with the package to install when it differs."""
    return ", ".join(f"{n} (package {PACKAGES[n]})" if n in PACKAGES else n for n in names)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        for gname, group in GROUPS.items():
            print(f"group {gname}: {group.description}")
            print("  workloads:")
            for name, w in WORKLOADS.items():
                if w.group == gname:
                    extra = f" [+ {', '.join(w.extra_variants)}]" if w.extra_variants else ""
                    print(f"    {name:<14}{w.description}{extra}  "
                          f"({os.path.relpath(w.path, REPO_ROOT)})")
            print("  variants:")
            for name, v in VARIANTS.items():
                if v.group in (None, gname):
                    print(f"    {name:<20}{' '.join(v.argv)}"
                          f"{'' if v.default else '  (opt-in per workload)'}")
        return 0

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    python = args.python
    # profkit is probed separately (with its clock); the rest by name.
    wanted = {m for w in args.workload_names for m in WORKLOADS[w].requires}
    wanted |= {m for v in args.variant_names for m in VARIANTS[v].requires}
    modules = sorted(wanted - {"profkit"})
    env, info = subprocess_env(python, modules)
    missing = set(info["missing"]) | (set() if info["profkit"] else {"profkit"})
    log(f"benchmarking {info['implementation']} {info['version']} ({python}), "
        f"{args.repeat} round(s); profkit: {info['profkit']['file'] if info['profkit'] else 'MISSING'}")

    all_results: Dict[str, Dict[str, Result]] = {}
    notes: List[str] = []
    for wname in args.workload_names:
        workload = WORKLOADS[wname]
        lacking = [m for m in workload.requires if m in missing]
        if lacking:
            note = f"{wname}: skipped, {modules_text(lacking)} not importable by this Python."
            notes.append(note)
            log(note)
            continue
        variants = [v for v in args.variant_names
                    if VARIANTS[v].group in (None, workload.group)
                    and (VARIANTS[v].default or v in workload.extra_variants)]
        runnable = [v for v in variants if not set(VARIANTS[v].requires) & missing]
        results = measure(wname, workload, runnable, python, env, args.repeat, args.timeout, log)
        for v in variants:
            if v not in runnable:
                lack = modules_text(sorted(set(VARIANTS[v].requires) & missing))
                results[v] = Result(skipped=f"{lack} not importable")
                notes.append(f"{wname} / {VARIANTS[v].label}: skipped, {lack} not importable.")
        all_results[wname] = {v: results[v] for v in variants}  # table order
        for v in variants:
            if results[v].error is not None:
                last = results[v].error.strip().splitlines()[-1]
                notes.append(f"{wname} / {VARIANTS[v].label}: error ({last}); full stderr in the log.")

    text = render(info, args.repeat, python, all_results, notes)
    print(text)
    if args.out is not None:
        write_out(args.out, text)
        log(f"appended to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
