"""Running code under a profiler: the ``run``, ``runctx``, ``runcall`` and
``with`` forms that cProfile.Profile and line_profiler.LineProfiler share.

A profiler class mixes in ``RunsCode`` and binds ``_on`` and ``_off`` to the
methods that switch it on and off around the code: the engine's own
``enable``/``disable`` for the function profiler (as cProfile; being the
engine's methods, their calls stay out of the profile), and
``enable_by_count``/``disable_by_count`` for the line profilers (as
line_profiler, so that nested uses balance)."""


class RunsCode:
    _on = _off = None  # set by each profiler class

    def run(self, cmd):
        """Profile ``exec(cmd)`` in ``__main__``'s namespace; returns self."""
        import __main__

        d = __main__.__dict__
        return self.runctx(cmd, d, d)

    def runctx(self, cmd, globals, locals):
        """Profile ``exec(cmd, globals, locals)``; returns self."""
        self._on()
        try:
            exec(cmd, globals, locals)
        finally:
            self._off()
        return self

    def runcall(self, func, /, *args, **kw):
        """Profile ``func(*args, **kw)``; returns what it returns."""
        self._on()
        try:
            return func(*args, **kw)
        finally:
            self._off()

    def __enter__(self):
        self._on()
        return self

    def __exit__(self, *exc_info):
        self._off()
