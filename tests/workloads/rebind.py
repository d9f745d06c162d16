"""Call sites whose global callee changes while they run: the cases where a
profiler that skips the CALL events of sites calling Python functions
would lose a builtin (tests/test_callsites.py)."""
import builtins
import types


def py_len(x):
    return 0


def twice(x):
    return 2 * x


target = py_len


def flip(items, flips):
    """Calls `target` at one site in one frame, rebinding it to the builtin
    len and back after each call, `flips` times."""
    global target
    target = py_len
    out = 0
    for i, it in enumerate(items):
        out += target(it)
        if i < flips:
            target = len if target is py_len else py_len
    return out


def shadow_then_delete(items):
    """A module-level `len` shadows the builtin, then is deleted: the same
    site then calls builtins.len."""
    g = globals()
    g["len"] = py_len
    out = 0
    for i, it in enumerate(items):
        out += len(it)
        if i == 2:
            del g["len"]
    return out


def call_named(x):
    return helper(x)


helper = twice


def rebound_from_outside(n):
    """Another function rebinds this module's `helper` through setattr."""
    import sys

    mod = sys.modules[__name__]
    setattr(mod, "helper", twice)
    out = [call_named(i) for i in range(n)]
    setattr(mod, "helper", abs)
    out += [call_named(-i) for i in range(n)]
    setattr(mod, "helper", twice)
    return out


def uses_pk_builtin(x):
    return pk_helper(x)  # noqa: F821 (put in builtins by the workload)


def builtins_changed(n):
    """The callee comes from the builtins dict, which changes."""
    builtins.pk_helper = twice
    out = [uses_pk_builtin(i) for i in range(n)]
    builtins.pk_helper = abs
    out += [uses_pk_builtin(-i) for i in range(n)]
    del builtins.pk_helper
    return out


def other_globals(n):
    """The same code object runs with globals where its callee is a builtin."""
    out = [call_named(i) for i in range(n)]
    clone = types.FunctionType(call_named.__code__, {"helper": abs, "__builtins__": builtins})
    out += [clone(-i) for i in range(n)]
    out += [call_named(i) for i in range(n)]
    return out


def loop_calls(n, inner):
    out = []
    for i in range(n):
        out.append(helper(i))
        if inner is not None:
            inner(1, None)
    return out


def running_frame_other_globals(n):
    """A frame of loop_calls's code with other globals (helper is abs) is
    running when a frame with this module's globals (helper is twice) meets
    the same call site: the first frame's next calls are still abs."""
    clone = types.FunctionType(loop_calls.__code__, {"helper": abs, "__builtins__": builtins})
    return clone(n, loop_calls)


def rebinds_f():
    global f_target
    f_target = len  # the same value again on later calls: no dict event then
    return "ab"


f_target = py_len


def rebound_by_an_argument(n):
    """The site loads f_target (a Python function), then its argument binds
    the name to len before the call: every later call there is len's."""
    global f_target
    f_target = py_len
    return [f_target(rebinds_f()) for _ in range(n)]


def gen(n):
    for i in range(n):
        yield helper(i)


def generator_rebind(n):
    global helper
    it = gen(2 * n)
    out = [next(it) for _ in range(n)]
    helper = abs
    out += list(it)
    helper = twice
    return out


def main():
    items = ["ab", "c", "def", "", "gh"] * 3
    flip(items, 3)
    flip(items, 40)  # more rebindings than the engine trusts
    shadow_then_delete(items)
    rebound_from_outside(5)
    builtins_changed(5)
    other_globals(5)
    generator_rebind(5)
    running_frame_other_globals(5)
    rebound_by_an_argument(5)
