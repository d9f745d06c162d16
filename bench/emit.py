"""Shared by the in-process benchmark scripts: print a markdown section, and
append it to a results file when one is named (as bench/run.py --out does)."""


def emit(text, out=None):
    print(text)
    if out:
        with open(out, "a") as f:
            f.write("\n" + text)
