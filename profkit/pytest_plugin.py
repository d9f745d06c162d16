"""profkit's pytest plugin: profiles of a test suite, and limits on a test's
memory and calls.  Installed with profkit (the ``pytest11`` entry point
``profkit``; ``-p profkit.pytest_plugin`` loads it by hand), and off unless
asked: this module imports only pytest, and nothing of profkit loads until
an option below is given or a marked test runs.

* ``pytest --profkit``: each test runs under the function profiler (its
  setup, call and teardown); one combined pstats file is written
  (``prof/combined.prof``, or ``--profkit-out PATH``) and the slowest
  functions are printed at the end (``--profkit-sort KEY``, ``--profkit-top N``).
* ``--profkit-lines`` / ``--profkit-mem``: line-by-line time or memory of
  the functions chosen with ``--profkit-func PATTERN`` (as ``profkit lines
  -f``), or marked ``@profkit.profile``; ``prof/combined.lprof`` or
  ``prof/combined-mem.json``.
* ``@pytest.mark.limit_memory("24 MB")``: the test fails when its peak of
  allocated bytes (this thread, measured by profkit's allocation hooks) goes
  over the limit; sizes as pytest-memray's: B, KB, MB, GB, TB (of 1024)
  and KiB, MiB, GiB, TiB.
* ``@pytest.mark.limit_calls(func, n)``: the test fails when ``func`` (a
  function, method, builtin, or a glob on a function's name) is called more
  than ``n`` times; counted exactly by the function profiler.

The markers measure the test function's call only, not its fixtures.
"""
import os
import re

import pytest

_LIMITS = pytest.StashKey()   # item -> the message of the limit it broke
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGTP]i?B|B)\s*", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_OUT = {"func": "prof/combined.prof", "lines": "prof/combined.lprof", "mem": "prof/combined-mem.json"}


def pytest_addoption(parser):
    group = parser.getgroup("profkit", "profiling with profkit")
    group.addoption("--profkit", action="store_true",
                    help="profile every test (function level, as cProfile); write one combined "
                    "pstats file and print the slowest functions")
    group.addoption("--profkit-lines", action="store_true",
                    help="line-by-line timing of the functions chosen with --profkit-func")
    group.addoption("--profkit-mem", action="store_true",
                    help="line-by-line memory of the functions chosen with --profkit-func")
    group.addoption("--profkit-func", action="append", default=[], metavar="PATTERN",
                    help="a function for --profkit-lines/--profkit-mem: a glob on its qualified "
                    "name, or module:glob; repeatable")
    group.addoption("--profkit-out", metavar="PATH",
                    help="where the profile goes (default prof/combined.prof, .lprof or -mem.json)")
    group.addoption("--profkit-sort", default="cumulative", metavar="KEY",
                    help="order of the --profkit table (a pstats sort key; default cumulative)")
    group.addoption("--profkit-top", type=int, default=20, metavar="N",
                    help="rows of the --profkit table (default 20)")
    group.addoption("--profkit-backend", default="rss", choices=("rss", "alloc", "both"),
                    help="what --profkit-mem measures (as profkit mem --backend; default rss)")


def pytest_configure(config):
    config.addinivalue_line("markers", "limit_memory(size): fail the test when its peak of allocated "
                            "memory goes over size, such as '24 MB' (profkit)")
    config.addinivalue_line("markers", "limit_calls(func, n): fail the test when func is called more "
                            "than n times (profkit)")
    opt = config.option
    modes = [m for m, on in (("func", opt.profkit), ("lines", opt.profkit_lines),
                             ("mem", opt.profkit_mem)) if on]
    if len(modes) > 1:
        raise pytest.UsageError("--profkit, --profkit-lines and --profkit-mem: choose one")
    if opt.profkit_func and modes != ["lines"] and modes != ["mem"]:
        raise pytest.UsageError("--profkit-func chooses functions for --profkit-lines or "
                                "--profkit-mem: give one of them")
    if modes and getattr(opt, "numprocesses", None):
        raise pytest.UsageError("--profkit options profile one process: run them without "
                                "xdist's -n")
    if modes:
        from profkit._pytest_session import Session

        config.pluginmanager.register(Session(config, modes[0], _out_path(config, modes[0])),
                                      "profkit-session")


def _out_path(config, mode):
    base = str(config.invocation_params.dir)
    given = config.option.profkit_out
    path = os.path.join(base, given or _OUT[mode])
    folder = os.path.dirname(path)
    if not given:
        os.makedirs(folder, exist_ok=True)
    elif os.path.isdir(path) or not os.path.isdir(folder):
        raise pytest.UsageError(f"--profkit-out {given}: "
                                + ("is a folder" if os.path.isdir(path) else "no such folder"))
    return path


def parse_size(text):
    """Bytes in ``text`` ("24 MB", "1.5GiB", "512 B"): units of 1024, as
    pytest-memray reads them.  ValueError when it is not a size."""
    m = _SIZE.fullmatch(str(text))
    if m is None:
        raise ValueError(f"not a size: {text!r} (write it as '24 MB', '512 KiB', '1.5 GB')")
    return int(float(m.group(1)) * _UNITS[m.group(2)[0].upper() if len(m.group(2)) > 1 else ""])


def _limits(item):
    """What the markers of ``item`` ask for: (bytes or None, [(target, n)])."""
    mem = item.get_closest_marker("limit_memory")
    calls = list(item.iter_markers("limit_calls"))
    if mem is None and not calls:
        return None
    size = None
    if mem is not None:
        if len(mem.args) != 1 or mem.kwargs:
            pytest.fail("limit_memory takes one size, such as '24 MB'", pytrace=False)
        try:
            size, problem = parse_size(mem.args[0]), None
        except ValueError as exc:
            problem = f"limit_memory: {exc}"
        if problem is not None:
            pytest.fail(problem, pytrace=False)
    wanted = []
    for mark in calls:
        args = list(mark.args) + [mark.kwargs[k] for k in ("func", "n") if k in mark.kwargs]
        if len(args) != 2 or not isinstance(args[1], int) or isinstance(args[1], bool) or args[1] < 0:
            pytest.fail("limit_calls takes a function and a count, such as limit_calls(helper, 3)",
                        pytrace=False)
        wanted.append((args[0], args[1]))
    return size, wanted


def direct(item):
    """Whether pytest calls the test function of ``item`` through
    pytest_pyfunc_call (plain test functions), where the measures start
    closest to the test; other items (unittest cases, doctests) are
    measured around their whole call."""
    return isinstance(item, pytest.Function) and type(item).runtest is pytest.Function.runtest


def _limited(item):
    asked = _limits(item)
    if asked is None:
        yield
        return
    from profkit._pytest_session import Limits

    limits = Limits(item, *asked)
    limits.start()
    try:
        outcome = yield
    finally:
        broken = limits.stop()
    if broken and outcome.excinfo is None:
        item.stash[_LIMITS] = "\n".join(broken)


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_call(item):
    if direct(item):
        yield
    else:
        yield from _limited(item)


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pyfunc_call(pyfuncitem):
    yield from _limited(pyfuncitem)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    broken = item.stash.get(_LIMITS, None)
    if broken and call.when == "call" and report.passed:
        report.outcome = "failed"
        report.longrepr = broken
