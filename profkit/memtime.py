"""Memory over time: ``profkit run`` and ``profkit.memory_usage``.

Both sample with ``_engine.Sampler``, a C thread that reads /proc at a fixed
interval and never takes the GIL.  ``profkit run`` samples the program from
the outside (its own process), so the program pays only for the CPU time of
a few /proc reads per second on another core; the samples go straight to the
``.dat`` file as they are taken.  ``record`` returns a ``RunResult``, which
also says what the run was in words (``describe``, with the rule for when the
kernel's peak RSS is worth quoting) and what status to exit with.
"""
import os
import resource
import shlex
import signal
import subprocess
import sys

from profkit import _engine
from profkit.errors import ProfkitError
from profkit.formats import mprof

_BACKENDS = {None: "rss", "rss": "rss", "pss": "pss", "uss": "uss", "psutil": "rss",
             "psutil_pss": "pss", "psutil_uss": "uss", "posix": "rss"}


def _backend(name):
    try:
        return _BACKENDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown memory backend {name!r}: profkit measures 'rss' (also "
                         f"'psutil' and 'posix'), 'pss' ('psutil_pss') or 'uss' ('psutil_uss')") from None


def _flags(include_children, multiprocess):
    return (1 if include_children else 0) | (2 if multiprocess else 0)


# ---- profkit.memory_usage ----------------------------------------------------


def memory_usage(proc=-1, interval=0.1, timeout=None, timestamps=False, include_children=False,
                 multiprocess=False, max_usage=False, retval=False, stream=None, backend=None,
                 max_iterations=None):
    """Memory of a process, in MiB, sampled every ``interval`` seconds.

    A drop-in for ``memory_profiler.memory_usage``.  ``proc`` is one of:

    * ``-1`` (the default): this process.  With ``timeout``, it is sampled
      for that long; without, once.
    * a pid: that process, once, or for ``timeout`` seconds (or until it
      ends).
    * a callable, or ``(f, args)`` or ``(f, args, kwargs)``: ``f`` runs here
      while a C thread samples this process; one sample is always taken just
      before it starts and one just after it returns, so the list is never
      empty and ``f`` runs exactly once (memory_profiler runs a quick ``f``
      again at shorter intervals).
    * a ``subprocess.Popen``, a command string or a list of words: sampled
      until it ends, or for ``timeout`` seconds.  A command is started here.

    Returns a list of MiB values; ``(MiB, unix time)`` pairs with
    ``timestamps``; the largest value only with ``max_usage``; with
    ``multiprocess`` each item is ``[MiB, child MiB, ...]``; and
    ``(result, return value)`` with ``retval``.  With ``stream``, the samples
    are written to it as ``.dat`` lines and ``None`` is returned.
    """
    kind = _backend(backend)
    if not interval > 0:
        raise ValueError("interval must be positive")
    interval = max(float(interval), 1e-4)
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must not be negative")
    flags = _flags(include_children, multiprocess)
    limit = int(max_iterations) if max_iterations else 0
    returned = None

    func = None
    if callable(proc) and not isinstance(proc, subprocess.Popen):
        func, args, kwargs = proc, (), {}
    elif isinstance(proc, (list, tuple)) and proc and callable(proc[0]):
        if len(proc) > 3:
            raise ValueError("a function to measure is given as f, (f, args) or (f, args, kwargs)")
        func, args, kwargs = (tuple(proc) + ((), {}))[:3]
        args, kwargs = tuple(args), dict(kwargs or {})

    if func is not None:
        sampler = _engine.Sampler(0, interval, kind, flags, -1, True, 0)
        sampler.start()
        try:
            returned = func(*args, **kwargs)
        finally:
            sampler.stop()
    else:
        popen = None
        if isinstance(proc, subprocess.Popen):
            popen = proc
        elif isinstance(proc, (str, list, tuple)):
            words = shlex.split(proc) if isinstance(proc, str) else [str(w) for w in proc]
            if not words:
                raise ValueError("an empty command")
            try:
                popen = subprocess.Popen(words)
            except OSError as exc:
                raise ValueError(f"cannot start {words[0]!r}: {exc.strerror or exc}") from None
        elif isinstance(proc, int):
            pass
        else:
            raise TypeError(f"proc must be -1, a pid, a callable or a command, not {type(proc).__name__}")
        pid = popen.pid if popen is not None else (0 if proc == -1 else proc)
        if popen is None and timeout is None:
            limit = limit or 1  # a pid without timeout: one sample, as memory_profiler
        sampler = _engine.Sampler(pid, interval, kind, flags, -1, True, limit)
        try:
            sampler.start()
        except ProcessLookupError:
            if popen is None:
                raise
            sampler = None  # the command ended before its first sample
        if sampler is not None:
            sampler.wait(-1.0 if timeout is None else float(timeout))
            sampler.stop()
        if popen is not None and popen is not proc and popen.poll() is None and timeout is None:
            popen.wait()

    samples = sampler.samples() if sampler is not None else []
    children = sampler.child_samples() if sampler is not None and multiprocess else []
    if stream is not None:
        by_time = _group_children(children)
        for mib, t in samples:
            stream.write(mprof.mem_line(mib, t))
            for pid, cmib in by_time.get(t, ()):
                stream.write(mprof.child_line(pid, cmib, t))
        if hasattr(stream, "flush"):
            stream.flush()
        return None
    if max_usage:
        result = max((m for m, _t in samples), default=0.0)
    elif multiprocess and func is None:
        by_time = _group_children(children)
        result = [[(m, t) if timestamps else m] + [c for _p, c in by_time.get(t, ())] for m, t in samples]
    elif timestamps:
        result = [(m, t) for m, t in samples]
    else:
        result = [m for m, _t in samples]
    if retval:
        return result, returned
    return result


