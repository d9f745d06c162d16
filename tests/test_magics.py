"""The IPython magics, through a real IPython shell (IPython's own test
shell, as its test suite and line_profiler's use it): ``%load_ext
profkit``, then the magics as a user types them, in lines and in cells."""
import json
import os
import sys

import pytest

IPython = pytest.importorskip("IPython")

from conftest import write  # noqa: E402

with open(os.path.join(os.path.dirname(__file__), "workloads", "leafwork.py")) as f:
    LIB = f.read()  # leaf at line 6, work at 10, grow at 21


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    from IPython.testing import globalipapp

    shell = globalipapp.get_ipython()
    folder = tmp_path_factory.mktemp("magics")
    write(folder / "pkmagiclib.py", LIB)
    sys.path.insert(0, str(folder))
    shell.run_line_magic("load_ext", "profkit")
    shell.run_cell("import pkmagiclib")
    yield shell
    sys.path.remove(str(folder))
    sys.modules.pop("pkmagiclib", None)


def run_cell(ip, text, capsys):
    """Run ``text`` as a cell; (stdout, stderr, the cell's result)."""
    result = ip.run_cell(text)
    out, err = capsys.readouterr()
    return out, err, result


def test_loading_imports_no_magic_before_it_is_asked(tmp_path):
    import subprocess

    code = ("import sys, profkit\nassert 'profkit.ipython_magics' not in sys.modules\n"
            "assert 'IPython' not in sys.modules\n"
            "from IPython.testing import globalipapp\nip = globalipapp.get_ipython()\n"
            "ip.run_line_magic('load_ext', 'profkit')\n"
            "print(sorted(m for m in ip.magics_manager.magics['line'] if m.startswith('pk')))\n"
            "print(sorted(m for m in ip.magics_manager.magics['cell'] if m.startswith('pk')))\n"
            "print('profkit._engine' in sys.modules)\n")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-3:] == ["['pkfunc', 'pklines', 'pkmem', 'pkmemit']",
                                          "['pkfunc', 'pklines', 'pkmem', 'pkmemit']", "False"]


# ---- %pkfunc ------------------------------------------------------------------------


def test_pkfunc_prints_prun_s_table_and_returns_stats(ip, capsys, tmp_path):
    out, err, res = run_cell(ip, "stats = %pkfunc -s cumulative -r pkmagiclib.work(5)", capsys)
    assert res.success and err == ""
    lines = out.splitlines()
    assert lines[0].strip() == "8 function calls in %s seconds" % lines[0].split()[-2]
    assert lines[2:4] == ["   Ordered by: cumulative time", ""]
    assert lines[4].split() == "ncalls tottime percall cumtime percall filename:lineno(function)".split()
    rows = [ln.split() for ln in lines[5:]]
    assert [(r[0], " ".join(r[5:])) for r in rows] == [
        ("1", "{built-in method builtins.exec}"), ("1", "<string>:1(<module>)"),
        ("1", "pkmagiclib.py:10(work)"), ("5", "pkmagiclib.py:6(leaf)")]
    stats = ip.user_ns["stats"]
    import pstats

    assert isinstance(stats, pstats.Stats) and stats.total_calls == 8
    key = next(k for k in stats.stats if k[2] == "leaf")
    assert stats.stats[key][:2] == (5, 5)
    stats.dump(str(tmp_path / "again.prof"))
    assert pstats.Stats(str(tmp_path / "again.prof")).total_calls == 8


def test_pkfunc_agrees_with_prun(ip, capsys):
    """%prun (cProfile) and %pkfunc print the same rows, time aside."""
    def rows(out):
        body = out.split("filename:lineno(function)\n", 1)[1]
        return [(ln.split()[0], ln.split(None, 5)[-1]) for ln in body.splitlines() if ln.strip()]

    prun, _, _ = run_cell(ip, "%prun -s calls -s name pkmagiclib.work(4)", capsys)
    ours, _, _ = run_cell(ip, "%pkfunc -s calls -s name pkmagiclib.work(4)", capsys)
    own = ("1", "{method 'disable' of '_lsprof.Profiler' objects}")  # cProfile's own row
    assert rows(ours) == [r for r in rows(prun) if r != own]
    assert len(rows(ours)) == 4
    assert "Ordered by: call count, function name" in ours


