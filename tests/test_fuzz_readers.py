"""Every reader takes any file, and answers in one line.

Damaged copies of a valid file in each of seven formats (profkit's and
cProfile's pstats, profkit's and kernprof's ``.lprof``, profkit's memory
report, profkit's and mprof's ``.dat``) go through ``show``, ``peak`` and
``plot``: each run ends in a report (exit 0) or in one line on stderr and a
non-zero exit, never in a traceback, a hang or a crash.  The mutants come
from a fixed seed (PROFKIT_FUZZ_SEED), PROFKIT_FUZZ_COUNT per format and
command (``make fuzz`` runs many more); they run in one worker process per
format (see fuzzing.py), and a small sample through the installed command.
Then the inputs that are not files at all, and each damage the issue named,
one by one with its exact answer.
"""
import json
import os
import subprocess
import sys
import threading

import fuzzing
import pytest
from conftest import ENTRIES

from profkit import formats
from profkit.formats import html as html_file
from profkit.formats import pstats_io
from profkit.errors import UNREADABLE

SEED = int(os.environ.get("PROFKIT_FUZZ_SEED", "18"))
COUNT = int(os.environ.get("PROFKIT_FUZZ_COUNT", "100"))

PLOT = ["plot", "{}", "-o", "out.svg"]
HTML = ["show", "{}", "-o", "out.html"]  # the call tree guessed from the edges, and the page
COMMANDS = {"pstats": [["show", "{}"], HTML], "cprofile": [["show", "{}"], HTML],
            "lprof": [["show", "{}"]],
            "kernprof": [["show", "{}"]], "linemem": [["show", "{}"]],
            "dat": [["peak", "{}"], PLOT], "mprof": [["peak", "{}"], PLOT]}
@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return fuzzing.seed_files(str(tmp_path_factory.mktemp("seeds")))


def run_worker(fmt, seeds, folder, count=COUNT, start=0):
    """The worker's records for ``count`` mutants of ``fmt``; a crash of the
    worker fails the test, naming the mutant it was on."""
    if fmt not in seeds:
        pytest.skip(f"the producer of {fmt} files is not installed")
    spec = {"format": fmt, "seed": SEED, "count": start + count, "start": start,
            "seed_file": seeds[fmt], "folder": str(folder), "commands": COMMANDS[fmt]}
    env = None
    if os.environ.get("PROFKIT_EXPECT_SANITIZED"):
        spec["limit"] = 60.0  # under AddressSanitizer everything runs several times slower
        # The worker caps its address space (a huge allocation is then a MemoryError, as on a
        # machine without that much memory: a pickle's memo index can ask for 30 GB), but not
        # under ASan, whose allocator aborts instead unless told to fail as malloc does.
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                   ":allocator_may_return_null=1")
    spec_path = os.path.join(str(folder), "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    r = subprocess.run([sys.executable, fuzzing.__file__, spec_path], capture_output=True,
                       text=True, timeout=60 + 12 * count, env=env)
    records = [json.loads(line) for line in r.stdout.splitlines()]
    starts = [rec["start"] for rec in records if "start" in rec]
    assert r.returncode == 0, (f"the worker died ({r.returncode}) on {fmt} mutant "
                               f"{starts[-1] if starts else '?'} (seed {SEED}): {r.stderr[-2000:]}")
    return [rec for rec in records if "i" in rec]


def problem(rec, codes):
    """What is wrong with one run's record, or None."""
    if rec["tb"] == "hang":
        return "it hung"
    if rec["tb"] is not None:
        return "traceback:\n" + rec["tb"]
    if "Traceback" in rec["err"]:
        return "a traceback on stderr:\n" + rec["err"][-1500:]
    if rec["code"] not in codes:
        return f"exit code {rec['code']!r}"
    if rec["code"] != 0 and len(rec["err"].strip().splitlines()) != 1:
        return f"not one line: {rec['err'][:500]!r}"
    return None


def check(fmt, records):
    codes = {0, UNREADABLE}
    bad = [(rec, problem(rec, codes)) for rec in records]
    bad = [(rec, p) for rec, p in bad if p is not None]
    report = "\n".join(f"{fmt} mutant {rec['i']} ({rec['how']}, "
                       f"profkit {' '.join(rec['argv'])}, seed "
                       f"{SEED}): {p}" for rec, p in bad[:5])
    assert not bad, f"{len(bad)} of {len(records)} runs went wrong:\n{report}"


@pytest.mark.parametrize("fmt", fuzzing.FORMATS)
def test_damaged_files_end_in_a_report_or_one_line(fmt, seeds, tmp_path):
    records = run_worker(fmt, seeds, tmp_path)
    assert len(records) == COUNT * len(COMMANDS[fmt])
    check(fmt, records)


# what the seeds' pstats files give as a tree: (name, calls, total seconds) depth first
GUESSED_TREE = {"pstats": [("_outer", 1, 3.5e-05), ("_work", 2, 1.4e-05)],
                "cprofile": [("_outer", 1, 3.5e-05), ("_work", 2, 1.4e-05),
                             ("<method 'disable' of '_lsprof.Profiler' objects>", 1, 7e-06)]}


