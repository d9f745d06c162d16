"""Call-heavy recursion: naive Fibonacci.

Almost all the time is spent entering and leaving one small Python function,
so this is the worst case for a deterministic profiler: the overhead per call
is the whole story.  No C functions are called in the hot path.
"""
N = 34


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def main():
    return fib(N)


if __name__ == "__main__":
    print(main())
