"""Raising and catching exceptions, within a frame and across many frames.

Exercises the profiler's unwind path: frames that exit by an exception rather
than a return, try/finally blocks and exceptions raised by C functions
(dict lookups, int()).
"""
N_DEEP = 70_000
DEPTH = 12
N_SHALLOW = 500_000


class Found(Exception):
    def __init__(self, value):
        super().__init__(value)
        self.value = value


def descend(depth, value):
    """Recurse `depth` frames, then raise; every frame unwinds."""
    if depth == 0:
        raise Found(value)
    try:
        return descend(depth - 1, value + depth)
    finally:
        value -= 1


def deep(n):
    total = 0
    for i in range(n):
        try:
            descend(DEPTH, i)
        except Found as exc:
            total += exc.value
    return total


def lookup(table, key):
    try:
        return table[key]
    except KeyError:
        return -1


def parse(text):
    try:
        return int(text)
    except ValueError:
        return 0


def shallow(n):
    table = {i: i * 2 for i in range(0, 100, 3)}
    words = ["12", "x", "7", "", "40", "y"]
    total = 0
    for i in range(n):
        total += lookup(table, i % 100)
        total += parse(words[i % 6])
    return total


def main():
    return deep(N_DEEP), shallow(N_SHALLOW)


if __name__ == "__main__":
    print(main())
