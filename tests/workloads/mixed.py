"""A deterministic workload touching every kind of event the function
profiler must count exactly: recursion (direct and mutual), exceptions
raised across frames, builtins through each calling convention, methods
and method descriptors, generators resumed, thrown into and closed, and
comprehensions."""
import math


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


def boom(depth):
    if depth == 0:
        raise ValueError("deep")
    return boom(depth - 1)


def catcher():
    caught = 0
    for i in range(5):
        try:
            boom(i)
        except ValueError:
            caught += 1
    return caught


def gen(n):
    for i in range(n):
        try:
            yield i
        except KeyError:
            yield -1


def use_gen():
    g = gen(10)
    out = [next(g), next(g)]
    out.append(g.throw(KeyError("x")))
    out.extend(g)
    g2 = gen(5)
    next(g2)
    g2.close()
    return sum(out)


class Shape:
    def __init__(self, size):
        self.size = size

    def area(self):
        return self.size * self.size

    @property
    def double(self):
        return self.size * 2

    @staticmethod
    def unit():
        return Shape(1)

    @classmethod
    def make(cls, n):
        return [cls(i) for i in range(n)]


def builtins_mix():
    data = []
    for i in range(20):
        data.append(i)                # method descriptor call
        len(data)                     # METH_O builtin
    d = {}
    for i in range(5):
        d.setdefault(i, []).append(i)
    sorted(data, key=abs)             # builtin calling back into a builtin
    max(data)
    math.sqrt(16.0)
    "-".join(str(x) for x in range(4))  # genexpr consumed by a builtin
    list.append(data, 99)               # descriptor called via the type
    isinstance(data, list)
    getattr(data, "append")(1)
    data.copy()                         # METH_NOARGS
    d.get(1, None)                      # METH_FASTCALL
    "a,b".split(",", 1)                 # METH_FASTCALL | METH_KEYWORDS
    print("x", end="", file=_Sink())    # keywords, and a Python method called back
    int.from_bytes(b"\x01", "big")      # class method of a builtin type
    try:
        math.sqrt(-1)                   # a builtin that raises
    except ValueError:
        pass
    return sum(data)


class _Sink:
    def write(self, text):
        return len(text)


def objects():
    shapes = Shape.make(10)
    total = sum(s.area() for s in shapes)
    total += sum([s.double for s in shapes])
    total += Shape.unit().area()
    return total


def main():
    fib(12)
    is_even(30)
    catcher()
    use_gen()
    builtins_mix()
    objects()
    {k: fib(k) for k in range(6)}


if __name__ == "__main__":
    main()
