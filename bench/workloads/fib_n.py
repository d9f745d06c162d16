"""fib.py's naive recursion at a size given on the command line:
``python fib_n.py 31`` computes fib(31) (4,356,617 calls).  bench/fibsizes.py
runs it at several sizes, so that a cost growing with the length of the run
shows as a change between sizes."""
import sys


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


if __name__ == "__main__":
    fib(int(sys.argv[1]))
