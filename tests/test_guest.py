"""profkit beside the other tools that hook Python: coverage (its API and
``pytest --cov``, with each of its cores), a debugger (pdb), and functions
set with sys.settrace/setprofile and threading.settrace/setprofile.

Each case runs in a subprocess, as a user would run it, and the same
program without profkit (or with line_profiler) is the reference: the
other tool must see exactly what it sees without profkit, on the main
thread, in threads started while profkit is on, and after it is off."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import write

HAVE_COVERAGE = importlib.util.find_spec("coverage") is not None
HAVE_PYTEST_COV = importlib.util.find_spec("pytest_cov") is not None
needs_coverage = pytest.mark.skipif(not HAVE_COVERAGE, reason="coverage is not installed")

# The hooks profkit uses: PyEval_SetTrace/SetProfile before 3.12; there,
# sys.monitoring, and the legacy hooks when asked (PROFKIT_BACKEND=legacy).
BACKENDS = ["monitoring", "legacy"] if sys.version_info >= (3, 12) else ["legacy"]
# coverage's cores: its C tracer everywhere, its sys.monitoring core from 3.12
CORES = ["ctrace", "sysmon"] if sys.version_info >= (3, 12) else ["ctrace", "pytrace"]


def run(cwd, *args, env=None, input=None):
    full = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "COVERAGE_CORE", "PROFKIT_BACKEND", "COV_CORE_SOURCE",
                         "COV_CORE_CONFIG", "COV_CORE_DATAFILE")}
    full["PYTHONIOENCODING"] = "utf-8"
    full.update(env or {})
    r = subprocess.run([sys.executable, *args], cwd=str(cwd), env=full, capture_output=True,
                       text=True, timeout=120, input=input)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


# A module whose lines run on the main thread, in a thread started while
# profkit is on, and after profkit is off.
WORK = """\
import threading

def helper(n):
    total = 0
    for i in range(n):
        total += i
    return total

def in_thread(out):
    out.append(helper(10))
    if out:
        out.append(1)

def run():
    out = []
    t = threading.Thread(target=in_thread, args=(out,))
    t.start()
    t.join()
    return helper(5), out

def after():
    x = 1
    return x + 1
"""

# Runs WORK under coverage's API and the profiler named by argv[1]; prints
# the lines coverage saw and what profkit counted in helper.
DRIVER = """\
import json, sys
mode, use_coverage = sys.argv[1], sys.argv[2] == "cov"
if use_coverage:
    import coverage
    cov = coverage.Coverage(data_file=None)
    cov.start()
import work
import profkit
if mode == "func":
    prof = profkit.Profile()
elif mode == "lines":
    prof = profkit.LineProfiler(work.helper, work.in_thread)
elif mode == "mem":
    prof = profkit.LineMemoryProfiler(work.helper, work.in_thread)
if mode != "none":
    prof.enable()
result = work.run()
if mode != "none":
    prof.disable()
work.after()
if use_coverage:
    cov.stop()
    lines = sorted(cov.get_data().lines(work.__file__))
else:
    lines = None
hits = None
if mode == "lines":
    hits = {k[2]: [[ln, h] for ln, h, _ in v] for k, v in prof.get_stats().timings.items()}
print(json.dumps({"result": result, "lines": lines, "hits": hits}))
"""


@needs_coverage
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("mode", ["func", "lines", "mem"])
def test_coverage_sees_the_same_lines_with_profkit_on(tmp_path, mode, core, backend):
    write(tmp_path / "work.py", WORK)
    write(tmp_path / "driver.py", DRIVER)
    env = {"COVERAGE_CORE": core, "PROFKIT_BACKEND": backend}
    alone = json.loads(run(tmp_path, "driver.py", "none", "cov", env=env).stdout)
    beside = json.loads(run(tmp_path, "driver.py", mode, "cov", env=env).stdout)
    # every line of WORK but the def lines' bodies never run: all of them
    assert alone["lines"] == [1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 21, 22, 23]
    assert beside["lines"] == alone["lines"]
    assert beside["result"] == alone["result"] == [10, [45, 1]]
    if mode == "lines":  # and profkit counts what it counts without coverage
        without = json.loads(run(tmp_path, "driver.py", mode, "nocov", env=env).stdout)
        assert beside["hits"] == without["hits"]
        assert beside["hits"]["helper"] == [[4, 2], [5, 17], [6, 15], [7, 2]]


# A package tested with pytest --cov, whose tests profile it with profkit
# (PROFKIT_MODE) in a thread and on the main thread.
TESTS = """\
import os, threading
import profkit
import work

