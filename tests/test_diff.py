"""``profkit diff BASE NEW``: two saved profiles of one kind compared, run as
a user runs it (a subprocess); the matching and the noise rule of
report/diff.py checked number by number on profiles written by hand."""
import marshal
import os
import subprocess
import sys

import pytest

from conftest import ENTRIES, write
from profkit.formats import linemem, lprof
from profkit.report import diff as report_diff
from profkit.report import diff_text
from profkit.report.model import FunctionMemory, FunctionTable, LineTable, MemoryTable

# Two function profiles of one program: busy moved down two lines (an edit
# above it) and doubled its calls; steady drifted 4% over 10000 calls
# (noise: 5% of 1 s is 50 ms); main rose 20 ms over one call of 100 ms
# (noise: 0.25 x 100 ms = 25 ms); len is gone, helper is new.
BASE = {("/p/app.py", 1, "busy"): (50, 50, 0.5, 0.6, {}),
        ("/p/app.py", 10, "main"): (1, 1, 0.1, 0.8, {}),
        ("/p/app.py", 20, "steady"): (10000, 10000, 1.0, 1.0, {}),
        ("~", 0, "{built-in method builtins.len}"): (100, 100, 0.002, 0.002, {})}
NEW = {("/p/app.py", 3, "busy"): (100, 100, 1.0, 1.2, {}),
       ("/p/app.py", 12, "main"): (1, 1, 0.12, 1.4, {}),
       ("/p/app.py", 22, "steady"): (10000, 10000, 1.04, 1.04, {}),
       ("/p/app.py", 30, "helper"): (5, 5, 0.003, 0.003, {})}

REPORT = """\
profkit diff: base.prof -> new.prof
total time: 1.602 s -> 2.163 s: +0.561 s (+35.0%), slower (noise: 0.080 s)
calls: 10151 -> 10106 (-45)
functions: 1 slower, 2 noise, 1 new, 1 gone

Own time (tottime) per function, the largest changes first
    base s      new s     change        %  verdict calls            function
     0.500      1.000     +0.500  +100.0%  slower  50 -> 100        app.py:3(busy)
     1.000      1.040     +0.040    +4.0%  noise   10000            app.py:22(steady)
     0.100      0.120     +0.020   +20.0%  noise   1                app.py:12(main)
         -      0.003     +0.003        -  new     0 -> 5           app.py:30(helper)
     0.002          -     -0.002        -  gone    100 -> 0         {built-in method builtins.len}

Calls (exact counts), the largest changes first
      base        new     change        %  function
       100          0       -100  -100.0%  {built-in method builtins.len}
        50        100        +50  +100.0%  app.py:3(busy)
         0          5         +5        -  app.py:30(helper)

within noise: a change smaller than the largest of 1 ms, 5% of the base time and 0.25 x the base \
time per call x sqrt(calls)
"""


def profiles(folder, base=BASE, new=NEW):
    for name, stats in (("base.prof", base), ("new.prof", new)):
        with open(folder / name, "wb") as f:
            marshal.dump(stats, f)


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_the_report(cli, tmp_path):
    profiles(tmp_path)
    r = cli("diff", "base.prof", "new.prof")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == REPORT


def test_rows_are_cut_at_n_and_all_shows_them(cli, tmp_path):
    profiles(tmp_path)
    r = cli("diff", "-n", "2", "base.prof", "new.prof")
    lines = r.stdout.splitlines()
    assert lines[8:11] == [
        "     1.000      1.040     +0.040    +4.0%  noise   10000            app.py:22(steady)",
        "... 3 more (--all shows every one)", ""]
    assert lines[-3] == "... 1 more (--all shows every one)"
    assert cli("diff", "--all", "-n", "1", "base.prof", "new.prof").stdout == REPORT


