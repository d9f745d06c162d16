"""A @profile function whose loop calls small undecorated helpers.

Line events in the profiled function plus a few Python calls per iteration:
the helpers are not profiled, but they run inside a profiled line, so a line
profiler pays for every call it has to look at and step over.
"""
try:
    profile
except NameError:  # plain python: the decorator does nothing
    def profile(func):
        return func

N = 1_200_000


def weight(i):
    w = 1 + i % 7
    return w


def mix(a, b):
    h = (a * 31 + b) & 0xFFFF
    return h ^ (h >> 3)


def clamp(v, lo, hi):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


@profile
def accumulate(n=N):
    """Each iteration: three helper calls, five lines of its own."""
    total = 0
    for i in range(n):
        w = weight(i)
        v = mix(total, i * w)
        total = clamp(total + v - 30000, 0, 1 << 20)
    return total


if __name__ == "__main__":
    print(accumulate())
