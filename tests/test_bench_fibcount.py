"""bench/fibcount.py --where: reading cachegrind's per-function counts and
telling a profiler's own code from the interpreter's."""
import os
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)
import fibcount  # noqa: E402

SRC = os.path.join(os.path.dirname(BENCH), "src")


def test_per_function_sums_lines_and_marks_own_code(tmp_path):
    out = tmp_path / "cg.out"
    out.write_text(
        "desc: I1 cache:\ncmd: python x.py\nevents: Ir\n"
        "fl=/build/Python/ceval.c\nfn=_PyEval_EvalFrameDefault\n10 5\n11 7\n"
        # a function of profkit's whose lines come from two of its files
        f"fl={SRC}/functracer.c\nfn=legacy_callback_tsc\n600 3\n"
        f"fl={SRC}/tracer.h\nfn=legacy_callback_tsc\n90 4\n"
        # cProfile's two files, and a header inlined into the interpreter
        "fl=/build/Modules/_lsprof.c\nfn=ptrace_enter_call\n1 2\n"
        "fl=/build/Modules/rotatingtree.c\nfn=RotatingTree_Get\n1 8\n"
        "fl=/usr/lib/gcc/include/ia32intrin.h\nfn=_PyEval_EvalFrameDefault\n3 1\n"
        "summary: 30\n")
    totals, own = fibcount.per_function(str(out))
    assert totals == {"_PyEval_EvalFrameDefault": 13, "legacy_callback_tsc": 7,
                      "ptrace_enter_call": 2, "RotatingTree_Get": 8}
    assert own == {"legacy_callback_tsc", "ptrace_enter_call", "RotatingTree_Get"}


def test_command_line_names_the_flag_and_variants():
    class Opts:
        variants = "plain,profkit"
    line = fibcount.command(Opts, 20, 22, " --where")
    assert line.startswith("Command: `python bench/fibcount.py --where --sizes 20,22 "
                           "--variants 'plain,profkit'`; ")
    Opts.variants = ",".join(fibcount.WHOLE)
    assert "--variants" not in fibcount.command(Opts, 20, 23)
