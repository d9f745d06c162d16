"""Three functions that wait, each longer than the one before.

Run it under a profiler to see the ranking func3 > func2 > func1:

    profkit func -s tottime examples/time/slow.py
"""
import time


def func1():
    time.sleep(0.1)


def func2():
    time.sleep(0.2)


def func3():
    time.sleep(0.4)


def main():
    func1()
    func2()
    func3()


if __name__ == "__main__":
    main()