@pytest.mark.parametrize("fmt", fuzzing.FORMATS)
def test_the_valid_files_read_back(fmt, seeds, tmp_path):
    if fmt not in seeds:
        pytest.skip(f"the producer of {fmt} files is not installed")
    for argv in COMMANDS[fmt]:
        # the outputs go to tmp_path ("out.html" -> tmp_path/out.html)
        argv = [seeds[fmt] if a == "{}" else str(tmp_path / a) if a.startswith("out.") else a
                for a in argv]
        code, out, err, tb = fuzzing.run_main(argv)
        assert (code, tb) == (0, None), err
        assert "warning" not in err
        if argv[0] == "show" and "-o" not in argv:
            assert ("_work" in out) and err == ""
        elif argv[0] == "show":  # the page, with the tree guessed from the edges
            assert err.startswith(f"profkit show: wrote {os.path.relpath(argv[-1])} (open it")
            assert formats.read(argv[-1]).stats == pstats_io.load(seeds[fmt])
            data = html_file.load(argv[-1])
            nodes = data["threads"][0]
            got = [(data["funcs"][f][2], c, t)
                   for f, c, t in zip(nodes["func"], nodes["calls"], nodes["total"]) if f >= 0]
            assert got == GUESSED_TREE[fmt]


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_a_sample_through_the_command(cli, seeds, tmp_path):
    # two mutants of each format (one of each kind), as a user runs profkit
    for fmt in fuzzing.FORMATS:
        if fmt not in seeds:
            continue
        with open(seeds[fmt], "rb") as f:
            data = f.read()
        for i in (0, 1):
            _how, damaged = fuzzing.mutant(fmt, data, SEED, i)
            name = f"{fmt}-{i}{os.path.splitext(seeds[fmt])[1]}"
            (tmp_path / name).write_bytes(damaged)
            for argv in COMMANDS[fmt]:
                r = cli(*[name if a == "{}" else a for a in argv])
                rec = {"tb": None, "err": r.stderr, "code": r.returncode, "argv": argv[:1],
                       "out": len(r.stdout)}
                assert problem(rec, {0, UNREADABLE}) is None, (fmt, i, argv, r.stderr)


# ---- inputs that are not files ----------------------------------------------------------

def _fifo(tmp_path):
    path = str(tmp_path / "fifo")
    os.mkfifo(path)
    return path


NOT_FILES = {
    "a directory": (lambda tmp: str(tmp), "[Errno 21] Is a directory"),
    "/dev/zero": (lambda tmp: "/dev/zero",
                  "[Errno 22] a character device, not a regular file or a pipe"),
    "a FIFO with no writer": (_fifo, None),
}


@pytest.mark.parametrize("what", NOT_FILES)
@pytest.mark.parametrize("command", ["peak", "plot"])
def test_peak_and_plot_refuse_what_is_not_a_file(command, what, tmp_path):
    make, reason = NOT_FILES[what]
    path = make(tmp_path)
    argv = [command, path] + (["-o", str(tmp_path / "x.svg")] if command == "plot" else [])
    code, out, err, tb = fuzzing.run_main(argv)
    assert tb is None and code == UNREADABLE and out == ""
    prefix = "profkit peak: error: " if command == "peak" else "profkit: error: "
    if reason is None:  # nothing to read: an empty .dat
        assert err == (f"{prefix}{path}: holds no memory samples (the run was shorter than one "
                       "interval, or was cut short at once)\n")
    else:
        assert err == f"{prefix}can't open file {path!r}: {reason}\n"


@pytest.mark.parametrize("what", NOT_FILES)
def test_show_refuses_what_is_not_a_file(what, tmp_path):
    make, _reason = NOT_FILES[what]
    code, out, err, tb = fuzzing.run_main(["show", make(tmp_path)], limit=5.0)
    assert tb is None and code == UNREADABLE and len(err.splitlines()) == 1


def _feed(write_fd, data):
    try:
        with os.fdopen(write_fd, "wb") as f:
            f.write(data)
    except BrokenPipeError:  # the reader stopped reading
        pass


@pytest.mark.parametrize("command, fmt", [("peak", "dat"), ("show", "pstats"), ("show", "lprof")])
def test_a_pipe_is_read_once(seeds, command, fmt):
    # what `profkit peak <(cat x.dat)` gives: /dev/fd/N, a pipe (show used to open it
    # twice: once to tell the kind, once to read it, and found it empty the second time)
    read_fd, write_fd = os.pipe()
    with open(seeds[fmt], "rb") as f:
        feeder = threading.Thread(target=_feed, args=(write_fd, f.read()))
    feeder.start()
    try:
        code, out, err, tb = fuzzing.run_main([command, f"/dev/fd/{read_fd}"])
    finally:
        feeder.join()
        os.close(read_fd)
    assert (code, tb, err) == (0, None, "")
    if command == "peak":
        assert out == f"/dev/fd/{read_fd}\t36.500 MiB\n  Child 4242\t\t\t14.000 MiB\n"
    else:
        assert "_work" in out


def test_what_is_too_big_is_refused(tmp_path):
    from profkit.formats import source

    (tmp_path / "big").write_bytes(b"x" * 5000)
    with pytest.raises(OSError) as info:
        source.read_input(str(tmp_path / "big"), limit=4096)
    assert str(info.value) == f"[Errno 27] larger than 0.00390625 MiB, the most profkit reads: " \
                              f"'{tmp_path / 'big'}'"
    read_fd, write_fd = os.pipe()
    feeder = threading.Thread(target=_feed, args=(write_fd, b"y" * (3 << 20)))
    feeder.start()
    try:
        with pytest.raises(OSError, match=r"larger than 1 MiB"):
            source.read_input(f"/dev/fd/{read_fd}", limit=1 << 20)
    finally:
        os.close(read_fd)  # the feeder then fails on a closed pipe, and ends
        feeder.join()
    assert source.read_input(str(tmp_path / "big"), limit=5000) == b"x" * 5000
