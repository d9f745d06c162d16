"""Generator pipelines: every item flows through several chained generators.

Each resume of a generator is a call as far as a profiler is concerned, so a
pipeline of k stages costs k profiler events per item.  Covers plain yield,
yield from, generator expressions and a sliding window.
"""
from collections import deque

N = 2_500_000


def numbers(n):
    i = 0
    while i < n:
        yield i
        i += 1


def squares(items):
    for x in items:
        yield x * x


def evens(items):
    for x in items:
        if not x & 1:
            yield x


def chunks(items, size):
    """Group items into lists of `size` (the last may be shorter)."""
    chunk = []
    for x in items:
        chunk.append(x)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def flatten(groups):
    for group in groups:
        yield from group


def window_sums(items, width):
    """Sums of each run of `width` consecutive items."""
    window = deque(maxlen=width)
    total = 0
    for x in items:
        if len(window) == width:
            total -= window[0]
        window.append(x)
        total += x
        if len(window) == width:
            yield total


def main():
    pipeline = window_sums(flatten(chunks(evens(squares(numbers(N))), 16)), 8)
    big = sum(1 for s in pipeline if s % 3 == 0)
    mod = sum(x % 7 for x in numbers(N // 2))
    return big, mod


if __name__ == "__main__":
    print(main())
