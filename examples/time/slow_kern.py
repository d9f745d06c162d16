"""slow.py with a bare @profile on each function, as kernprof expects.

The name `profile` is supplied by the profiler that runs the script
(profkit lines, kernprof -l); plain python would fail on it.
"""
import time


@profile  # noqa: F821
def func1():
    time.sleep(0.1)


@profile  # noqa: F821
def func2():
    time.sleep(0.2)


@profile  # noqa: F821
def func3():
    time.sleep(0.4)


def main():
    func1()
    func2()
    func3()


if __name__ == "__main__":
    main()
