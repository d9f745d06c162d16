"""profkit.Profile against cProfile.Profile: the same numbers, exactly.

With a fake clock that advances one tick per read, every field of every
function and every caller edge must equal cProfile's on this Python, which
also proves both profilers read the clock at the same events."""
import cProfile
import gc
import itertools
import marshal
import os
import pstats
import sys
import threading

import pytest

import mixed
import profkit
from profkit import _engine

OWN = ("disable", "_pause_thread")


def collect(cls, func, **kw):
    ticks = itertools.count()
    prof = cls(lambda: next(ticks), 1.0, **kw)
    prof.enable()
    func()
    prof.disable()
    prof.create_stats()
    return {k: v for k, v in prof.stats.items() if not any(o in k[2] for o in OWN)}


def strip_own(stats):
    out = {}
    for k, (cc, nc, tt, ct, callers) in stats.items():
        callers = {c: v for c, v in callers.items() if not any(o in c[2] for o in OWN)}
        out[k] = (cc, nc, tt, ct, callers)
    return out


@pytest.mark.parametrize("builtins", [True, False])
@pytest.mark.parametrize("subcalls", [True, False])
def test_equals_cprofile_with_fake_clock(builtins, subcalls):
    ours = collect(profkit.Profile, mixed.main, builtins=builtins, subcalls=subcalls)
    theirs = collect(cProfile.Profile, mixed.main, builtins=builtins, subcalls=subcalls)
    assert strip_own(ours) == strip_own(theirs)
    assert len(ours) >= (20 if builtins else 15)


def test_recursion_counts_are_total_over_primitive():
    stats = collect(profkit.Profile, lambda: mixed.fib(10))
    key = (mixed.fib.__code__.co_filename, mixed.fib.__code__.co_firstlineno, "fib")
    cc, nc, tt, ct, callers = stats[key]
    assert (cc, nc) == (1, 177)
    # fib called itself 176 times, 175 of them while already recursing
    assert callers[key][:2] == (176, 0) or callers[key][0] == 176


def test_mutual_recursion_and_generators_counts():
    stats = collect(profkit.Profile, mixed.main)
    by_name = {k[2]: v for k, v in stats.items() if k[0] == mixed.__file__}
    assert by_name["is_even"][:2] == (1, 16)
    # is_odd's first call is not recursive (is_odd was not on the stack)
    assert by_name["is_odd"][:2] == (1, 15)
    # boom(i) for i in 0..4: five outer calls, 0+1+2+3+4 recursive ones
    assert by_name["boom"][:2] == (5, 15)
    # every resume of a generator is a call, as in cProfile: gen(10) runs for
    # 2 next(), 1 throw(), 8 more yields and the final return (12), gen(5)
    # for 1 next() and the close() (2)
    assert by_name["gen"][:2] == (14, 14)


def test_default_timer_is_seconds_and_positive():
    prof = profkit.Profile()
    with prof:
        mixed.fib(15)
    prof.create_stats()
    fib = [v for k, v in prof.stats.items() if k[2] == "fib"][0]
    assert fib[1] == 1973
    assert 0 < fib[3] < 5.0
    assert fib[2] <= fib[3] + 1e-9


def test_pstats_reads_profile_and_dump(tmp_path):
    prof = profkit.Profile()
    prof.runcall(mixed.main)
    st = pstats.Stats(prof)
    assert st.total_calls > 100
    out = tmp_path / "x.prof"
    prof2 = profkit.Profile()
    prof2.runcall(mixed.main)
    prof2.dump_stats(str(out))
    assert os.listdir(tmp_path) == ["x.prof"]  # no temporary file left
    loaded = pstats.Stats(str(out))
    assert loaded.total_calls == pstats.Stats(str(out)).total_calls > 100
    with open(out, "rb") as f:
        raw = marshal.load(f)
    assert all(len(k) == 3 and len(v) == 5 for k, v in raw.items())


def test_print_stats_matches_pstats_layout(capsys):
    prof = profkit.Profile()
    prof.runcall(mixed.fib, 8)
    prof.print_stats("calls")
    out = capsys.readouterr().out
    assert "function calls (" in out and "primitive calls) in" in out
    assert "Ordered by: call count" in out
    assert "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)" in out
    assert "67/1" in out


