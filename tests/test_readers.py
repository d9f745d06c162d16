"""Each damage the readers once stumbled on, with its exact answer: pstats
values that are strings, None or code, callers that are not a dict, file
names that are not strings, infinite times; ``1e400``, deep nesting and a
huge ``last_line`` in a memory report; ``inf`` and broken CHLD lines in a
``.dat``.  (The same classes, and many more, are fuzzed in
test_fuzz_readers.py.)"""
import json
import marshal
import math
import os
import pickle

import fuzzing
import pytest
from conftest import write

from profkit.errors import UNREADABLE, ProfkitError
from profkit.formats import linemem, mprof, pstats_io
from profkit.report import plot

F = ("f.py", 1, "f")
GOOD = {F: (1, 1, 0.5, 0.5, {}), ("g.py", 2, "g"): (2, 2, 0.1, 0.1, {F: (2, 2, 0.1, 0.1)})}


def dump(tmp_path, stats):
    path = tmp_path / "x.prof"
    path.write_bytes(marshal.dumps(stats))
    return str(path)


@pytest.mark.parametrize("stats, reason", [
    ({F: (1, "1", 0.5, 0.5, {})}, "the figures of f.py:1(f) are not 2 counts and 2 times"),
    ({F: (1, 1, None, 0.5, {})}, "the figures of f.py:1(f) are not 2 counts and 2 times"),
    ({F: (1, 1, 0.5, compile("1", "c", "eval"), {})},
     "the figures of f.py:1(f) are not 2 counts and 2 times"),
    ({F: (1, 1, math.inf, 0.5, {})}, "the figures of f.py:1(f) are not 2 counts and 2 times"),
    ({F: (1, 1, 0.5, 0.5, None)}, "the callers of f.py:1(f) are not a dict"),
    ({F: (1, 1, 0.5, 0.5, [F])}, "the callers of f.py:1(f) are not a dict"),
    ({(7, 1, "f"): (1, 1, 0.5, 0.5, {})}, "a function key is not (file, line, name): (7, 1, 'f')"),
    ({F: (1, 1, 0.5, 0.5, {(None, 0, "g"): (1, 1, 0.1, 0.1)})},
     "a caller of f.py:1(f) is not (file, line, name): (None, 0, 'g')"),
    ({F: (1, 1, 0.5, 0.5, {F: (1, 1, 0.1, "x")})},
     "the figures of a caller of f.py:1(f) are not 2 counts and 2 times"),
    ({F: (-1, 1, 0.5, 0.5, {})}, "the figures of f.py:1(f) are not 2 counts and 2 times"),
    ({F: (1, 2 ** 64, 0.5, 0.5, {})}, "the figures of f.py:1(f) are not 2 counts and 2 times"),
    ({}, "it holds no function, which pstats cannot load"),
    ([1, 2], "it holds a list, not a dict"),
])
def test_pstats_checks_the_whole_structure(tmp_path, stats, reason):
    path = dump(tmp_path, stats)
    with pytest.raises(ValueError) as info:
        pstats_io.load(path)
    assert str(info.value) == f"{path}: not a pstats file ({reason})"
    code, out, err, tb = fuzzing.run_main(["show", path])
    assert tb is None and code != 0 and out == ""
    assert err.splitlines() == [f"profkit show: error: {path}: not a pstats file ({reason})"]


def test_pstats_of_the_profile_module_reads_its_bare_caller_counts(tmp_path):
    # the pure-Python profile module writes a caller's value as a call count
    stats = {F: (1, 1, 0.5, 0.5, {}), ("g.py", 2, "g"): (3, 3, 0.1, 0.1, {F: 3})}
    path = dump(tmp_path, stats)
    assert pstats_io.load(path)[("g.py", 2, "g")][4] == {F: (3, 3, 0, 0)}
    code, out, err, tb = fuzzing.run_main(["show", path])
    assert (code, tb, err) == (0, None, "")
    assert "g.py:2(g)" in out


def test_a_valid_pstats_file_is_read_as_is(tmp_path):
    assert pstats_io.load(dump(tmp_path, GOOD)) == GOOD


# ---- the memory report ----------------------------------------------------------------

def report(**changes):
    func = {"filename": "/nonexistent/gone.py", "first_line": 10, "name": "f", "last_line": 14,
            "caller": None, "lines": [[10, 1, 0, 100, 0, 0, 0], [12, 2, 4096, 4196, 0, 0, 0]]}
    func.update(changes)
    return {"format": "profkit-line-memory", "version": 1, "backend": "rss", "functions": [func]}