def test_pkfunc_cell_limits_and_files(ip, capsys, tmp_path):
    dump, text = tmp_path / "c.prof", tmp_path / "c.txt"
    out, err, res = run_cell(ip, f"%%pkfunc -l leaf -D {dump} -T {text}\n"
                                 "x = pkmagiclib.work(3)\ny = pkmagiclib.work(4)\n", capsys)
    assert res.success and err == ""
    assert "   List reduced from 4 to 1 due to restriction <'leaf'>" in out
    assert out.splitlines()[-3].split()[0] == "7"  # leaf: 3 + 4 calls
    assert out.endswith(f"profkit: wrote {dump} (read it with: python -m pstats {dump})\n"
                        f"profkit: wrote {text}\n")
    import pstats

    assert pstats.Stats(str(dump)).total_calls == 11  # exec, <module>, work twice, leaf 7 times
    assert text.read_text() == out[:out.index("profkit: wrote")]
    assert ip.user_ns["y"] == 12  # the cell ran in the user's namespace
    out, _, res = run_cell(ip, "%pkfunc -q pkmagiclib.work(2)", capsys)
    assert (out, res.result) == ("", None)


@pytest.mark.parametrize("line, message", [
    ("%pkfunc -s fastest work(1)", "-s fastest: not a sort key (choose from calls, cumtime, "),
    ("%pkfunc", "nothing to profile: give a statement, or a cell"),
    ("%pklines -f no_such_function pkmagiclib.work(1)",
     "-f no_such_function: NameError: name 'no_such_function' is not defined"),
    ("%pklines -f 3 pkmagiclib.work(1)", "-f 3: not a Python function, method or class: 3"),
    ("%pklines -m no_such_module -f pkmagiclib.work pkmagiclib.work(1)",
     "-m no_such_module: ModuleNotFoundError: No module named 'no_such_module'"),
    ("%pklines -u fast -f pkmagiclib.work pkmagiclib.work(1)", "-u fast: the unit must be a positive "
                                                               "number"),
    ("%pkmem -b pss -f pkmagiclib.grow pkmagiclib.grow(1)", "-b pss: choose from rss, alloc, both"),
    ("%pkmem -p 12 -f pkmagiclib.grow pkmagiclib.grow(1)", "-p 12: a whole number from 0 to 9"),
    ("%pkmemit -r 0 x = 1", "-r 0: a whole number from 1"),
    ("%pkmemit", "nothing to measure: give a statement, or a cell"),
])
def test_usage_errors_are_one_line(ip, capsys, line, message):
    out, err, res = run_cell(ip, line, capsys)
    assert not res.success and out == ""
    assert err.startswith(f"UsageError: {message}"), err
    assert err.count("\n") == 1


def test_the_statements_own_error_is_the_users(ip, capsys):
    out, _err, res = run_cell(ip, "%pkfunc 1 / 0", capsys)
    assert not res.success and isinstance(res.error_in_exec, ZeroDivisionError)
    assert "ZeroDivisionError" in out and "profkit/" not in out.split("ZeroDivisionError")[0]
    out, _err, res = run_cell(ip, "%pkfunc raise SystemExit(3)", capsys)
    assert res.success and out.endswith("*** SystemExit exception caught in code being profiled.\n")


def test_pkfunc_in_a_notebook_shows_the_html_report(ip, capsys, monkeypatch):
    """In a notebook the profile shows as profkit's HTML report (in a
    frame of its own); in a terminal, as the text table."""
    monkeypatch.setattr(ip, "kernel", object(), raising=False)  # as under ipykernel
    out, _, res = run_cell(ip, "%pkfunc pkmagiclib.work(2)", capsys)
    # the page, not the text (this test shell shows the result's repr; a notebook, its page)
    assert "Ordered by" not in out and out.startswith("Out[")
    frame = res.result._repr_html_()
    assert frame.startswith('<iframe srcdoc="&lt;!doctype html&gt;') and frame.endswith(
        '&lt;/html&gt;\n" style="width:100%;height:640px;border:0"></iframe>')
    import html

    page = html.unescape(frame[len('<iframe srcdoc="'):frame.index('" style=')])
    assert '"kind":"functions"' in page and page.count("<script") >= 2
    funcs = {row[2]: row[4] for row in json.loads(
        page.split('id="profkit-data">')[1].split("</script>")[0])["funcs"]}
    assert funcs["leaf"] == 2 and funcs["work"] == 1
    assert res.result.total_calls == 5  # and it is the stats object, as with -r
    monkeypatch.delattr(ip, "kernel")
    out, _, res = run_cell(ip, "%pkfunc pkmagiclib.work(2)", capsys)
    assert res.result is None and "Ordered by: internal time" in out


# ---- %pklines ----------------------------------------------------------------------