def test_getstats_shape():
    prof = profkit.Profile()
    prof.runcall(mixed.fib, 5)
    entries = prof.getstats()
    fib = [e for e in entries if getattr(e.code, "co_name", None) == "fib"][0]
    assert fib.callcount == 15 and fib.reccallcount == 14
    assert fib.totaltime >= 0 and fib.inlinetime >= 0
    assert [c.code.co_name for c in fib.calls] == ["fib"]
    assert fib.calls[0].callcount == 14


def test_run_runctx_and_module_functions(capsys, tmp_path):
    prof = profkit.Profile()
    prof.runctx("fib(6)", {"fib": mixed.fib}, {})
    assert [v[1] for k, v in pstats.Stats(prof).stats.items() if k[2] == "fib"] == [25]
    profkit.runctx("fib(6)", {"fib": mixed.fib}, {}, sort="calls")
    assert "25/1" in capsys.readouterr().out
    path = tmp_path / "r.prof"
    profkit.runctx("fib(6)", {"fib": mixed.fib}, {}, filename=str(path))
    assert pstats.Stats(str(path)).total_calls >= 25


def test_stats_accumulate_over_enable_disable_and_clear():
    prof = profkit.Profile()
    for _ in range(3):
        prof.enable()
        mixed.fib(5)
        prof.disable()
    prof.create_stats()
    assert [v[1] for k, v in prof.stats.items() if k[2] == "fib"] == [45]
    prof.clear()
    prof.runcall(mixed.fib, 5)
    assert [v[1] for k, v in pstats.Stats(prof).stats.items() if k[2] == "fib"] == [15]


def test_second_profiler_is_refused():
    a, b = profkit.Profile(), profkit.Profile()
    a.enable()
    try:
        with pytest.raises(ValueError, match="already active"):
            b.enable()
    finally:
        a.disable()
    b.runcall(mixed.fib, 3)


def test_open_calls_are_completed_on_disable():
    prof = profkit.Profile(lambda: 0.0)

    def outer():
        prof.disable()

    prof.enable()
    outer()
    prof.create_stats()
    assert [v[:2] for k, v in prof.stats.items() if k[2] == "outer"] == [(1, 1)]


def test_raising_timer_is_unraisable_not_fatal():
    calls = []

    def bad():
        calls.append(1)
        raise RuntimeError("timer broke")

    seen = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append(u.exc_type)
    try:
        prof = profkit.Profile(bad)
        prof.runcall(mixed.fib, 3)
    finally:
        sys.unraisablehook = old
    assert seen and set(seen) == {RuntimeError}
    assert [v[1] for k, v in pstats.Stats(prof).stats.items() if k[2] == "fib"] == [5]


def test_threads_get_their_own_stacks_and_exact_counts():
    def work():
        for _ in range(50):
            mixed.fib(6)

    prof = profkit.Profile()
    prof.enable()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    prof.disable()
    stats = pstats.Stats(prof).stats
    work_key = [k for k in stats if k[2] == "work"][0]
    fib_key = [k for k in stats if k[2] == "fib"][0]
    assert stats[work_key][:2] == (4, 4)
    assert stats[fib_key][:2] == (200, 200 * 25)
    # cumulative time of work covers its fib calls on the same thread
    assert stats[work_key][3] >= stats[fib_key][3] / 4 * 0.9 / 4


def test_main_thread_only():
    def work():
        mixed.fib(6)

    prof = profkit.Profile(all_threads=False)
    prof.enable()
    t = threading.Thread(target=work)
    t.start()
    t.join()
    mixed.fib(3)
    prof.disable()
    stats = pstats.Stats(prof).stats
    assert not [k for k in stats if k[2] == "work"]
    assert [v[1] for k, v in stats.items() if k[2] == "fib"] == [5]


def test_no_reference_leak_on_code_objects():
    def victim():
        return 1

    code = victim.__code__
    before = sys.getrefcount(code)
    for _ in range(3):
        prof = profkit.Profile()
        prof.runcall(victim)
        prof.create_stats()
        del prof
        gc.collect()
    assert sys.getrefcount(code) == before