def load_text(tmp_path, text):
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        linemem.load(str(path))
    return str(info.value).replace(str(path), "FILE")


def test_a_huge_number_is_one_line(tmp_path):
    text = json.dumps(report()).replace("4196", "1e400")
    assert load_text(tmp_path, text) == \
        "FILE: a damaged memory report (a memory figure is not a whole number in range)"


def test_deep_nesting_is_one_line(tmp_path):
    depth = 100000  # python's json recurses once per level
    text = '{"format": "profkit-line-memory", "functions": ' + "[" * depth + "]" * depth + "}"
    assert load_text(tmp_path, text) == "FILE: a damaged memory report (nested too deeply)"


@pytest.mark.parametrize("changes, reason", [
    ({"last_line": 5}, "last_line is not a whole number in range"),
    ({"first_line": 0}, "first_line is not a whole number in range"),
    ({"lines": [[9, 1, 0, 0, 0, 0, 0]]}, "a line number is not a whole number in range"),
    ({"lines": [[10, 1, 0, 0]]}, "a line of f is not 7 numbers"),
    ({"lines": [[10, "1", 0, 0, 0, 0, 0]]}, "occurrences is not a whole number in range"),
    ({"lines": [[10, 1, True, 0, 0, 0, 0]]}, "a memory figure is not a whole number in range"),
    ({"filename": "a\0b"}, "a file name holds a NUL"),
    ({"caller": ["g", "x.py"]}, "the caller of f is not [name, file, line]"),
    ({"name": None}, "a function name is not text"),
])
def test_the_memory_report_checks_every_field(tmp_path, changes, reason):
    assert load_text(tmp_path, json.dumps(report(**changes))) == \
        f"FILE: a damaged memory report ({reason})"


def test_a_huge_last_line_is_cut_to_what_can_be_shown(tmp_path):
    source = write(tmp_path / "src.py", "".join(f"x{i} = {i}\n" for i in range(20)))
    for filename, last in ((source, 20), ("/nonexistent/gone.py", 12)):
        path = tmp_path / "m.json"
        path.write_text(json.dumps(report(filename=filename, last_line=10 ** 9)))
        (func,) = linemem.load(str(path)).functions
        assert func.last == last
        code, out, err, tb = fuzzing.run_main(["show", str(path)])
        assert (code, tb, err) == (0, None, "")
        assert len(out.splitlines()) == 4 + last - 10 + 1 + 2  # heading, rows, two blank lines


# ---- the .dat file ----------------------------------------------------------------------

DAT = "CMDLINE python x.py\nMEM 10.0 1800000000.0\nMEM 30.0 1800000000.5\nMEM 20.0 1800000001.0\n"


@pytest.mark.parametrize("bad", ["MEM inf 1800000000.7", "MEM 5.0 nan", "MEM 1e13 1800000000.7",
                                 "MEM 5.0 1e300", "CHLD 12 abc 1800000000.7", "CHLD x 1 1800000000.7",
                                 "FUNC f 1 2 3 4 -1", "FUNC  1 2 3 4 1"])
def test_a_line_out_of_range_ends_the_data_with_a_warning(tmp_path, bad):
    write(tmp_path / "x.dat", DAT + bad + "\nMEM 99.0 1800000002.0\n")
    data = mprof.read(str(tmp_path / "x.dat"))
    assert data.peak() == (30.0, 1800000000.5) and data.children == {}
    assert data.warnings == [f"{tmp_path / 'x.dat'}: line 5 is not mprof data: {bad!r}; "
                             "the file was read up to it"]
    for argv in (["peak", str(tmp_path / "x.dat")],
                 ["plot", str(tmp_path / "x.dat"), "-o", str(tmp_path / "x.svg")]):
        code, out, err, tb = fuzzing.run_main(argv)
        assert (code, tb) == (0, None) and len(err.splitlines()) == 1 + (argv[0] == "plot")


@pytest.mark.parametrize("cut", ["CHLD 12 ", "CHLD 12 5.0 ", "MEM 40.0 ", "FUNC f "])
def test_a_file_cut_right_after_a_space_is_read_up_to_the_cut(tmp_path, cut):
    write(tmp_path / "x.dat", DAT + "CHLD 12 5.0 1800000000.9\n" + cut)
    code, out, err, tb = fuzzing.run_main(["peak", str(tmp_path / "x.dat")])
    assert (code, tb) == (0, None)
    assert out == f"{tmp_path / 'x.dat'}\t30.000 MiB\n  Child 12\t\t\t5.000 MiB\n"
    assert err == (f"profkit peak: warning: {tmp_path / 'x.dat'}: line 6 is cut short (the run "
                   "ended abruptly?); it was left out\n")


