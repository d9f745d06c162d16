"""The formats other viewers read (speedscope, folded stacks, callgrind),
written from the exact call tree: their numbers are the flat profile's,
the reference tools read them, and profkit reads them back."""
import itertools
import json
import marshal
import os
import pstats
import re
import shutil
import subprocess

import pytest

import mixed
import profkit
from calls import leaf, middle, top
from conftest import ENTRIES, HERE, write
from profkit import formats, report
from profkit.report import callgrind, collapsed, speedscope

SCHEMA = os.path.join(HERE, "data", "speedscope-file-format-schema.json")


def fake_table(func=mixed.main, **kw):
    ticks = itertools.count()
    prof = profkit.Profile(lambda: next(ticks), 1.0, tree=True, **kw)
    prof.runcall(func)
    return prof.function_table()


def ns(seconds):
    return round(seconds * 1e9)


def key(f):
    return (f.__code__.co_filename, f.__code__.co_firstlineno, f.__name__)


# ---- a tiny JSON-schema checker: the parts speedscope's schema uses --------------------------


def validate(value, schema, root, where="$"):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return validate(value, root["definitions"][name], root, where)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate(value, option, root, where)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: matches none of anyOf: {errors}")
    kinds = {"object": dict, "array": list, "string": str, "number": (int, float)}
    if "type" in schema:
        ok = isinstance(value, kinds[schema["type"]]) and not isinstance(value, bool)
        assert ok, f"{where}: {value!r} is not of type {schema['type']}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            assert name in value, f"{where}: {name!r} is required"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                validate(value[name], sub, root, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], root, f"{where}[{i}]")


def test_the_schema_checker_can_fail():
    with open(SCHEMA) as f:
        schema = json.load(f)
    good = {"$schema": speedscope.SCHEMA, "shared": {"frames": [{"name": "f"}]},
            "profiles": [{"type": "sampled", "name": "t", "unit": "nanoseconds", "startValue": 0,
                          "endValue": 1, "samples": [[0]], "weights": [1]}]}
    validate(good, schema, schema)
    bad = json.loads(json.dumps(good))
    bad["profiles"][0]["unit"] = "ticks"
    with pytest.raises(AssertionError, match="matches none of anyOf"):
        validate(bad, schema, schema)
    del good["shared"]
    with pytest.raises(AssertionError, match="'shared' is required"):
        validate(good, schema, schema)


# ---- speedscope --------------------------------------------------------------------------


@pytest.mark.parametrize("builtins", [True, False])
def test_speedscope_follows_the_schema_and_weighs_each_function_exactly(builtins):
    table = fake_table(builtins=builtins)
    doc = speedscope.document(table.tree, name="mixed")
    with open(SCHEMA) as f:
        schema = json.load(f)
    validate(doc, schema, schema)
    frames = doc["shared"]["frames"]
    (prof,) = doc["profiles"]
    assert prof["name"] == "MainThread" and prof["unit"] == "nanoseconds"
    assert len(prof["samples"]) == len(prof["weights"]) and prof["endValue"] == sum(prof["weights"])
    own = {}
    for stack, weight in zip(prof["samples"], prof["weights"]):
        fr = frames[stack[-1]]
        k = (fr["file"], fr["line"], fr["name"]) if "file" in fr else ("~", 0, fr["name"])
        own[k] = own.get(k, 0) + weight
    expected = {k: ns(v[2]) for k, v in table.stats.items() if v[2]}
    assert own == expected


def test_speedscope_has_one_profile_per_thread_and_reads_back(tmp_path):
    import threading

    prof = profkit.Profile(builtins=False, tree=True)
    prof.enable()
    th = threading.Thread(target=middle, name="helper")
    th.start()
    th.join()
    top()
    prof.disable()
    path = str(tmp_path / "p.speedscope.json")
    report.write(prof.function_table(), path)
    with open(path) as f:
        doc = json.load(f)
    assert [p["name"] for p in doc["profiles"]][0] == "MainThread"
    assert len(doc["profiles"]) == 2
    assert formats.detect(path) == "speedscope"
    back = formats.read(path)
    assert {k for k, v in back.stats.items() if v[2]} <= set(prof.stats)
    assert back.tree.threads[0].name == "MainThread"


# ---- folded stacks ------------------------------------------------------------------------


def test_collapsed_lines_are_the_tree_paths_with_exact_own_time():
    table = fake_table(top, builtins=False)
    lines = collapsed.lines(table.tree)
    names = {k: collapsed.frame_name(k) for k in table.stats}
    t, m, lf = names[key(top)], names[key(middle)], names[key(leaf)]
    st = table.stats
    # each node's own time: the same arithmetic as the engine, on the fake clock
    got = [line.rsplit(" ", 1) for line in lines]
    assert [p for p, _ in got] == [t, f"{t};{m}", f"{t};{m};{lf}", f"{t};{lf}"]
    own = {}
    for stack, value in got:
        own[stack.split(";")[-1]] = own.get(stack.split(";")[-1], 0) + int(value)
    assert own == {names[k]: ns(v[2]) for k, v in st.items()}
    assert m == f"middle ({middle.__code__.co_filename}:{key(middle)[1]})"


