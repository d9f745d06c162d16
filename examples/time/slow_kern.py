"""slow.py with a bare @profile on each function, as kernprof expects.

The name `profile` is supplied by the profiler that runs the script
(profkit lines, kernprof -l); plain python would fail on it.

    profkit lines examples/time/slow_kern.py
"""
import time

STEPS = 30_000  # about 1 ms of arithmetic per unit on a current CPU


@profile  # noqa: F821
def func1():
    time.sleep(0.1)
    total = 0
    for i in range(STEPS):
        total += i
    return total


@profile  # noqa: F821
def func2():
    time.sleep(0.2)
    total = 0
    for i in range(2 * STEPS):
        total += i
    return total


@profile  # noqa: F821
def func3():
    time.sleep(0.4)
    total = 0
    for i in range(4 * STEPS):
        total += i
    return total


def main():
    func1()
    func2()
    func3()


if __name__ == "__main__":
    main()
