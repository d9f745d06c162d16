"""Four threads doing pure-Python work, then joined.

cProfile sees only the main thread (which just waits here); profkit profiles
every thread by default, so compare with the --main-thread-only variant too.
With the GIL the threads take turns, so the wall time is close to the sum of
their work.
"""
import threading

N_THREADS = 4
LIMIT = 100_000


def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def collatz_length(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def work(index, results):
    primes = 0
    longest = 0
    for n in range(index, LIMIT, N_THREADS):
        if is_prime(n):
            primes += 1
        longest = max(longest, collatz_length(n + 1))
    results[index] = (primes, longest)


def main():
    results = [None] * N_THREADS
    threads = [threading.Thread(target=work, args=(i, results)) for i in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


if __name__ == "__main__":
    print(main())
