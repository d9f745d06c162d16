"""Nearly all the time is spent OUTSIDE the one, tiny @profile function.

checksum() is profiled and runs a handful of times on short lists; the work
is recursion (fib) and loops (sieve) in undecorated functions.  The row shows
what a line profiler costs the code it was not asked to profile: a tool that
watches every line of every frame pays for all of it, one that only
instruments the marked function should add next to nothing.
"""
try:
    profile
except NameError:  # plain python: the decorator does nothing
    def profile(func):
        return func

ROUNDS = 4


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def sieve(limit):
    flags = [True] * (limit + 1)
    flags[0] = flags[1] = False
    p = 2
    while p * p <= limit:
        if flags[p]:
            for k in range(p * p, limit + 1, p):
                flags[k] = False
        p += 1
    count = 0
    for flag in flags:
        if flag:
            count += 1
    return count


@profile
def checksum(values):
    total = 0
    for v in values:
        total = (total * 31 + v) % 1_000_003
    return total


def main(rounds=ROUNDS):
    results = []
    for r in range(rounds):
        results.append(fib(27 + r % 2))
        results.append(sieve(1_000_000))
        print(checksum(results))


if __name__ == "__main__":
    main()