def test_pklines_agrees_with_lprun(ip, capsys, tmp_path):
    out, err, res = run_cell(ip, "lp = %pklines -r -f pkmagiclib.work -f pkmagiclib.leaf "
                                 "pkmagiclib.work(6)", capsys)
    assert res.success and err == ""
    assert out.startswith("Timer unit: 1e-06 s\n\nTotal time: ")
    lib = os.path.join(os.path.dirname(ip.user_ns["pkmagiclib"].__file__), "pkmagiclib.py")
    assert f"File: {lib}\nFunction: leaf at line 6\n" in out
    assert f"File: {lib}\nFunction: work at line 10\n" in out
    stats = ip.user_ns["lp"].get_stats()
    hits = {k[2]: [(ln, h) for ln, h, _t in v] for k, v in stats.timings.items()}
    assert hits == {"leaf": [(7, 6)], "work": [(11, 1), (12, 7), (13, 6), (14, 1)]}
    line_profiler = pytest.importorskip("line_profiler")
    ip.run_line_magic("load_ext", "line_profiler")
    ref = ip.run_line_magic("lprun", "-r -f pkmagiclib.work -f pkmagiclib.leaf pkmagiclib.work(6)")
    capsys.readouterr()
    ref_hits = {k[2]: [(ln, h) for ln, h, _t in v] for k, v in ref.get_stats().timings.items()}
    assert ref_hits == hits and isinstance(ref, line_profiler.LineProfiler)


def test_pklines_cell_profile_decorator_unit_and_files(ip, capsys, tmp_path):
    dump, text = tmp_path / "c.lprof", tmp_path / "c.txt"
    out, err, res = run_cell(ip, f"%%pklines -u 1e-3 -D {dump} -T {text}\n"
                                 "@profile\ndef inner(n):\n    return sum(range(n))\n"
                                 "inner(3)\ninner(4)\n", capsys)
    assert res.success and err == ""
    assert out.startswith("Timer unit: 0.001 s\n")
    from profkit.formats import lprof

    stats = lprof.load(str(dump))
    assert [(k[2], [(ln, h) for ln, h, _ in v]) for k, v in stats.timings.items()] == [
        ("inner", [(3, 2)])]  # the cell's lines: IPython drops the blank first one
    assert out.endswith(f"profkit: wrote {dump} (show it again with: profkit show {dump})\n"
                        f"profkit: wrote {text}\n")
    assert text.read_text() == out[:out.index("profkit: wrote")]
    out, _, res = run_cell(ip, "%pklines pkmagiclib.work(1)", capsys)
    assert res.success and out == ("profkit: no function was profiled: choose them with -f FUNC "
                                   "or -m MODULE\n")


# ---- %pkmem and %pkmemit --------------------------------------------------------------


def test_pkmem_prints_mprun_s_table(ip, capsys, tmp_path):
    dump = tmp_path / "m.json"
    out, err, res = run_cell(ip, f"prof = %pkmem -r -b alloc -p 2 -D {dump} -f pkmagiclib.grow "
                                 "pkmagiclib.grow(3 << 20)", capsys)
    assert res.success, err
    lines = out.splitlines()
    lib = ip.user_ns["pkmagiclib"].__file__
    assert lines[:4] == [f"Filename: {lib}", "",
                         "Line #  Occurrences    Allocated          Net         Peak   Line Contents",
                         "=" * 74]
    row = lines[5].split()
    assert row[:5] == ["22", "1", "3.00", "MiB", "3.00"] and lines[5].endswith("keep = bytearray(n)")
    stats = ip.user_ns["prof"].get_stats()
    assert stats.backend == "alloc" and [f.name for f in stats.functions] == ["grow"]
    assert out.endswith(f"profkit: wrote {dump} (show it again with: profkit show {dump})\n")
    from profkit.formats import linemem

    assert linemem.load(str(dump)).functions[0].lines[22][0] == 1


def test_pkmemit(ip, capsys):
    out, err, res = run_cell(ip, "%pkmemit x = bytearray(64 << 20)", capsys)
    assert res.success and err == ""
    peak, inc = (float(w) for w in out.replace(",", "").split() if w.replace(".", "").isdigit())
    assert out == f"peak memory: {peak:.2f} MiB, increment: {inc:.2f} MiB\n"
    # The pages of 64 MiB, touched by bytearray's zeroing, less what the
    # process gives back meanwhile: under ASan, on a loaded machine, 61.6.
    assert 56 <= inc <= 70
    ip.run_cell("del x")
    out, err, res = run_cell(ip, "r = %pkmemit -o -q -r 3 -i 0.005 y = list(range(10))", capsys)
    assert (out, err) == ("", "")
    r = ip.user_ns["r"]
    assert len(r.mem_usage) == r.repeat == 3 and r.interval == 0.005 and not r.include_children
    assert str(r) == f"peak memory: {max(r.mem_usage):.2f} MiB, increment: " \
                     f"{max(r.mem_usage) - r.baseline:.2f} MiB"
    # a cell: its first line is setup, not measured
    out, _, res = run_cell(ip, "%%pkmemit -o -q big = bytearray(64 << 20)\nsmall = [0] * 10\n", capsys)
    assert res.result.increment < 16 and "big" in ip.user_ns and "small" in ip.user_ns
    ip.run_cell("del big, small")