def test_collapsed_names_never_break_the_format():
    assert collapsed.frame_name(("a;b.py", 3, "f")) == "f (a:b.py:3)"
    assert collapsed.frame_name(("~", 0, "<built-in method builtins.len>")) == \
        "<built-in method builtins.len>"


def test_collapsed_reads_back_as_the_same_tree(tmp_path):
    table = fake_table(builtins=True)
    path = str(tmp_path / "x.collapsed")
    report.write(table, path)
    assert formats.detect(path) == "collapsed"
    back = formats.read(path)
    assert {k for k, v in table.stats.items() if v[2]} <= set(back.stats) <= set(table.stats)
    assert {k: ns(v[2]) for k, v in back.stats.items()} == \
        {k: ns(table.stats[k][2]) for k in back.stats}
    assert all(v[1] == 0 for v in back.stats.values())  # the file has no calls


def test_collapsed_reader_says_which_line_is_wrong(tmp_path):
    path = write(tmp_path / "bad.folded", "a;b 12\na;c twelve\n")
    with pytest.raises(ValueError, match=r"bad.folded:2: not a folded stack line: 'a;c twelve'"):
        formats.read(path, "collapsed")


# ---- callgrind ------------------------------------------------------------------------------


def annotate(path):
    """callgrind_annotate's program total and per-function own costs."""
    # (run where no profiled file lives: it strips the current folder from names)
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no", path],
                         capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(path)).stdout
    total = int(re.search(r"^([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", out, re.M).group(1).replace(",", ""))
    rows = re.findall(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*)$", out, re.M)
    funcs = {name: int(v.replace(",", "")) for v, name in rows if name != "PROGRAM TOTALS"}
    return total, funcs


@pytest.mark.skipif(shutil.which("callgrind_annotate") is None, reason="needs callgrind_annotate "
                    "(Debian's valgrind package)")
@pytest.mark.parametrize("builtins", [True, False])
def test_callgrind_annotate_reads_our_file_and_its_totals_are_ours(tmp_path, builtins):
    table = fake_table(builtins=builtins)
    path = str(tmp_path / "callgrind.out.mixed")
    report.write(table, path)
    total, funcs = annotate(path)
    assert total == sum(ns(v[2]) for v in table.stats.values())
    expected = {f"{k[0]}:{callgrind.name_of(k)}": ns(v[2]) for k, v in table.stats.items() if ns(v[2])}
    assert funcs == expected


def test_callgrind_reads_back_with_the_own_times_and_call_edges(tmp_path):
    table = fake_table(top, builtins=False)
    path = str(tmp_path / "callgrind.out.top")
    report.write(table, path)
    assert formats.detect(path) == "callgrind"
    back = formats.read(path)
    assert {k: v[2] for k, v in back.stats.items()} == {k: v[2] for k, v in table.stats.items()}
    assert back.stats[key(leaf)][4] == {
        key(middle): (4, 4, 0.0, table.stats[key(leaf)][4][key(middle)][3]),
        key(top): (1, 1, 0.0, table.stats[key(leaf)][4][key(top)][3])}
    assert back.stats[key(middle)][1] == 2


@pytest.mark.parametrize("damage", ["calls=\n", "calls=2 3\n"])
def test_a_damaged_callgrind_file_is_one_line(cli, tmp_path, damage):
    """An empty calls= line, or one before any cfn=, is one line and exit 2."""
    write(tmp_path / "callgrind.out.bad",
          "events: Ticks\nfl=a.py\nfn=f:1\n1 100\n" + damage + "1 50\n")
    r = cli("show", "callgrind.out.bad")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.count("\n") == 1 and "calls= line" in r.stderr, r.stderr


# ---- the command line ---------------------------------------------------------------------

SCRIPT = """\
def leaf():
    return sum(range(10))

def work():
    return [leaf() for _ in range(3)]

work()
"""


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
@pytest.mark.parametrize("name, kind", [("out.speedscope.json", "speedscope"),
                                        ("out.collapsed", "collapsed"), ("out.folded", "collapsed"),
                                        ("callgrind.out.app", "callgrind"), ("out.prof", "pstats"),
                                        ("out.data", "pstats"), ("report.html", "html")])
