"""Memory that rises, partly falls, and rises again.

Builds 100 large lists, drops half of them, then builds 100 more.

    profkit run examples/memory/mem.py && profkit plot
"""

N_LISTS = 100
LIST_LEN = 100_000


def build(n):
    return [list(range(LIST_LEN)) for _ in range(n)]


def main():
    first = build(N_LISTS)
    del first[: N_LISTS // 2]
    second = build(N_LISTS)
    return len(first) + len(second)


if __name__ == "__main__":
    print(main(), "lists alive")