@pytest.mark.parametrize("args, code, err", [
    # the total rose 35.0%, main (cumulative) 75%, steady 4%
    (["--fail-over", "40"], 0, "profkit diff: within --fail-over 40%: total time +35.0%\n"),
    (["--fail-over", "30"], 1, "profkit diff: total time rose 35.0% (1.602 s -> 2.163 s), more than "
                               "--fail-over 30%\n"),
    (["--fail-over", "50", "--function", "stead*"], 0,
     "profkit diff: within --fail-over 50%: total time +35.0%, app.py:22(steady) +4.0%\n"),
    (["--fail-over", "50", "--function", "app.py:main"], 1,
     "profkit diff: app.py:12(main) rose 75.0% (0.800 s -> 1.400 s), more than --fail-over 50%\n"),
    # steady rose 4% of 1 s over 10000 calls: over 3%, but under 5% drift
    (["--fail-over", "3", "--function", "/p/app.py:steady"], 1,
     "profkit diff: total time rose 35.0% (1.602 s -> 2.163 s), more than --fail-over 3%\n"
     "profkit diff: app.py:22(steady) rose 4.0% (1.000 s -> 1.040 s), over --fail-over 3% but "
     "within noise (0.050 s): not failed\n"),
    (["--fail-over", "50", "--function", "helper"], 0,
     "profkit diff: app.py:30(helper) is new: nothing to compare\n"
     "profkit diff: within --fail-over 50%: total time +35.0%\n"),
])
def test_fail_over(cli, tmp_path, args, code, err):
    profiles(tmp_path)
    r = cli("diff", *args, "base.prof", "new.prof")
    assert (r.returncode, r.stderr) == (code, err)
    assert r.stdout == REPORT


@pytest.mark.parametrize("args, err", [
    (["--function", "main"], "profkit diff: error: --function needs --fail-over PCT"),
    (["--fail-over", "10", "--function", "nosuch"],
     "profkit diff: error: --function nosuch: no such function in either profile"),
    (["--fail-over", "-1"], "profkit diff: error: argument --fail-over: must not be negative: '-1'"),
    (["-n", "0"], "profkit diff: error: argument -n/--rows: must be positive: '0'"),
])
def test_bad_options(cli, tmp_path, args, err):
    profiles(tmp_path)
    r = cli("diff", *args, "base.prof", "new.prof")
    assert (r.returncode, r.stdout, r.stderr) == (2, "", err + "\n")


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path):
    profiles(tmp_path)
    write(tmp_path / "garbage.prof", "not a profile\n")
    (tmp_path / "empty.prof").write_bytes(b"")
    (tmp_path / "bad.json").write_text('{"format": "profkit-line-memory", "version": 1}')
    lprof.dump(lprof.LineStats({}, 1e-9), str(tmp_path / "p.lprof"))
    linemem.dump(MemoryTable([], "rss"), str(tmp_path / "m.json"))
    os.mkdir(tmp_path / "folder")
    cases = {
        ("missing.prof", "new.prof"):
            "profkit: error: can't open file 'missing.prof': [Errno 2] No such file or directory",
        ("base.prof", "folder"): "profkit: error: can't open file 'folder': [Errno 21] Is a directory",
        ("base.prof", "garbage.prof"): "profkit diff: error: garbage.prof: not a pstats file (",
        ("empty.prof", "new.prof"): "profkit diff: error: empty.prof: not a pstats file (",
        ("bad.json", "bad.json"): "profkit diff: error: bad.json: a damaged memory report (",
        ("base.prof", "p.lprof"): "profkit diff: error: base.prof is a function profile (pstats) but "
                                  "p.lprof is a line profile (.lprof): compare two of a kind",
        ("p.lprof", "m.json"): "profkit diff: error: p.lprof is a line profile (.lprof) but m.json is "
                               "a line-by-line memory report (profkit mem -o): compare two of a kind",
    }
    for (base, new), err in cases.items():
        r = cli("diff", base, new)
        assert (r.returncode, r.stdout) == (2, ""), (base, new)
        if err.endswith("("):  # then the reader's reason, in its words
            assert r.stderr.startswith(err) and r.stderr.endswith(")\n"), r.stderr
            assert r.stderr.count("\n") == 1, r.stderr
        else:
            assert r.stderr == err + "\n"
    r = cli("diff", "base.prof")
    assert (r.returncode, r.stderr) == (2, "profkit diff: error: the following arguments are "
                                           "required: NEW\n")


