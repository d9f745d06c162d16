"""Which call sites of a code object always call a module-level name.

The function profiler (3.12+, sys.monitoring) sees builtin calls only
through the CALL event, which fires at every call site, for calls of
Python functions too.  A site whose callable is always the current value
of one global name (``fib(n - 1)``, ``helper(x)``) needs no CALL event
while that name is bound to a Python function: the engine switches the
site off (``sys.monitoring.DISABLE``) and watches the name in the
function's globals and builtins, and any change to it turns every site
back on (``sys.monitoring.restart_events()``), so a builtin bound there
later is seen again.  See docs/how-it-works.md.

``global_callees(code)`` finds those sites by reading the bytecode: a
CALL whose callable slot was pushed by a ``LOAD_GLOBAL`` in the same
straight run of instructions, with only instructions of known stack
effect in between.  Anything else (a jump or a jump target in between,
an instruction it does not know, a callable from an attribute, a
closure, a call result) is left monitored, which is always exact.
"""
import dis
import sys
import weakref

# Instructions allowed between the LOAD_GLOBAL and its CALL, with how many
# stack items each one pops: an int, or a function of its argument.  What
# each pushes is that plus dis.stack_effect().  Stores, jumps and anything
# that could reorder the stack (SWAP, COPY) are not here.
_POPS = {
    "NOP": 0, "CACHE": 0, "EXTENDED_ARG": 0, "KW_NAMES": 0, "PUSH_NULL": 0,
    "LOAD_FAST": 0, "LOAD_FAST_CHECK": 0, "LOAD_FAST_LOAD_FAST": 0, "LOAD_CONST": 0,
    "LOAD_GLOBAL": 0, "LOAD_DEREF": 0, "LOAD_NAME": 0, "LOAD_SMALL_INT": 0,
    "LOAD_ATTR": 1, "UNARY_NEGATIVE": 1, "UNARY_NOT": 1, "UNARY_INVERT": 1, "TO_BOOL": 1,
    "FORMAT_SIMPLE": 1, "GET_ITER": 1, "FORMAT_VALUE": lambda a: 2 if a & 4 else 1,
    "BINARY_OP": 2, "COMPARE_OP": 2, "BINARY_SUBSCR": 2, "CONTAINS_OP": 2, "IS_OP": 2,
    "FORMAT_WITH_SPEC": 2, "BINARY_SLICE": 3,
    "BUILD_TUPLE": lambda a: a, "BUILD_LIST": lambda a: a, "BUILD_SET": lambda a: a,
    "BUILD_STRING": lambda a: a, "BUILD_SLICE": lambda a: a, "BUILD_MAP": lambda a: 2 * a,
    "CALL": lambda a: a + 2, "CALL_KW": lambda a: a + 3,
}
CALLS = ("CALL", "CALL_KW")
_REACH = 2000  # instructions looked back from a CALL at most


def _pops(ins):
    pops = _POPS.get(ins.opname)
    if callable(pops):
        return pops(ins.arg or 0)
    return pops


def _callee_name(instrs, j):
    """The global name whose value instrs[j] (a CALL) always calls, or None.

    Walks back from the CALL, following the stack position of the upper of
    the callable's two slots (the callable and its NULL or self) through
    each instruction's pops and pushes, to the instruction that pushed it."""
    if instrs[j].is_jump_target:
        return None
    pos = _pops(instrs[j]) - 2  # from the top, just before the CALL
    for i in range(j - 1, max(j - 1 - _REACH, -1), -1):
        ins = instrs[i]
        pops = _pops(ins)
        if pops is None:
            return None  # a jump, a store, or an instruction not known here
        pushes = pops + dis.stack_effect(ins.opcode, ins.arg if ins.opcode >= dis.HAVE_ARGUMENT
                                         else None, jump=False)
        if pos < pushes:  # ins pushed the slot
            if ins.opname == "LOAD_GLOBAL" and ins.arg & 1 and pos == 0 and pushes == 2:
                return ins.argval
            return None
        if ins.is_jump_target:
            return None  # the slot was pushed before the straight run began
        pos += pops - pushes
    return None


# id(code) -> (weak reference to code, answer): a code object is read once
# per process, not once per profile (a profile per test, say).
_answers = {}


def global_callees(code):
    """(number of code units, {offset of a CALL: the global name it always
    calls}) for code's own bytecode.  Never raises: on any surprise the
    answer is "no site", which leaves every site monitored."""
    known = _answers.get(id(code))
    if known is not None and known[0]() is code:
        return known[1]
    try:
        instrs = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
        sites = {}
        for j, ins in enumerate(instrs):
            if ins.opname in CALLS:
                name = _callee_name(instrs, j)
                if isinstance(name, str):
                    sites[ins.offset] = sys.intern(name)
        answer = len(code.co_code) // 2, sites
    except Exception:  # a bytecode this reader does not know
        return 0, {}
    try:
        key = id(code)
        _answers[key] = weakref.ref(code, lambda _, key=key: _answers.pop(key, None)), answer
    except TypeError:  # not weakly referable: not kept
        pass
    return answer
