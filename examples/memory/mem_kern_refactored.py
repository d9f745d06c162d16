"""mem.py refactored so @profile sits on the function that holds the memory.

Each step is now one line of `main`, so the per-line report shows the rise,
the partial release and the second rise.

    profkit mem examples/memory/mem_kern_refactored.py
"""

N_LISTS = 100
LIST_LEN = 100_000


def build(n):
    return [list(range(LIST_LEN)) for _ in range(n)]


@profile  # noqa: F821
def main():
    first = build(N_LISTS)
    del first[: N_LISTS // 2]
    second = build(N_LISTS)
    return len(first) + len(second)


if __name__ == "__main__":
    print(main(), "lists alive")