def test_html_page(cli, tmp_path):
    profiles(tmp_path)
    r = cli("diff", "base.prof", "new.prof", "-o", "diff.html")
    assert (r.returncode, r.stdout, r.stderr) == (0, REPORT, "profkit diff: wrote diff.html\n")
    page = (tmp_path / "diff.html").read_text()
    assert page.startswith("<!doctype html>\n") and page.endswith("</body></html>\n")
    assert "<script" not in page and "src=" not in page and "href=" not in page  # self-contained
    assert "<title>diff: base.prof \u2192 new.prof</title>" in page
    assert ('<span class="sub">total time: 1.602 s -&gt; 2.163 s: +0.561 s (+35.0%), slower '
            '(noise: 0.080 s)</span>') in page  # the header of profkit's pages
    assert ('<tr><td>0.500</td><td>1.000</td><td>+0.500</td><td>+100.0%</td>'
            '<td><div class="dbar"><i style="left:50.0%;width:50.0%;background:#c0392b"></i></div></td>'
            '<td class="v" style="color:#c0392b">slower</td><td>50 &rarr; 100</td>'
            '<td class="l mono">app.py:3(busy)</td></tr>') in page
    assert ('<i style="left:49.8%;width:0.2%;background:#7d3c98"></i></div></td>'
            '<td class="v" style="color:#7d3c98">gone</td><td>100 &rarr; 0</td>') in page
    assert '<td class="v" style="color:#8a939d">noise</td><td>10000</td>' in page
    assert ('<tr><td>100</td><td>0</td><td>-100</td><td>-100.0%</td>'
            '<td class="l mono">{built-in method builtins.len}</td></tr>') in page
    r = cli("diff", "base.prof", "new.prof", "-o", "nofolder/diff.html")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("profkit: error: cannot write ") and "does not exist" in r.stderr


# ---- matching and noise, in the library ------------------------------------------


def test_time_noise_rule():
    # the floor, the drift and the per-call jitter each win somewhere
    assert report_diff.time_noise(0.0001, 1, 1) == 1e-3
    assert report_diff.time_noise(1.0, 10000, 10000) == 0.05
    assert report_diff.time_noise(0.1, 1, 1) == 0.025
    assert report_diff.time_noise(0.4, 4, 16) == pytest.approx(0.25 * 0.1 * 4)


def test_matching_same_names_in_line_order_and_moved_checkouts():
    base = FunctionTable({("/ci/base/pkg/a.py", 5, "__init__"): (1, 1, 0.1, 0.1, {}),
                          ("/ci/base/pkg/a.py", 30, "__init__"): (2, 2, 0.1, 0.1, {}),
                          ("/ci/base/pkg/sub/__init__.py", 1, "f"): (3, 3, 0.1, 0.1, {}),
                          ("/ci/base/other/__init__.py", 1, "f"): (4, 4, 0.1, 0.1, {})})
    new = FunctionTable({("/ci/new/pkg/a.py", 9, "__init__"): (10, 10, 0.1, 0.1, {}),
                         ("/ci/new/pkg/a.py", 40, "__init__"): (20, 20, 0.1, 0.1, {}),
                         ("/ci/new/pkg/sub/__init__.py", 1, "f"): (30, 30, 0.1, 0.1, {}),
                         ("/ci/new/other/__init__.py", 1, "f"): (40, 40, 0.1, 0.1, {})})
    rows = report_diff.compare(base, new).rows
    assert sorted((r.base_count, r.new_count, r.file) for r in rows) == [
        (1, 10, "/ci/new/pkg/a.py"), (2, 20, "/ci/new/pkg/a.py"),
        (3, 30, "/ci/new/pkg/sub/__init__.py"), (4, 40, "/ci/new/other/__init__.py")]
    # one more __init__ in the new run: the two lists no longer line up, and
    # only the one that kept its line is matched
    new.stats[("/ci/new/pkg/a.py", 30, "__init__")] = (7, 7, 0.1, 0.1, {})
    pairs = sorted((r.base_count, r.new_count) for r in report_diff.compare(base, new).rows)
    assert pairs == [(0, 10), (0, 20), (1, 0), (2, 7), (3, 30), (4, 40)]


