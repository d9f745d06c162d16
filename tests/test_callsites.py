"""CALL events switched off at call sites of global Python functions
(3.12+, profkit/callsites.py and src/callsites.c): never at the cost of a
builtin call.  Every profile here equals cProfile's with a fake clock, in
workloads whose global callees change while they run."""
import cProfile
import dis
import sys
import types

import pytest

import profkit
import rebind
from test_profile_api import collect as stats  # fake clock, the engine's own calls left out

monitoring = pytest.mark.skipif(sys.version_info < (3, 12) or profkit._engine.backend() != "monitoring",
                                reason="sys.monitoring backend only")


def profkit_then_cprofile(func):
    ours = stats(profkit.Profile, func)
    sites = profkit._engine._call_sites()
    theirs = stats(cProfile.Profile, func)
    return ours, theirs, sites


@monitoring
@pytest.mark.parametrize("name", ["flip", "shadow", "outside", "builtins", "globals", "generator",
                                  "running", "argument"])
def test_changed_callees_are_counted_as_cprofile_counts_them(name):
    items = ["ab", "c", "def", "", "gh"] * 3
    func = {
        "flip": lambda: (rebind.flip(items, 3), rebind.flip(items, 40)),
        "shadow": lambda: rebind.shadow_then_delete(items),
        "outside": lambda: rebind.rebound_from_outside(5),
        "builtins": lambda: rebind.builtins_changed(5),
        "globals": lambda: rebind.other_globals(5),
        "generator": lambda: rebind.generator_rebind(5),
        "running": lambda: rebind.running_frame_other_globals(5),
        "argument": lambda: rebind.rebound_by_an_argument(5),
    }[name]
    ours, theirs, (off, restarts) = profkit_then_cprofile(func)
    assert ours == theirs
    if name in ("running", "argument"):
        return  # the site must stay on: nothing may be switched off there
    assert off > 0  # the mechanism was at work...
    assert restarts > 0  # ...and had to turn sites back on


@monitoring
def test_builtin_counts_in_the_changing_workloads():
    ours = stats(profkit.Profile, rebind.main)
    by_name = {k[2]: v for k, v in ours.items()}
    # flip(items, 3): call 2, then calls 4 to 15 (13); flip(items, 40): every other
    # call of 15 (7); shadow_then_delete: the 12 calls after the delete;
    # rebound_by_an_argument(5): calls 2 to 5 (4).
    assert by_name["<built-in method builtins.len>"][1] == 13 + 7 + 12 + 4
    # abs: 5 (outside) + 5 (builtins) + 5 (other globals) + 5 (generator) + 5 (running)
    assert by_name["<built-in method builtins.abs>"][1] == 25


@monitoring
def test_a_name_rebound_often_stops_being_trusted():
    items = list(range(60))
    rebind.flip([str(i) for i in items], 58)
    profkit.Profile().runcall(rebind.flip, [str(i) for i in items], 58)
    off, restarts = profkit._engine._call_sites()
    assert restarts == 8  # then the site stays monitored


@monitoring
def test_sites_are_switched_off_for_recursion_and_back_on_after():
    import mixed

    for _ in range(2):  # a second session must not find the first one's sites off
        ours, theirs, (off, _) = profkit_then_cprofile(lambda: mixed.fib(12))
        assert ours == theirs
        assert off == 2  # fib's two recursive sites


@monitoring
def test_call_events_all_keeps_every_site(tmp_path):
    import subprocess

    code = ("import sys; sys.path.insert(0, %r); import mixed, profkit; "
            "profkit.Profile().runcall(mixed.fib, 12); print(profkit._engine._call_sites())"
            % mixed_dir())
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PROFKIT_CALL_EVENTS": "all"})
    assert out.stdout.strip() == "(0, 0)"


def mixed_dir():
    import mixed

    return __import__("os").path.dirname(mixed.__file__)


# ---- the bytecode reader -------------------------------------------------

def sites_of(src, name="f"):
    ns = {}
    exec(compile(src, "<test>", "exec"), ns)
    code = ns[name].__code__
    units, sites = profkit.callsites.global_callees(code)
    calls = [i.offset for i in dis.get_instructions(code) if i.opname.startswith("CALL")]
    return [sites.get(off) for off in calls]


needs_312 = pytest.mark.skipif(sys.version_info < (3, 12), reason="3.12+ bytecode")


@needs_312
@pytest.mark.parametrize("src, expected", [
    ("def f(n): return g(n - 1) + g(n - 2)", ["g", "g"]),
    ("def f(a): return h(g(a), k=len(a))", ["g", "len", "h"]),
    ("def f(a): return g(a)(a)", ["g", None]),
    ("def f(a): return a.m(a)", [None]),
    ("def f(a): return g(a if a else 1)", [None, None]),  # one CALL per branch
    ("def f(a): return g(*a)", [None]),
    ("def f(a):\n    def inner(): return g(a)\n    return inner()", [None]),
    ("def f(a): return g([x for x in a])", [None]),  # an inlined loop: jumps
    ("def f(a): return g(a, [1, 2], {3: a}, a[1:2], -a, f'{a}')", ["g"]),
    ("def f(a):\n    x = g\n    return x(a)", [None]),
])
def test_reader_finds_only_sites_whose_callable_is_one_global(src, expected):
    assert sites_of(src) == expected