def test_the_file_name_picks_the_format(cli, tmp_path, name, kind):
    script = write(tmp_path / "app.py", SCRIPT)
    r = cli("func", "-o", name, script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith(f"profkit: wrote {name} (")
    assert formats.detect(str(tmp_path / name)) == kind
    table = formats.read(str(tmp_path / name))
    funcs = {k[2]: v for k, v in table.stats.items()}
    assert "leaf" in funcs and "work" in funcs
    if kind in ("pstats", "html", "callgrind"):
        assert funcs["leaf"][1] == 3
    shown = cli("show", name)
    assert shown.returncode == 0, shown.stderr
    assert "leaf" in shown.stdout


def test_format_option_wins_over_the_name_and_writes_to_stdout(cli, tmp_path):
    script = write(tmp_path / "app.py", SCRIPT)
    r = cli("func", "--format", "collapsed", "-o", "x.prof", script)
    assert r.returncode == 0 and formats.detect(str(tmp_path / "x.prof")) == "collapsed"
    r = cli("func", "--format", "collapsed", script)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("<built-in method builtins.exec>;<module> (") for line in lines)
    assert all(re.fullmatch(r".+ \d+", line) for line in lines)
    r = cli("func", "--format", "speedscope", script)
    assert json.loads(r.stdout)["$schema"] == speedscope.SCHEMA
    r = subprocess.run(cli.command("func", "--format", "pstats", script), cwd=cli.cwd,
                       capture_output=True)
    assert r.returncode == 0
    stats = marshal.loads(r.stdout)
    assert [v[1] for k, v in stats.items() if k[2] == "leaf"] == [3]


def test_pstats_output_stays_what_pstats_reads(cli, tmp_path):
    script = write(tmp_path / "app.py", SCRIPT)
    r = cli("func", "-o", "run.prof", script)
    assert r.stderr == "profkit: wrote run.prof (read it with: python -m pstats run.prof)\n"
    st = pstats.Stats(str(tmp_path / "run.prof"))
    assert [v[1] for k, v in st.stats.items() if k[2] == "leaf"] == [3]


def test_bad_format_and_tree_depth_are_one_line_errors(cli, tmp_path):
    script = write(tmp_path / "app.py", SCRIPT)
    r = cli("func", "--format", "svg", script)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("profkit func: error: argument --format: invalid choice: 'svg' (choose from "
                        "pstats, html, speedscope, collapsed, callgrind, text)\n") or \
        r.stderr == ("profkit func: error: argument --format: invalid choice: 'svg' (choose from "
                     "'pstats', 'html', 'speedscope', 'collapsed', 'callgrind', 'text')\n")
    r = cli("func", "--tree-depth", "0", script)
    assert (r.returncode, r.stderr) == (2, "profkit func: error: argument --tree-depth: 0 is out of "
                                           "range (1 to 100000)\n")


def test_show_converts_a_pstats_file_and_says_the_tree_is_guessed(cli, tmp_path):
    script = write(tmp_path / "app.py", SCRIPT)
    assert cli("func", "-o", "run.prof", script).returncode == 0
    r = cli("show", "run.prof", "-o", "run.collapsed")
    assert r.returncode == 0
    assert r.stderr == ("profkit show: wrote run.collapsed\n"
                        "profkit show: note: a pstats file keeps callers, not call paths: the call "
                        "tree is guessed from its caller edges\n")
    r = cli("show", "run.prof", "-o", "callgrind.out.run")
    assert (r.returncode, r.stderr) == (0, "profkit show: wrote callgrind.out.run\n")


def test_show_refuses_a_call_tree_format_for_a_line_profile(cli, tmp_path):
    from profkit.formats import lprof

    lprof.dump(lprof.LineStats({("a.py", 1, "f"): [(2, 1, 10)]}, 1e-9), str(tmp_path / "x.lprof"))
    r = cli("show", "x.lprof", "-o", "x.speedscope.json")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "profkit show: error: a line profile can be written as html or text, not speedscope\n"
    assert not os.path.exists(tmp_path / "x.speedscope.json")


def test_no_tree_still_writes_every_format_from_the_edges(cli, tmp_path):
    script = write(tmp_path / "app.py", SCRIPT)
    r = cli("func", "--no-tree", "-o", "x.collapsed", script)
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "x.collapsed") as f:
        assert "leaf (" in f.read()


def test_detect_tells_every_kind(tmp_path):
    cases = {
        "a.html": "<!DOCTYPE html><html>",
        "b.json": '{"$schema": "https://www.speedscope.app/file-format-schema.json"}',
        "c.json": '{"format": "profkit-line-memory"}',
        "d.txt": "# callgrind format\nversion: 1\n",
        "e.txt": "events: ns\n",
        "f.txt": "main;work;leaf 1200\n",
    }
    kinds = {name: formats.detect(write(tmp_path / name, text)) for name, text in cases.items()}
    assert kinds == {"a.html": "html", "b.json": "speedscope", "c.json": "linemem",
                     "d.txt": "callgrind", "e.txt": "callgrind", "f.txt": "collapsed"}
    with open(tmp_path / "g.prof", "wb") as f:
        f.write(marshal.dumps({("a.py", 1, "f"): (1, 1, 0.0, 0.0, {})}))
    assert formats.detect(str(tmp_path / "g.prof")) == "pstats"