def test_line_profiles_match_lines_by_offset(tmp_path):
    # the function moved two lines down, in a checkout of its own
    body = "def f(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n"
    os.mkdir(tmp_path / "a")
    os.mkdir(tmp_path / "b")
    src = write(tmp_path / "a" / "w.py", body)
    moved = write(tmp_path / "b" / "w.py", "\n\n" + body)
    base = LineTable({(src, 1, "f"): [(2, 1, 1000), (3, 11, 5_000_000), (4, 10, 9_000_000)]}, 1e-9)
    new = LineTable({(moved, 3, "f"): [(4, 1, 1000), (5, 21, 10_000_000), (6, 20, 30_000_000)]}, 1e-9)
    d = report_diff.compare(base, new)
    rows = {r.label: (round(r.base, 9), round(r.new, 9), r.base_count, r.new_count, r.verdict())
            for r in d.rows}
    assert rows == {
        "w.py:4 (f)  t = 0": (1e-6, 1e-6, 1, 1, "same"),
        "w.py:5 (f)  for i in range(n):": (0.005, 0.01, 11, 21, "slower"),
        "w.py:6 (f)  t += i": (0.009, 0.03, 10, 20, "slower"),
    }
    assert [(f.label, f.base, f.new) for f in d.functions] == [
        ("w.py:3(f)", pytest.approx(0.014001), pytest.approx(0.040001))]