def _group_children(children):
    by_time = {}
    for pid, mib, t in children:
        by_time.setdefault(t, []).append((pid, mib))
    return by_time


# ---- profkit run -------------------------------------------------------------


class RunResult:
    def __init__(self, path, status, rusage, summary, sampler_cpu, own_rss, started=None,
                 backend="rss", include_children=False):
        self.path = path
        self.status = status        # os.wait4 status
        # for a python_target: whether the program itself started (False:
        # the interpreter or profkit's side of it failed first)
        self.started = started
        self.rusage = rusage
        self.summary = summary      # Sampler.summary(), or None
        self.sampler_cpu = sampler_cpu  # CPU seconds profkit used while the program ran
        # profkit's own RSS when it started the program: the kernel counts it
        # in the program's peak (a child starts as a copy of its parent)
        self.own_rss = own_rss
        self.backend = backend      # what was sampled: rss, pss or uss
        self.include_children = include_children
        self.stopped_by = 0         # the signal profkit got and passed on, if any

    def kernel_peak(self):
        """The kernel's peak RSS of the program (MiB, from wait4), when it
        says something the samples do not: only for RSS of the program
        alone, and only once it is above what the child inherited from
        profkit at its start, since only then is the figure the program's
        own.  Else None."""
        kernel = self.rusage.ru_maxrss / 1024.0
        if self.include_children or self.backend != "rss" or kernel * 1048576 < self.own_rss * 1.1:
            return None
        return kernel

    def describe(self):
        """The run in a line or two, for people: how many samples, the
        peak and when, what sampling cost."""
        summary = self.summary
        if not (summary and summary["count"]):
            return ["the program ended before its first sample"]
        elapsed = summary["peak_time"] - summary["first_time"]
        kernel = self.kernel_peak()
        note = "" if kernel is None else f" (the kernel's peak RSS: {kernel:.1f} MiB)"
        span = summary["last_time"] - summary["first_time"]
        count = summary["count"]
        cost = f"sampling used {self.sampler_cpu * 1e3:.0f} ms of CPU"
        if count > 1 and span > 0:  # a share needs a span of time to divide by
            cost += f" ({100 * self.sampler_cpu / span:.2f}% of one core)"
        return [f"{count} sample{'s' if count != 1 else ''}; peak {summary['peak']:.1f} MiB at "
                f"{elapsed:.2f} s{note}", cost]

    def killed_by(self):
        """The signal that ended the program, or 0."""
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else 0

    def exit_code(self):
        """The status profkit returns for the program: its own, or 128 + the
        signal that killed it, as a shell reports it."""
        sig = self.killed_by()
        return 128 + sig if sig else os.WEXITSTATUS(self.status)


