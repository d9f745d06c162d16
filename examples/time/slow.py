"""Three functions that wait, each twice as long as the one before.

Each also does a little arithmetic of its own, in the same proportion, the
way real code mixes waiting (I/O, sleeps) with work.  A profiler ranks them
func3 > func2 > func1 by total time, by time in the sleeps, and by time in
their own code:

    profkit func -s tottime examples/time/slow.py
"""
import time

STEPS = 30_000  # about 1 ms of arithmetic per unit on a current CPU


def func1():
    time.sleep(0.1)
    total = 0
    for i in range(STEPS):
        total += i
    return total


def func2():
    time.sleep(0.2)
    total = 0
    for i in range(2 * STEPS):
        total += i
    return total


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