def test_memory_reports(cli, tmp_path):
    src = write(tmp_path / "m.py", "def g():\n    a = [0] * 10\n    b = bytearray(1 << 22)\n"
                "    return a\n")
    mib = 1 << 20

    def report(name, backend, rows):
        linemem.dump(MemoryTable([FunctionMemory(src, 1, "g", 4, rows)], backend), str(tmp_path / name))

    report("a.json", "rss", {2: [1, 0, 50 * mib, 0, 0, 0], 3: [1, 4 * mib, 54 * mib, 0, 0, 0]})
    report("b.json", "rss", {2: [1, mib // 2, 50 * mib, 0, 0, 0], 3: [2, 8 * mib, 58 * mib, 0, 0, 0]})
    r = cli("diff", "a.json", "b.json")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines()[:10] == [
        "profkit diff: a.json -> b.json",
        "total memory: 4.000 MiB -> 8.500 MiB: +4.500 MiB (+112.5%), more (noise: 1.000 MiB)",
        "line occurrences: 2 -> 3 (+1)",
        "lines: 1 more, 1 noise",
        "",
        "Memory increment (rss) per line, the largest changes first",
        "  base MiB    new MiB     change        %  verdict count            line",
        "     4.000      8.000     +4.000  +100.0%  more    1 -> 2           m.py:3 (g)  "
        "b = bytearray(1 << 22)",
        "     0.000      0.500     +0.500        -  noise   1                m.py:2 (g)  a = [0] * 10",
        "",
    ]
    report("c.json", "alloc", {2: [1, 0, 0, 136, 136, 136], 3: [1, 0, 0, 4 * mib, 0, 4 * mib]})
    report("d.json", "alloc", {2: [1, 0, 0, 136, 136, 136], 3: [1, 0, 0, 4 * mib + 8192, 0, 4 * mib]})
    r = cli("diff", "c.json", "d.json", "--fail-over", "0")
    assert r.returncode == 0
    assert "total memory: 4.000 MiB -> 4.008 MiB: +0.008 MiB (+0.2%), within noise (noise: 0.200 MiB)" \
        in r.stdout
    assert r.stderr == ("profkit diff: total memory rose 0.2% (4.000 MiB -> 4.008 MiB), over "
                        "--fail-over 0% but within noise (0.200 MiB): not failed\n")


def test_two_real_runs_and_cprofile_agree_on_counts(cli, tmp_path):
    """A profile of profkit and one of cProfile, of one program: the calls
    of the program's functions are the same (counts are exact); a run with
    more work shows its extra calls exactly."""
    write(tmp_path / "work.py", "import sys\n\ndef leaf(i):\n    return i * 2\n\n"
          "def main(n):\n    return sum(leaf(i) for i in range(n))\n\nmain(int(sys.argv[1]))\n")
    subprocess.run([sys.executable, "-m", "cProfile", "-o", "c.prof", "work.py", "300"],
                   cwd=tmp_path, check=True)
    assert cli("func", "-o", "p3.prof", "work.py", "300").returncode == 0
    assert cli("func", "-o", "p7.prof", "work.py", "700").returncode == 0
    r = cli("diff", "--all", "c.prof", "p3.prof")
    assert r.returncode == 0, r.stderr
    for name in ("leaf", "main", "<genexpr>"):
        row = next(ln for ln in r.stdout.splitlines() if f"({name})" in ln)
        assert "->" not in row.split("work.py")[0], row  # the same count: one number
    r = cli("diff", "--all", "p3.prof", "p7.prof")
    calls = r.stdout.split("Calls (exact counts)")[1].splitlines()
    assert "       300        700       +400  +133.3%  work.py:3(leaf)" in calls
    assert "       301        701       +400  +132.9%  work.py:7(<genexpr>)" in calls


def test_a_function_whose_lines_changed_is_said_so(cli, tmp_path):
    src = write(tmp_path / "w.py", "def f(n):\n    t = 0\n    for i in range(n):\n"
                "        if i:\n            t += i\n    return t\n")
    lprof.dump(lprof.LineStats({(src, 1, "f"): [(2, 1, 1000), (3, 11, 5000), (4, 10, 9000)]}, 1e-9),
               str(tmp_path / "a.lprof"))
    lprof.dump(lprof.LineStats({(src, 1, "f"): [(2, 1, 1000), (3, 11, 5000), (4, 10, 9000),
                                                 (5, 9, 4000)]}, 1e-9), str(tmp_path / "b.lprof"))
    r = cli("diff", "a.lprof", "b.lprof")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(
        "\nnote: w.py:1(f) ran other lines in the two runs (was it edited?): its lines are compared "
        "by their place in the function\n\nwithin noise: a change smaller than the largest of 1 ms, "
        "5% of the base time and 0.25 x the base time per call x sqrt(calls)\n")
    assert "         -      4.000     +4.000        -  new     0 -> 9           w.py:5 (f)  t += i\n" \
        in r.stdout  # microseconds: the unit follows the size of the total
    assert "lines: 1 new, 3 same\n" in r.stdout
    # same lines, other counts: no note
    lprof.dump(lprof.LineStats({(src, 1, "f"): [(2, 2, 1000), (3, 22, 5000), (4, 20, 9000)]}, 1e-9),
               str(tmp_path / "c.lprof"))
    assert "note:" not in cli("diff", "a.lprof", "c.lprof").stdout


@pytest.mark.parametrize("p, text", [(None, "-"), (12.34, "+12.3%"), (-100.0, "-100.0%"),
                                     (999.9, "+999.9%"), (1000.0, "11x"), (13999400.0, "139995x")])
def test_percent_text(p, text):
    assert diff_text.percent_text(p) == text


def test_any_function_profile_compares_with_a_pstats_file(cli, tmp_path):
    """An HTML report profkit wrote is a function profile too."""
    profiles(tmp_path)
    assert cli("show", "base.prof", "-o", "base.html").returncode == 0
    r = cli("diff", "base.html", "new.prof")
    assert r.returncode == 0, r.stderr
    assert r.stdout == REPORT.replace("base.prof -> new.prof", "base.html -> new.prof")
