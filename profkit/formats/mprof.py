"""memory_profiler's ``.dat`` format: what ``mprof run`` writes and ``mprof plot`` reads.

One record per line, fields separated by single spaces::

    CMDLINE <the command line>
    MEM <MiB> <unix time>
    CHLD <pid> <MiB> <unix time>
    FUNC <module.function> <start MiB> <start time> <end MiB> <end time> <level>

MEM is the sampled process (with ``--include-children``, plus its
descendants); CHLD is one descendant (``--multiprocess``); FUNC is one call of
a function marked ``@profile``, ``level`` being how deep it was nested in
other marked calls (1 = outermost).  Lines are appended as they are taken, so
a file cut short by a crash holds everything up to the crash.
"""
import glob
import math
import os
import re
import time

from profkit.errors import UNREADABLE, ProfkitError
from profkit.formats.source import read_input

DAT_GLOB = "mprofile_??????????????.dat"
_DAT_RE = re.compile(r"^mprofile_(\d{14})\.dat$")


def mem_line(mib, t):
    return "MEM %.6f %.4f\n" % (mib, t)


def child_line(pid, mib, t):
    return "CHLD %d %.6f %.4f\n" % (pid, mib, t)


def func_line(name, mib0, t0, mib1, t1, level):
    return "FUNC %s %.4f %.4f %.4f %.4f %d\n" % (name, mib0, t0, mib1, t1, level)


class FuncCall:
    __slots__ = ("name", "start", "end", "mem_start", "mem_end", "level")

    def __init__(self, name, start, end, mem_start, mem_end, level):
        self.name, self.start, self.end = name, start, end
        self.mem_start, self.mem_end, self.level = mem_start, mem_end, level


class MprofData:
    """The content of one ``.dat`` file."""

    def __init__(self, filename):
        self.filename = filename
        self.cmdline = None
        self.mem = []        # [(MiB, unix time)]
        self.children = {}   # pid -> [(MiB, unix time)]
        self.calls = []      # [FuncCall], in file order
        self.warnings = []

    @property
    def start_time(self):
        times = [t for _m, t in self.mem]
        times += [t for s in self.children.values() for _m, t in s]
        times += [c.start for c in self.calls]
        return min(times) if times else 0.0

    def peak(self):
        """(MiB, unix time) of the highest MEM sample."""
        return max(self.mem, key=lambda s: s[0])


def read(path, data=None):
    """Parse a ``.dat`` file.  Raises ProfkitError (exit code UNREADABLE)
    when it cannot be read or holds no memory data at all; a file cut short
    (a last line without its end, or garbage after the data) is read up to
    the damage, with a warning in ``.warnings``.  A line is data only when
    all its fields are: numbers finite and in range (see ``_parse_line``).
    ``data``: the file's bytes, already read (``path`` then only names it)."""
    try:
        raw = read_input(path) if data is None else data
    except OSError as exc:
        raise ProfkitError(f"can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}",
                           exit_code=UNREADABLE) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfkitError(f"{path}: not an mprof .dat file (it is not text)",
                           exit_code=UNREADABLE) from None
    dat = MprofData(path)
    lines = text.split("\n")
    complete = text.endswith("\n")
    if complete:
        lines.pop()
    bad = None
    for number, line in enumerate(lines, 1):
        try:
            _parse_line(dat, line)
        except (ValueError, IndexError):
            last = number == len(lines)
            if last and not complete:
                dat.warnings.append(f"{path}: line {number} is cut short (the run ended abruptly?); "
                                     f"it was left out")
            elif bad is None:
                bad = number
                dat.warnings.append(f"{path}: line {number} is not mprof data: {line[:60]!r}; "
                                     f"the file was read up to it")
            break
    if not dat.mem and not dat.children:
        if bad is not None or lines and lines[0] and not lines[0].startswith("CMDLINE"):
            raise ProfkitError(f"{path}: not an mprof .dat file (line {bad or 1} is not mprof data)",
                               exit_code=UNREADABLE)
        raise ProfkitError(f"{path}: holds no memory samples (the run was shorter than one "
                           f"interval, or was cut short at once)", exit_code=UNREADABLE)
    return dat


# What a field may hold.  A unix time stays within 1e11 s (the year 5138) of
# 1970, a memory figure under 1e12 MiB, a pid and a nesting level under
# 2**31: beyond that a line is damage, and pictures could not scale to it.
MAX_TIME = 1e11
MAX_MIB = 1e12
MAX_INT = 1 << 31


def _real(text, bound):
    value = float(text)
    if not (math.isfinite(value) and -bound <= value <= bound):
        raise ValueError(text)
    return value


def _whole(text, low):
    value = int(text)
    if not low <= value < MAX_INT:
        raise ValueError(text)
    return value


def _parse_line(data, line):
    """Add one line to ``data``; ValueError when it is not mprof data.  Every
    field is checked before anything is added."""
    field, _, value = line.partition(" ")
    if field == "MEM":
        mib, t = value.split(" ")
        data.mem.append((_real(mib, MAX_MIB), _real(t, MAX_TIME)))
    elif field == "CHLD":
        pid, mib, t = value.split(" ")
        sample = (_real(mib, MAX_MIB), _real(t, MAX_TIME))
        data.children.setdefault(_whole(pid, 0), []).append(sample)
    elif field == "FUNC":
        parts = value.split(" ")
        if len(parts) not in (5, 6) or not parts[0]:
            raise ValueError(line)
        name, mib0, t0, mib1, t1 = parts[:5]
        level = _whole(parts[5], 0) if len(parts) == 6 else 1  # mprof counts from 0
        data.calls.append(FuncCall(name, _real(t0, MAX_TIME), _real(t1, MAX_TIME),
                                   _real(mib0, MAX_MIB), _real(mib1, MAX_MIB), level))
    elif field == "CMDLINE":
        data.cmdline = value
    elif field.isupper() and field.isalpha():
        pass  # a record type of a newer writer: skip it, as mprof does
    else:
        raise ValueError(line)


# ---- the files in a folder ---------------------------------------------------


def default_name(folder="."):
    """``mprofile_YYYYMMDDhhmmss.dat``, the name mprof gives, made unique."""
    now = time.time()
    while True:
        name = os.path.join(folder, time.strftime("mprofile_%Y%m%d%H%M%S.dat", time.localtime(now)))
        if not os.path.exists(name):
            return name
        now += 1.0


def list_files(folder="."):
    """The ``.dat`` files mprof would list, oldest first."""
    names = [os.path.basename(p) for p in glob.glob(os.path.join(glob.escape(folder), DAT_GLOB))]
    return sorted(n for n in names if _DAT_RE.match(n))


def stamp_of(name):
    """'HH:MM:SS DD/MM/YYYY' from a default file name, as mprof list shows it."""
    m = _DAT_RE.match(os.path.basename(name))
    if not m:
        return ""
    s = m.group(1)
    return f"{s[8:10]}:{s[10:12]}:{s[12:14]} {s[6:8]}/{s[4:6]}/{s[:4]}"
