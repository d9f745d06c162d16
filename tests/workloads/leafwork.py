"""Small functions with known counts, for the tests of the IPython magics
and of the pytest plugin, which copy this file beside their code (as
pkmagiclib.py, as app.py) and count its calls and lines."""


def leaf(i):
    return i * 2


def work(n):
    total = 0
    for i in range(n):
        total += leaf(i)
    return total


def make(n):
    return bytearray(n)


def grow(n):
    keep = bytearray(n)
    return len(keep)


class Box:
    def get(self):
        return leaf(1)
