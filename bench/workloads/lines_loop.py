"""Line profiler headline: a tight arithmetic loop inside ONE @profile function.

Millions of short lines run, and there are no calls at all, so the whole cost
of a line profiler here is what it pays per line executed.
"""
try:
    profile
except NameError:  # plain python: the decorator does nothing
    def profile(func):
        return func

N = 1_600_000


@profile
def crunch(n=N):
    """Mix a linear congruential sequence into a 32-bit accumulator."""
    acc = 0
    x = 12345
    i = 0
    while i < n:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        if x & 1:
            acc += x >> 7
        else:
            acc -= x >> 9
        acc &= 0xFFFFFFFF
        i += 1
    return acc


if __name__ == "__main__":
    print(crunch())
