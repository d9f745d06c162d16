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
import os
import re
import time

from profkit.errors import ProfkitError

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


def read(path):
    """Parse a ``.dat`` file.  Raises ProfkitError when it cannot be read or
    holds no memory data at all; a file cut short (a last line without its
    end, or garbage after the data) is read up to the damage, with a warning
    in ``.warnings``."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ProfkitError(f"can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}", exit_code=1) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfkitError(f"{path}: not an mprof .dat file (it is not text)", exit_code=1) from None
    data = MprofData(path)
    lines = text.split("\n")
    complete = text.endswith("\n")
    if complete:
        lines.pop()
    bad = None
    for number, line in enumerate(lines, 1):
        try:
            _parse_line(data, line)
        except (ValueError, IndexError):
            last = number == len(lines)
            if last and not complete:
                data.warnings.append(f"{path}: line {number} is cut short (the run ended abruptly?); "
                                     f"it was left out")
            elif bad is None:
                bad = number
                data.warnings.append(f"{path}: line {number} is not mprof data: {line[:60]!r}; "
                                     f"the file was read up to it")
            break
    if not data.mem and not data.children:
        if bad is not None or lines and lines[0] and not lines[0].startswith("CMDLINE"):
            raise ProfkitError(f"{path}: not an mprof .dat file (line {bad or 1} is not mprof data)",
                               exit_code=1)
        raise ProfkitError(f"{path}: holds no memory samples (the run was shorter than one "
                           f"interval, or was cut short at once)", exit_code=1)
    return data


def _parse_line(data, line):
    field, _, value = line.partition(" ")
    if field == "MEM":
        mib, t = value.split(" ")
        data.mem.append((float(mib), float(t)))
    elif field == "CHLD":
        pid, mib, t = value.split(" ")
        data.children.setdefault(int(pid), []).append((float(mib), float(t)))
    elif field == "FUNC":
        parts = value.split(" ")
        if len(parts) not in (5, 6):
            raise ValueError(line)
        name, mib0, t0, mib1, t1 = parts[:5]
        level = int(parts[5]) if len(parts) == 6 else 1
        data.calls.append(FuncCall(name, float(t0), float(t1), float(mib0), float(mib1), level))
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