def test_repeat_until_plateau_no_growth():
    import tracemalloc

    def once():
        prof = profkit.Profile()
        prof.runcall(mixed.main)
        prof.getstats()

    for _ in range(5):
        once()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(20):
        once()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000


def test_clock_info():
    info = _engine.clock_info()
    assert info["source"] in ("tsc", "monotonic")
    assert 1e-12 < info["seconds_per_tick"] <= 1e-9 + 1e-15


def test_backend_matches_python_version():
    expected = "monitoring" if sys.version_info >= (3, 12) else "legacy"
    if os.environ.get("PROFKIT_BACKEND") == "legacy":
        expected = "legacy"
    assert _engine.backend() == expected


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_runs_beside_cprofile_on_another_tool_id():
    outer = cProfile.Profile()
    outer.enable()
    try:
        prof = profkit.Profile()
        prof.runcall(mixed.fib, 4)
    finally:
        outer.disable()
    assert [v[1] for k, v in pstats.Stats(prof).stats.items() if k[2] == "fib"] == [9]


def test_print_stats_default_sort_is_stdname(capsys):
    prof = profkit.Profile()
    prof.runcall(mixed.fib, 3)
    prof.print_stats()
    assert "Ordered by: standard name" in capsys.readouterr().out


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the legacy hook is the only one before 3.12")
def test_legacy_backend_on_new_pythons_also_equals_cprofile():
    import subprocess

    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import test_profile_api as t, cProfile, profkit, mixed\n"
        "from profkit import _engine\n"
        "assert _engine.backend() == 'legacy'\n"
        "a = t.strip_own(t.collect(profkit.Profile, mixed.main))\n"
        "b = t.strip_own(t.collect(cProfile.Profile, mixed.main))\n"
        "assert a == b, 'differs'\n"
        "print('same', len(a))\n"
    ) % os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PROFKIT_BACKEND="legacy")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       cwd=os.path.dirname(os.path.abspath(__file__)) + "/workloads")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("same ")


def test_stats_are_stable_across_reads():
    import time

    prof = profkit.Profile()
    prof.runcall(mixed.main)
    first = prof.getstats()
    time.sleep(0.06)  # past the clock's calibration window
    assert prof.getstats() == first


COUNTER_CHECK = r"""
import cProfile, itertools, sys
sys.path.insert(0, sys.argv[1])
import mixed, profkit
from profkit import _engine
assert _engine.clock_info()["source"] == "counter"
OWN = ("disable", "_pause_thread", "enable")
def strip(stats):
    out = {}
    for k, (cc, nc, tt, ct, callers) in stats.items():
        if any(o in k[2] for o in OWN):
            continue
        callers = {c: v for c, v in callers.items() if not any(o in c[2] for o in OWN)}
        out[k] = (cc, nc, tt, ct, callers)
    return out
for builtins in (True, False):
    for subcalls in (True, False):
        ours = profkit.Profile(builtins=builtins, subcalls=subcalls)   # the engine's own clock
        ours.enable(); mixed.main(); ours.disable(); ours.create_stats()
        ticks = itertools.count()
        theirs = cProfile.Profile(lambda: next(ticks), 1e-6, builtins=builtins, subcalls=subcalls)
        theirs.enable(); mixed.main(); theirs.disable(); theirs.create_stats()
        a, b = strip(ours.stats), strip(theirs.stats)
        if a != b:
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            print("differ", builtins, subcalls, diff[:3], [a.get(k) for k in diff[:1]], [b.get(k) for k in diff[:1]])
            sys.exit(1)
print("equal")
"""