def record(argv, path, cmdline, interval, backend="rss", include_children=False,
           multiprocess=False, python_target=None, hold=False):
    """Start ``argv`` (or, for ``python_target`` = the words after
    ``python``, a Python program whose ``@profile`` calls are stamped) and
    sample it into the ``.dat`` file ``path`` until it ends.  SIGTERM,
    SIGINT and SIGHUP sent to profkit meanwhile go to the program, and the
    program dies with profkit (see supervise.py); the RunResult's
    ``stopped_by`` names the signal profkit should end by, once done.
    ``hold``: those signals stay blocked after the program has ended, until
    the caller is done too and calls ``result.release()``, which returns
    the signal to end by (one may have come meanwhile)."""
    from profkit.supervise import Supervisor

    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        raise ProfkitError(f"cannot write {path!r}: {exc.strerror or exc}", exit_code=1) from None
    ready = supervisor = None
    try:
        try:
            os.write(fd, f"CMDLINE {cmdline}\n".encode("utf-8", "replace"))
        except OSError as exc:  # a full disk: leave no empty file behind
            os.unlink(path)
            raise ProfkitError(f"cannot write {path!r}: {exc.strerror or exc}", exit_code=1) from None
        pass_fds = ()
        if python_target is not None:
            from profkit import timeline_child

            ready, ready_w = os.pipe()
            argv = timeline_child.command(fd, ready_w, python_target)
            pass_fds = (fd, ready_w)
        own_rss = _engine.self_rss()
        supervisor = Supervisor(hold)
        with supervisor:
            try:
                child = subprocess.Popen(argv, pass_fds=pass_fds, preexec_fn=supervisor.child_setup)
            except OSError as exc:
                raise ProfkitError(f"cannot start {argv[0]!r}: {exc.strerror or exc}",
                                   exit_code=1) from None
            finally:
                if ready is not None:
                    os.close(ready_w)
            before = resource.getrusage(resource.RUSAGE_SELF)
            sampler = _engine.Sampler(child.pid, interval, backend,
                                      _flags(include_children, multiprocess), fd, False, 0)
            try:
                sampler.start()
            except ProcessLookupError:
                sampler = None
            status, rusage = supervisor.wait(child.pid)
            child.returncode = _exit_code(status)
            if sampler is not None:
                sampler.stop()
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        summary = sampler.summary() if sampler is not None else None
        if summary is not None and summary["write_errno"]:
            err = os.strerror(summary["write_errno"])
            print(f"profkit run: warning: writing {path} failed part way: {err}", file=sys.stderr)
        started = None
        if ready is not None:
            os.set_blocking(ready, False)  # a descendant may hold the other end
            try:
                started = os.read(ready, 1) == b"1"
            except BlockingIOError:
                started = False
        result = RunResult(path, status, rusage, summary, cpu, own_rss, started, backend,
                           include_children)
        result.stopped_by = supervisor.stopped_by
        result.release = supervisor.release
        return result
    except BaseException:
        if supervisor is not None:  # nobody will release the signals: now
            supervisor.release()
        raise
    finally:
        os.close(fd)
        if ready is not None:
            os.close(ready)


def _exit_code(status):
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def signal_name(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"
