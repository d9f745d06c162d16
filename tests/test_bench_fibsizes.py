"""bench/fibsizes.py (fib at several sizes, whole process and in process)
and the README row bench/summary.py reads from its table."""
import cProfile
import os
import subprocess
import sys

import pytest

import profkit

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(BENCH, "workloads"))
import fibsizes  # noqa: E402
import summary  # noqa: E402
from fib_n import fib  # noqa: E402


@pytest.mark.parametrize("n", [0, 1, 2, 10, 15])
def test_calls_is_what_both_profilers_count(n):
    counted = []
    for prof in (cProfile.Profile(), profkit.Profile(tree=True)):
        prof.enable()
        fib(n)
        prof.disable()
        prof.create_stats()
        counted.append([v[1] for k, v in prof.stats.items() if k[2] == "fib"])
    assert counted == [[fibsizes.calls(n)]] * 2
    assert fibsizes.calls(31) == 4356617


SECTION = """\
### fib at 2 sizes, CPython 3.10.13 (backend: legacy, clock: tsc)

| size | calls | timed | plain (s) | cProfile (s) | profkit (s) | profkit --no-builtins (s) | profkit / cProfile, added | (on minimums) | profkit --no-builtins / cProfile, added | (on minimums) | cProfile ns/call | profkit ns/call |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| fib(25) | 242,785 | whole process | 0.052 | 0.106 | 0.091 | 0.095 | 0.73 | 0.70 | 0.74 | 0.71 | 223 | 162 |
| fib(31) | 4,356,617 | whole process | 0.487 | 1.052 | 0.878 | 0.804 | 0.48 | 0.47 | 0.39 | 0.38 | 130 | 90 |
| fib(25) | 242,785 | in process | 0.031 | 0.055 | 0.032 | 0.033 | 0.28 | 0.30 | 0.44 | 0.45 | 99 | 3 |
| fib(31) | 4,356,617 | in process | 0.472 | 1.106 | 0.717 | 0.742 | 0.41 | 0.40 | 0.57 | 0.56 | 145 | 56 |

### Function profiler in process, CPython 3.10.13 (backend: legacy)

| profiler | median (s) |
|---|---:|
| profkit | 0.0510 |
"""


def test_summary_reads_the_long_run(tmp_path, capsys):
    path = tmp_path / "RESULTS.md"
    # An earlier section of the same version, with a larger size: replaced whole.
    earlier = SECTION.replace("fib(31) | 4,356,617 | whole process | 0.487", "fib(33) | 11,405,773 | "
                              "whole process | 0.487").replace("| 0.48 | 0.47 |", "| 0.99 | 0.47 |")
    path.write_text(earlier + "\n" + SECTION)
    assert summary.main(["summary.py", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| CPython | fib, long run, whole process | the same, --no-builtins "
                               "| fib, long run, in process | fib, short run, in process |")
    assert lines[2] == ("| 3.10.13 | 0.48 at fib(31) | 0.39 at fib(31) | 0.41 at fib(31) "
                        "| 0.28 at fib(25) | – | – | – | – |")
    assert len(lines) == 3


def test_fibsizes_runs_end_to_end(tmp_path):
    out = tmp_path / "out.md"
    got = subprocess.run([sys.executable, os.path.join(BENCH, "fibsizes.py"), "--sizes", "8,10",
                          "--rounds", "1", "--out", str(out)], capture_output=True, text=True)
    assert got.returncode == 0, got.stderr
    assert got.stderr == "round 1/1\n"
    rows = [line for line in out.read_text().splitlines() if line.startswith("| fib(")]
    assert [r.split(" | ")[:3] for r in rows] == [
        ["| fib(8)", "67", "whole process"], ["| fib(10)", "177", "whole process"],
        ["| fib(8)", "67", "in process"], ["| fib(10)", "177", "in process"]]
    assert all(len(r.strip("|").split("|")) == 13 for r in rows)


def test_summary_fills_the_readme_block(tmp_path):
    results, readme = tmp_path / "RESULTS.md", tmp_path / "README.md"
    results.write_text(SECTION)
    readme.write_text("before\n<!-- bench-summary: python bench/summary.py -->\n| old |\n"
                      "<!-- /bench-summary -->\nafter\n")
    assert summary.main(["summary.py", "--readme", str(readme), str(results)]) == 0
    lines = readme.read_text().splitlines()
    assert lines[:2] == ["before", "<!-- bench-summary: python bench/summary.py -->"]
    assert lines[2].startswith("| CPython | fib, long run, whole process |")
    assert lines[4].startswith("| 3.10.13 | 0.48 at fib(31) |")
    assert lines[5:] == ["<!-- /bench-summary -->", "after"]
