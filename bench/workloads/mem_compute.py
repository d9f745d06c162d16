"""CPU-bound pure Python with a steady footprint.

Naive recursive Fibonacci and Collatz chain lengths in integer arithmetic:
nothing is allocated that outlives a few bytecodes, so the resident size
stays flat (under 10 MB) for the whole run.  A memory sampler costs such a
program only the CPU time and cache it takes from it.
"""

FIB_N = 30
FIB_TIMES = 15
COLLATZ_UP_TO = 450_000


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def collatz_length(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def main():
    total = 0
    for _ in range(FIB_TIMES):
        total += fib(FIB_N)
    longest = 0
    for n in range(1, COLLATZ_UP_TO):
        longest = max(longest, collatz_length(n))
    return total, longest


if __name__ == "__main__":
    print(*main())
