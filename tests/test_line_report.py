"""The line report in time linear in what it prints (issue 18, section 3),
and on a damaged ``.lprof``: each function's source block is looked for in a
window of the file that grows only while the block may go on past it."""
import inspect
import io

import pytest
from conftest import write

from profkit.formats import lprof
from profkit.report import text


def test_a_block_with_a_blank_line_at_the_windows_end_is_whole(tmp_path):
    # 62 lines, a blank line at the first window's last line (64), 10 more lines: the blank
    # line did not end the function, the code after it is still the function's
    body = ["def big():\n"] + ["    x = 1\n"] * 62 + ["\n"] + ["    y = 2\n"] * 10
    path = write(tmp_path / "big.py", "".join(body + ["\n", "def other():\n", "    pass\n"]))
    assert text._source_block(path, 1) == body
    assert text._source_block(path, 76) == ["def other():\n", "    pass\n"]


def test_each_function_reads_a_window_the_size_of_its_block(tmp_path, monkeypatch):
    # 2,000 three-line functions: before, each getblock got the rest of the file
    n = 2000
    path = write(tmp_path / "many.py", "".join(f"def f_{i}(x):\n    y = x + 1\n    return y\n\n"
                                               for i in range(n)))
    seen = []
    getblock = inspect.getblock
    monkeypatch.setattr(inspect, "getblock",
                        lambda lines: seen.append(len(lines)) or getblock(lines))
    for i in range(n):
        assert text._source_block(path, 4 * i + 1) == [f"def f_{i}(x):\n", "    y = x + 1\n",
                                                       "    return y\n"]
    assert max(seen) == 64 and len(seen) == n


def test_a_line_never_hit_prints_no_time_per_hit(tmp_path):
    path = write(tmp_path / "f.py", "def f():\n    return 1\n    pass\n")
    out = io.StringIO()
    text.show_func(path, 1, "f", [(2, 1, 1000), (3, 0, 0)], 1e-9, stream=out)
    rows = out.getvalue().splitlines()[-4:-1]
    assert rows == ["     1                                           def f():",
                    "     2         1       1000.0   1000.0    100.0      return 1",
                    "     3         0          0.0               0.0      pass"]


def test_a_missing_source_prints_only_the_lines_measured(tmp_path):
    out = io.StringIO()
    text.show_func("/nonexistent/gone.py", 1, "f", [(2, 1, 10), (10 ** 12, 1, 10)], 1e-9,
                   stream=out)
    assert out.getvalue().splitlines()[-3:] == [
        "     2         1         10.0     10.0     50.0  ",
        "1000000000000         1         10.0     10.0     50.0  ", ""]


@pytest.mark.parametrize("source", ["/dev/zero", "fifo"])
def test_a_source_that_is_not_a_file_is_not_read(tmp_path, source):
    # a damaged .lprof or memory report may name /dev/zero or a FIFO as its source
    import os

    if source == "fifo":
        source = str(tmp_path / "fifo")
        os.mkfifo(source)
    assert text._source_block(source, 1) is None and text.source_lines(source) == []


ROW = "a line of 'f' is not (line, hits, time)"
KEY = "a function is not keyed (file, line, name)"
UNIT = "its time unit is not a positive number"


@pytest.mark.parametrize("change, problem", [
    (lambda s: s.timings.update({("f.py", 1, "f"): [(2, -1, 10)]}), ROW),
    (lambda s: s.timings.update({("f.py", 1, "f"): [(0, 1, 10)]}), ROW),
    (lambda s: s.timings.update({("f.py", 1, "f"): [(2, 1, float("inf"))]}), ROW),
    (lambda s: s.timings.update({("f.py", 1, "f"): "x"}), "the lines of 'f' are not a list"),
    (lambda s: s.timings.update({("f\0.py", 1, "f"): []}), KEY),
    (lambda s: s.timings.update({("f.py", "1", "f"): []}), KEY),
    (lambda s: setattr(s, "unit", 0), UNIT),
    (lambda s: setattr(s, "unit", True), UNIT),
    (lambda s: setattr(s, "unit", float("nan")), UNIT),
])
def test_the_line_profile_reader_checks_every_figure(tmp_path, change, problem):
    stats = lprof.LineStats({("f.py", 1, "f"): [(2, 1, 10)]}, 1e-9)
    change(stats)
    path = str(tmp_path / "x.lprof")
    lprof.dump(stats, path)
    with pytest.raises(ValueError) as info:
        lprof.load(path)
    assert str(info.value) == f"{path}: a damaged line profile ({problem})"
