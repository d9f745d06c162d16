"""Tight arithmetic loops in a single function, almost no calls.

A function profiler only pays per call, so its overhead here should be close
to zero: this row checks that profiling does not slow down plain bytecode.
"""
WIDTH = 480
HEIGHT = 360
MAX_ITER = 120


def mandelbrot(width=WIDTH, height=HEIGHT, max_iter=MAX_ITER):
    """Count the points of a width x height grid inside the Mandelbrot set.

    Complex arithmetic is written out on floats so that the inner loop is
    pure bytecode: no method calls, no builtins.
    """
    inside = 0
    y = 0
    while y < height:
        ci = -1.2 + 2.4 * y / height
        x = 0
        while x < width:
            cr = -2.1 + 3.0 * x / width
            zr = zi = 0.0
            n = 0
            while n < max_iter and zr * zr + zi * zi <= 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                n += 1
            if n == max_iter:
                inside += 1
            x += 1
        y += 1
    return inside


if __name__ == "__main__":
    print(mandelbrot())
