"""A loop-heavy function marked @profile: many short lines, a few allocations.

The per-line cost of a line-by-line memory profiler dominates here.
"""
try:
    profile  # noqa: B018 - kernprof / memory_profiler / profkit put it in builtins
except NameError:
    def profile(func):
        return func


@profile
def churn(n):
    total = 0
    keep = []
    for i in range(n):
        total += i * i % 7
        if i % 1000 == 0:
            keep.append([0] * 1000)
    return total + len(keep)


def one_line_loops(n):
    """Loops written on one line: on 3.12+ each turn is a backward jump to
    the same line (a JUMP event), counted as one more occurrence, as
    sys.settrace reports it.  Not decorated: bench/memlines.py profiles it."""
    total = 0
    for i in range(n): total += i * i % 7  # noqa: E701
    squares = [i * i for i in range(n)]
    return total + len(squares)


if __name__ == "__main__":
    print(churn(100_000))