@pytest.mark.parametrize("backend", ["default", "legacy"])
def test_engine_clock_paths_equal_cprofile_exactly(tmp_path, backend):
    """The C timing paths (the legacy hook's fast path for Python calls
    included), driven by PROFKIT_CLOCK=counter, against cProfile on a
    one-tick fake timer."""
    import subprocess

    if backend == "legacy" and sys.version_info < (3, 12):
        pytest.skip("the default hook is the legacy one before 3.12")
    env = dict(os.environ, PROFKIT_CLOCK="counter")
    if backend == "legacy":
        env["PROFKIT_BACKEND"] = "legacy"
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run([sys.executable, "-c", COUNTER_CHECK, os.path.join(here, "workloads")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "equal", r.stdout + r.stderr


def _key(stats, name):
    keys = [k for k in stats if k[2] == name]
    assert len(keys) == 1, (name, keys)
    return keys[0]


@pytest.mark.parametrize("timer", ["engine", "fake"])
def test_one_function_in_several_threads_at_once_is_not_recursion(timer):
    """Three threads are inside `work` (and deep in `rec`) at the same time:
    the recursion level is each thread's own, so `work` has 3 primitive calls
    and covers the time of its callees, while `rec`'s real recursion inside
    each thread keeps cProfile's counts."""
    n_threads, depth = 3, 4
    barrier = threading.Barrier(n_threads)

    def rec(n):
        if n == 0:
            barrier.wait()  # every thread holds rec `depth+1` times now
            return 0
        return rec(n - 1) + 1

    def work():
        return rec(depth)

    if timer == "fake":
        ticks = itertools.count()
        lock = threading.Lock()

        def clock():
            with lock:
                return next(ticks)

        prof = profkit.Profile(clock, 1.0)
    else:
        prof = profkit.Profile()
    prof.enable()
    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    prof.disable()
    stats = pstats.Stats(prof).stats
    work_k, rec_k = _key(stats, "work"), _key(stats, "rec")
    cc, nc, tt, ct, callers = stats[work_k]
    assert (cc, nc) == (n_threads, n_threads)
    rcc, rnc, rtt, rct, rcallers = stats[rec_k]
    assert (rcc, rnc) == (n_threads, n_threads * (depth + 1))
    # edges (total, primitive): work -> rec is never recursive; rec -> rec
    # is, below its first call on each thread
    assert rcallers[work_k][:2] == (n_threads, n_threads)
    assert rcallers[rec_k][:2] == (n_threads * depth, n_threads)
    # a function's cumulative time covers its callees' on the same thread
    assert ct >= rct > 0
    assert ct >= tt and rct >= rtt
    assert rcallers[work_k][3] == rct


def test_profilers_own_calls_are_not_in_the_stats():
    prof = profkit.Profile()
    with prof:
        mixed.fib(3)
    prof.enable()
    prof._pause_thread(True)
    mixed.fib(2)
    prof._pause_thread(False)
    mixed.fib(2)
    prof.disable()
    labels = [k[2] for k in pstats.Stats(prof).stats]
    assert not [x for x in labels if "profkit" in x or "disable" in x or "_pause_thread" in x]
    # the unpaused fib(2) counted; the paused one did not
    assert pstats.Stats(prof).stats[_key(pstats.Stats(prof).stats, "fib")][1] == 5 + 3


class _Frozen:
    """A pstats source holding a fixed stats dict."""

    def __init__(self, stats):
        self.stats = stats

    def create_stats(self):
        pass


def _without_own(stats):
    """cProfile's stats less its `disable` row (profkit has none)."""
    own = [k for k in stats if "disable" in k[2]]
    out = {}
    for k, (cc, nc, tt, ct, callers) in stats.items():
        if k in own:
            continue
        out[k] = (cc, nc, tt, ct, {c: v for c, v in callers.items() if c not in own})
    return out


@pytest.mark.parametrize("builtins", [True, False])
def test_printed_reports_equal_cprofile_line_for_line(builtins):
    import io

    def report(source, what):
        buf = io.StringIO()
        st = pstats.Stats(source, stream=buf)
        getattr(st.sort_stats("cumulative", "filename", "line", "name"), what)()
        return buf.getvalue()

    def run(cls):
        ticks = itertools.count()
        prof = cls(lambda: next(ticks), 1.0, builtins=builtins)
        prof.enable()
        mixed.main()
        prof.disable()
        prof.create_stats()
        return prof.stats

    ours, theirs = run(profkit.Profile), _without_own(run(cProfile.Profile))
    assert not [k for k in ours if "disable" in k[2]]
    for what in ("print_stats", "print_callers", "print_callees"):
        a = report(_Frozen(dict(ours)), what).splitlines()
        b = report(_Frozen(dict(theirs)), what).splitlines()
        assert a == b, what
        assert len(a) > 20