def profiler():
    mode = os.environ.get("PROFKIT_MODE", "none")
    if mode == "func":
        return profkit.Profile()
    if mode == "lines":
        return profkit.LineProfiler(work.helper)
    if mode == "mem":
        return profkit.LineMemoryProfiler(work.helper)
    return None

def test_run():
    prof = profiler()
    if prof is not None:
        prof.enable()
    assert work.run() == (10, [45, 1])
    if prof is not None:
        prof.disable()

def test_after():
    assert work.after() == 2
"""


@needs_coverage
@pytest.mark.skipif(not HAVE_PYTEST_COV, reason="pytest-cov is not installed")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["func", "lines", "mem"])
def test_pytest_cov_sees_the_same_lines_with_profkit_on(tmp_path, mode, backend):
    write(tmp_path / "work.py", WORK)
    write(tmp_path / "test_work.py", TESTS)
    covered = {}
    for m in ("none", mode):
        run(tmp_path, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cov=work",
            f"--cov-report=json:{m}.json", "test_work.py",
            env={"PROFKIT_MODE": m, "PROFKIT_BACKEND": backend})
        with open(tmp_path / f"{m}.json") as f:
            covered[m] = json.load(f)["files"]["work.py"]["executed_lines"]
    assert covered["none"] == [1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 21, 22, 23]
    assert covered[mode] == covered["none"]


# Trace and profile functions set through sys and threading before profkit
# starts; threads started before, during and after it.
HOOKS = """\
import sys, threading
from collections import Counter
import profkit

mode = sys.argv[1]
events = Counter()

def tf(frame, event, arg):
    if frame.f_code.co_name == "work":
        events["trace", threading.current_thread().name, event] += 1
        return tf

def pf(frame, event, arg):
    if frame.f_code.co_name == "work":
        events["profile", threading.current_thread().name, event] += 1

def work(n):
    t = 0
    for i in range(n):
        t += i
    return t

def hooks():
    return [sys.gettrace() is tf, sys.getprofile() is pf]

report = {}

def thread(name, wait=None):
    def body():
        if wait is not None:
            wait.wait()
        report[name] = hooks()
        work(2)
    t = threading.Thread(target=body, name=name)
    t.start()
    return t

threading.settrace(tf)
threading.setprofile(pf)
sys.settrace(tf)
sys.setprofile(pf)
go = threading.Event()
across = thread("across", go)  # started before, runs after
prof = {"lines": lambda: profkit.LineProfiler(work), "func": profkit.Profile,
        "none": lambda: None}[mode]()
if prof is not None:
    prof.enable()
thread("during").join()
work(2)
if prof is not None:
    prof.disable()
go.set()
across.join()
report["main"] = hooks()
report["threading"] = [threading._trace_hook is tf, threading._profile_hook is pf]
thread("later").join()
sys.settrace(None)
sys.setprofile(None)
threading.settrace(None)
threading.setprofile(None)
print(sorted(report.items()))
print(sorted((" ".join(k), n) for k, n in events.items()))
"""


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["lines", "func"])
def test_trace_and_profile_hooks_survive_and_come_back(tmp_path, mode, backend):
    write(tmp_path / "hooks.py", HOOKS)
    env = {"PROFKIT_BACKEND": backend}
    alone = run(tmp_path, "hooks.py", "none", env=env).stdout.splitlines()
    beside = run(tmp_path, "hooks.py", mode, env=env).stdout.splitlines()
    # Back everywhere afterwards: the main thread, threading's hooks, the
    # thread that ran across the run, a thread started after.
    expected = {"across": [True, True], "later": [True, True], "main": [True, True],
                "threading": [True, True]}
    # While profkit is on, a new thread keeps the kind profkit does not use;
    # the kind it uses is profkit's (the trace function still gets its
    # events through it: see below).
    lines_hook = backend == "legacy"
    expected["during"] = [not lines_hook, True] if mode == "lines" else [True, backend != "legacy"]
    assert eval(beside[0]) == sorted(expected.items())
    reference = dict(eval(alone[1]))
    events = dict(eval(beside[1]))
    if mode == "func" and backend == "legacy":
        # the profile function is suspended while the function profiler,
        # which takes its place, is on: the main thread's and the new
        # thread's profile events of work() go; nothing else changes
        for name in ("MainThread", "during"):
            for event in ("call", "return"):
                del reference[f"profile {name} {event}"]
    # with the line profiler on, the trace function is chained: it sees
    # every event it sees without profkit, in every thread
    assert events == reference
    assert reference["trace during line"] == 7 and reference["trace MainThread call"] == 1


# pdb.runcall stops at a breakpoint inside a function being profiled, and
# again after the profiler is off.
PDB = """\
import pdb, sys
import profkit