def test_peak_reads_the_other_files_past_one_it_cannot(tmp_path):
    write(tmp_path / "a.dat", DAT)
    write(tmp_path / "b.dat", "junk\n")
    code, out, err, tb = fuzzing.run_main(["peak", str(tmp_path / "a.dat"), str(tmp_path / "b.dat"),
                                           str(tmp_path / "a.dat")])
    assert (code, tb) == (UNREADABLE, None)
    assert out == f"{tmp_path / 'a.dat'}\t30.000 MiB\n" * 2
    assert err == (f"profkit peak: error: {tmp_path / 'b.dat'}: not an mprof .dat file (line 1 is "
                   "not mprof data)\n")


def test_mprof_nesting_levels_count_from_zero(tmp_path):
    write(tmp_path / "x.dat", "FUNC __main__.main 1.0 1800000000.1 2.0 1800000000.9 0\n" + DAT)
    (call,) = mprof.read(str(tmp_path / "x.dat")).calls
    assert call.level == 0


def test_the_picture_scales_to_tiny_spans_and_refuses_infinite_ones(tmp_path):
    write(tmp_path / "x.dat", "CMDLINE x\nMEM 1e-320 0.0\nMEM 2e-320 1e-320\n")
    data = mprof.read(str(tmp_path / "x.dat"))
    picture = plot.build([data])
    assert (picture.xmax, picture.ymax) == (0.0, 0.0)
    code, out, err, tb = fuzzing.run_main(["plot", str(tmp_path / "x.dat"), "-o", str(tmp_path / "x.svg")])
    assert (code, tb) == (0, None) and os.path.getsize(tmp_path / "x.svg") > 0
    data.mem.append((math.inf, 1.0))  # only a caller building the data could do this
    with pytest.raises(ProfkitError) as info:
        plot.build([data])
    assert (str(info.value), info.value.exit_code) == (
        "cannot draw values that are not finite (inf or nan)", UNREADABLE)


def test_detect_reads_json_after_a_bom_and_pickles_by_their_protocol(tmp_path):
    from profkit import formats

    doc = '{"format": "profkit-line-memory"}'
    assert formats.detect(write(tmp_path / "a.json", "\ufeff \n" + doc)) == "linemem"
    assert formats.detect(str(tmp_path / "a.json"), b"\xef\xbb\xbf" + doc.encode()) == "linemem"
    # a marshalled dict whose first key is a tuple is pstats, not JSON
    assert formats.detect(dump(tmp_path, GOOD)) == "pstats"
    for protocol in (2, 3, 4, 5):
        assert formats.detect("x", bytes([0x80, protocol]) + b"...") == "lprof"
    assert formats.detect("x", b"\x80\x09...") == "pstats"  # then "not a pstats file"


@pytest.mark.parametrize("protocol", [0, 1])
def test_a_line_profile_pickled_with_protocol_0_or_1_is_shown(tmp_path, protocol):
    # no 0x80 header: detect says pstats, whose reader refuses it; the .lprof reader takes it

    from profkit import formats
    from profkit.formats import lprof

    stats = lprof.LineStats({("f.py", 1, "f"): [(2, 3, 40)]}, 1e-6)
    (tmp_path / "old.lprof").write_bytes(pickle.dumps(stats, protocol))
    kind, table = formats.load(str(tmp_path / "old.lprof"))
    assert kind == "lprof" and (table.timings, table.unit) == (stats.timings, 1e-6)
    (tmp_path / "junk.prof").write_bytes(b"(junk")  # neither: the pstats reader's answer
    with pytest.raises(ValueError, match="junk.prof"):
        formats.load(str(tmp_path / "junk.prof"))


class _Evil:
    def __reduce__(self):
        return os.system, ("touch ran",)


@pytest.mark.parametrize("payload", [
    *(pickle.dumps(_Evil(), protocol) for protocol in (0, 1, 2, 5)),  # os.system("touch ran")
    b"ccopy_reg\n_reconstructor\n(cos\n_wrap_close\nc__builtin__\nobject\nNtR.",
])
def test_a_crafted_pickle_runs_no_code(tmp_path, payload, monkeypatch):
    from profkit import formats

    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.lprof").write_bytes(payload)
    refused = r"evil.lprof: not a (line-profile \(.lprof\)|pstats) file"
    with pytest.raises(ValueError, match=refused):
        formats.load("evil.lprof")
    assert not (tmp_path / "ran").exists()
