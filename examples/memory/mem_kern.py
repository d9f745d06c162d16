"""mem.py with @profile on the inner helper that makes one list.

The decorator sits where each call allocates one list and returns it, so a
per-line report of this function says little about the program's memory:
the lists are kept alive by the caller.  Compare mem_kern_refactored.py.

    profkit mem examples/memory/mem_kern.py
"""

N_LISTS = 100
LIST_LEN = 100_000


@profile  # noqa: F821
def make_list():
    return list(range(LIST_LEN))


def build(n):
    return [make_list() for _ in range(n)]


def main():
    first = build(N_LISTS)
    del first[: N_LISTS // 2]
    second = build(N_LISTS)
    return len(first) + len(second)


if __name__ == "__main__":
    print(main(), "lists alive")