def work(n):
    total = 0
    for i in range(n):
        total += i * 2
    return total

mode = sys.argv[1]
lp = profkit.LineProfiler(work)
fp = profkit.Profile()

def main():
    if mode == "lines":
        with lp:
            r = work(3)
    else:
        r = fp.runcall(work, 3)
    return r + work(1)

print("result", pdb.Pdb(nosigint=True).runcall(main))
if mode == "lines":
    print("hits", sorted((ln, h) for ln, h, _ in list(lp.get_stats().timings.values())[0]))
else:
    print("calls", [(k[2], v[0]) for k, v in fp.function_table().stats.items() if k[2] == "work"])
"""


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["lines", "func"])
def test_pdb_stops_inside_a_profiled_function_and_goes_on(tmp_path, mode, backend):
    write(tmp_path / "dbg.py", PDB)
    commands = "break 7\n" + "continue\np i\n" * 4 + "continue\n"
    r = run(tmp_path, "dbg.py", mode, env={"PROFKIT_BACKEND": backend}, input=commands)
    out = [ln for ln in r.stdout.splitlines() if not ln.startswith("-> ")]
    stops = [ln.split("(Pdb) ")[-1] for ln in out if ln.startswith("(Pdb)")]
    # the breakpoint line, then i at each of the four stops: three calls
    # inside the profiled work(3), one in work(1) after the profiler is off
    assert stops[0].startswith("Breakpoint 1 at ") and stops[0].endswith("dbg.py:7")
    assert [s for s in stops if s.startswith(">")] == [f"> {tmp_path / 'dbg.py'}(7)work()"] * 4
    assert [s for s in stops if s.isdigit()] == ["0", "1", "2", "0"]
    assert stops[-1] == "result 6"  # the output of the program, after pdb's last prompt
    if mode == "lines":
        assert out[-1] == "hits [(5, 1), (6, 4), (7, 3), (8, 1)]"
    else:
        assert out[-1] == "calls [('work', 1)]"


# wrap_trace=False suspends the trace function while profiling (and gives it
# back after); switching it on again takes effect at the next enable().
SUSPEND = """\
import sys
from collections import Counter
import profkit

seen = Counter()

def tf(frame, event, arg):
    if frame.f_code.co_name == "work":
        seen[event] += 1
        return tf

def work():
    a = 1
    return a

lp = profkit.LineProfiler(work, wrap_trace=False)
sys.settrace(tf)
for chain in (False, True):
    lp.wrap_trace = chain
    with lp:
        work()
    print(chain, sys.gettrace() is tf, sorted(seen.items()))
    seen.clear()
sys.settrace(None)
print(sorted((ln - work.__code__.co_firstlineno, h) for ln, h, _ in
             list(lp.get_stats().timings.values())[0]))
"""


@pytest.mark.skipif("legacy" not in BACKENDS, reason="needs the legacy hook")
def test_wrap_trace_false_suspends_the_trace_function_until_disable(tmp_path):
    write(tmp_path / "suspend.py", SUSPEND)
    r = run(tmp_path, "suspend.py", env={"PROFKIT_BACKEND": "legacy"})
    assert r.stdout.splitlines() == [
        "False True []",
        "True True [('call', 1), ('line', 2), ('return', 1)]",
        "[(1, 2), (2, 2)]",
    ]
