"""Line-profiler workload: loops, one-line loops, comprehensions, a
generator, exceptions from a callee, a with block, multi-line statements and
recursion, with hit counts that line_profiler defines."""
import contextlib

def gen(n):
    for i in range(n):
        yield i * 2
    x = 1

def boom():
    raise ValueError("x")

def foo(a, b):
    return a + b

@contextlib.contextmanager
def cm():
    yield 5

def main():
    t = 0
    for i in range(5):
        t += i
        t *= 1
    j = 0
    while j < 3:
        j += 1
    sq = [k * k for k in range(4)]
    for v in gen(3):
        t += v
    try:
        boom()
    except ValueError:
        t -= 1
    with cm() as c:
        t += c
    y = (1 +
         2 +
         3)
    z = foo(
        1,
        2)
    return t

def onel():
    t = 0
    for i in range(5): t += i
    while t > 0: t -= 1
    return t


def fact(n):
    if n <= 1:
        return 1
    r = n * fact(n - 1)
    return r


def branchy(x):
    if x > 0:
        y = 1
    else:
        y = -1
    return y


def run_all():
    main()
    onel()
    fact(4)
    branchy(1)
    branchy(-1)


FUNCTIONS = [main, gen, onel, cm.__wrapped__, fact, branchy, foo, boom]