@needs_312
def test_reader_never_raises():
    assert profkit.callsites.global_callees(None) == (0, {})
    assert profkit.callsites.global_callees(types.SimpleNamespace(co_code=b"")) == (0, {})


class Namespace(dict):
    """Globals whose lookups a program can steer without changing the dict."""
    steer = None

    def __getitem__(self, key):
        if key == "helper" and Namespace.steer is not None:
            return Namespace.steer
        return super().__getitem__(key)


@monitoring
def test_globals_of_a_dict_subclass_keep_their_sites():
    import builtins

    ns = Namespace(helper=rebind.twice, __builtins__=builtins)
    exec("def call(x):\n    return helper(x)\n"
         "def run(n):\n    out = [call(i) for i in range(n)]\n"
         "    Namespace.steer = abs\n    out += [call(-i) for i in range(n)]\n"
         "    Namespace.steer = None\n    return out\n", ns)
    ns["Namespace"] = Namespace
    ours, theirs, (off, _) = profkit_then_cprofile(lambda: ns["run"](5))
    assert ours == theirs
    assert off == 0


def stdlib_work():
    """Real library code: many call sites of every kind, some switched off."""
    import ast
    import csv
    import dataclasses
    import difflib
    import email.parser
    import enum
    import fractions
    import io
    import json
    import re
    import statistics
    import textwrap

    doc = {"a": [1, 2.5, "x" * 10, None, True], "b": {"c": list(range(50))}}
    for _ in range(5):
        json.loads(json.dumps(doc, indent=2, sort_keys=True))
    a = [f"line {i} {'x' * (i % 7)}\n" for i in range(120)]
    b = a[:]
    b[50:60] = ["changed\n"] * 10
    list(difflib.unified_diff(a, b))
    textwrap.fill(" ".join(a[:30]), 40)
    ast.unparse(ast.parse(textwrap.dedent('''
        def f(x, *a, k=1, **kw):
            return [y async for y in x] if k else {z: w for z, w in kw.items()}
    ''')))
    email.parser.Parser().parsestr("From: a@b\nTo: c@d\nSubject: hi\n\nbody\n")
    re.findall(r"(\w+)@(\w+)", "a@b c@d e@f" * 10)
    statistics.stdev([fractions.Fraction(i, 7) for i in range(1, 30)])
    list(csv.reader(io.StringIO("a,b,c\n1,2,3\n" * 20)))

    @dataclasses.dataclass
    class P:
        x: int
        y: int = 0

    [P(i) for i in range(10)]

    class Color(enum.Enum):
        R = 1
        G = 2

    [Color(1) for _ in range(10)]


@monitoring
def test_library_code_is_profiled_exactly_with_sites_off():
    stdlib_work()  # imports and caches first, outside both profiles
    ours, theirs, (off, _) = profkit_then_cprofile(stdlib_work)
    assert ours == theirs
    assert len(ours) > 200
    assert off > 20


class FlipKey:
    """A globals key equal to "helper" only while `on` is set: a lookup of
    the name changes with no change to the dict."""
    on = False

    def __hash__(self):
        return hash("helper")

    def __eq__(self, other):
        return FlipKey.on and other == "helper"


@monitoring
def test_globals_with_a_key_that_is_not_a_str_keep_their_sites():
    import builtins

    ns = {"__builtins__": builtins, "FlipKey": FlipKey}
    ns[FlipKey()] = rebind.twice  # probed before the real "helper" while FlipKey.on
    ns["helper"] = abs
    exec("def run():\n    FlipKey.on = True\n    for i in range(6):\n        helper(-i)\n"
         "        if i == 2:\n            FlipKey.on = False\n", ns)
    ours, theirs, (off, _) = profkit_then_cprofile(ns["run"])
    assert ours == theirs
    assert {k[2]: v[1] for k, v in ours.items()}["<built-in method builtins.abs>"] == 3
    assert off == 0


CLEAR_DURING_READ = """
import sys, threading, time
import profkit, profkit.callsites as cs
real = cs.global_callees
inside = threading.Event()

def slow(code):
    if threading.current_thread().name == "worker" and code.co_name == "work":
        inside.set()
        time.sleep(0.3)  # the reader is Python code: other threads run meanwhile
    return real(code)

cs.global_callees = slow

def F(x):
    return 0

f = F

def work():
    return f("ab")

p = profkit.Profile()
p.enable()
t = threading.Thread(target=work, name="worker")
t.start()
inside.wait()
p.{what}()
t.join()
p.disable()
p.create_stats()
print(sorted(k[2] for k in p.stats))
"""


@monitoring
@pytest.mark.parametrize("what", ["clear", "disable"])
def test_the_profile_may_change_while_a_call_sites_reader_runs(what):
    import subprocess

    out = subprocess.run([sys.executable, "-c", CLEAR_DURING_READ.format(what=what)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.startswith("[")


@needs_312
def test_reader_reads_a_code_object_once_and_forgets_it_with_the_code():
    from profkit import callsites

    ns = {}
    exec("def f(n): return g(n)", ns)
    code = ns["f"].__code__
    first = callsites.global_callees(code)
    assert callsites.global_callees(code) is first
    assert id(code) in callsites._answers
    key = id(code)
    del ns, code, first
    import gc

    gc.collect()
    assert key not in callsites._answers
