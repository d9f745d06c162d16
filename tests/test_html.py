"""The HTML reports, checked in a real browser as a person would use them:
headless Chromium (tests/chromium.py) loads each page offline, and the test
looks at what is drawn, clicks a frame, types a search, sorts the table.

Skipped, with the reason, only where no chromium can be installed
(``sh .ci/chromium.sh``)."""
import importlib.util
import os
import re

import pytest

import chromium
from conftest import ENTRIES, EXAMPLES, write
from profkit import formats, report
from profkit.report import html
from profkit.report.model import (CallNode, CallTree, FunctionMemory, FunctionTable, LineTable,
                                  MemoryTable, ThreadTree)

needs_browser = pytest.mark.skipif(chromium.find() is None, reason=chromium.WHY_MISSING)

APP = """\
import time

def leaf(n):
    return sum(range(n))

def slow():
    total = 0
    for _ in range(40):
        total += leaf(20000)
    return total

def quick():
    return leaf(2000)

def main():
    slow()
    for _ in range(5):
        quick()

main()
"""


@pytest.fixture(scope="module")
def browser():
    if chromium.find() is None:
        pytest.skip(chromium.WHY_MISSING)
    with chromium.Browser(width=1200, height=900) as b:
        yield b


def flame_origin(b):
    return b.js("(() => { const r = document.getElementById('flame').getBoundingClientRect();"
                " return [r.left, r.top]; })()")


def frames(b, name=None):
    fr = b.js("profkit.frames()")
    return fr if name is None else [f for f in fr if f["name"] == name]


def click_frame(b, f):
    x0, y0 = flame_origin(b)
    b.click(x0 + f["x"] + f["w"] / 2, y0 + f["y"] + f["h"] / 2)


def painted(b):
    """How many of the canvas's pixels are not white."""
    return b.js("(() => { const c = document.getElementById('flame');"
                " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " let n = 0; for (let i = 0; i < d.length; i += 4)"
                "   if (d[i + 3] && (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250)) n++;"
                " return n; })()")


@pytest.fixture(scope="module")
def app_report(tmp_path_factory):
    from conftest import CLI

    folder = tmp_path_factory.mktemp("report")
    script = write(folder / "app.py", APP)
    r = CLI(str(folder))("func", "-o", "report.html", script)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "profkit: wrote report.html (open it in a browser)\n"
    return str(folder / "report.html")


# ---- the function report ------------------------------------------------------------------


def test_the_page_is_one_file_with_nothing_to_fetch(app_report):
    with open(app_report, encoding="utf-8") as f:
        page = f.read()
    assert page.startswith("<!doctype html>")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script src" not in page and "<link" not in page
    assert "exact call tree" in page


@needs_browser
def test_flame_graph_draws_the_tree(browser, app_report):
    b = browser
    b.open(app_report)
    assert b.js("profkit.ready") is True
    names = [f["name"] for f in frames(b) if not f["small"]]
    for name in ("MainThread", "<module>", "main", "slow", "quick", "leaf"):
        assert name in names
    width = b.js("document.getElementById('flame').clientWidth")
    root, = frames(b, "MainThread")
    assert root["w"] == width and root["y"] == 0
    slow, = frames(b, "slow")
    quick, = frames(b, "quick")
    main, = frames(b, "main")
    assert slow["w"] > 10 * quick["w"] and slow["w"] <= main["w"]
    assert slow["y"] == main["y"] + 18  # one row down: called by main
    assert painted(b) > 0.02 * width * 60


@needs_browser
def test_click_zooms_and_selects_and_reset_zooms_out(browser, app_report):
    b = browser
    b.open(app_report)
    slow, = frames(b, "slow")
    click_frame(b, slow)
    assert b.js("profkit.zoomed()") == "slow"
    width = b.js("document.getElementById('flame').clientWidth")
    slow, = [f for f in frames(b, "slow") if not f["above"]]
    assert slow["x"] == 0 and slow["w"] == width
    assert [f["name"] for f in frames(b) if f["above"]] == ["MainThread", "<built-in method builtins.exec>",
                                                           "<module>", "main"]
    assert frames(b, "quick") == []
    # the side panel shows who calls slow and what it calls
    assert b.js("profkit.selected()") == "slow"
    details = b.js("document.getElementById('details').innerText")
    assert "Called by" in details and "main" in details and "Calls" in details
    b.click_element("#reset")
    assert b.js("profkit.zoomed()") is None
    assert len(frames(b, "quick")) == 1


@needs_browser
def test_search_finds_a_function_in_graph_and_table(browser, app_report):
    b = browser
    b.open(app_report)
    b.click_element("#search")
    b.type("quick")
    assert b.js("profkit.matches()")["count"] == 1
    assert 0 < b.js("profkit.matches()")["fraction"] < 0.5
    assert b.js("document.getElementById('match').textContent").startswith("1 function matches, ")
    rows = b.js("profkit.rows()")
    assert [r[6] for r in rows] == ["quick"]
    # the matching frame keeps a colour; the others turn grey
    quick, = frames(b, "quick")
    x, y = quick["x"] + quick["w"] / 2, quick["y"] + 9
    rgb = b.js(f"Array.from(document.getElementById('flame').getContext('2d')"
               f".getImageData({x}, {y}, 1, 1).data)")
    assert rgb[:3] == [214, 93, 177]


@needs_browser
def test_table_sorts_by_every_cprofile_key(browser, app_report):
    import pstats

    b = browser
    b.open(app_report)
    assert b.js("profkit.sortKey()") == "cumulative"
    keys = b.js("Array.from(document.getElementById('sort').options).map(o => o.value)")
    assert sorted(keys) == sorted(pstats.Stats.sort_arg_dict_default)
    b.click_element("#functions th:nth-child(3)")  # tottime
    assert b.js("profkit.sortKey()") == "tottime"
    rows = b.js("profkit.rows()")
    table = formats.read(app_report)
    by_tt = sorted(table.stats.items(), key=lambda kv: -kv[1][2])
    assert rows[0][6] == by_tt[0][0][2]
    b.click_element("#functions th:nth-child(3)")
    assert b.js("profkit.sortKey()") == "tottime reversed"
    b.click_element("#functions th:nth-child(7)")  # function name
    names = [r[6] for r in b.js("profkit.rows()")]
    assert names == sorted(names)
    b.click_element("#functions th:nth-child(1)")
    calls = [int(r[0].split("/")[0]) for r in b.js("profkit.rows()")]
    assert calls == sorted(calls, reverse=True)


@needs_browser
def test_a_row_click_shows_callers_and_callees(browser, app_report):
    b = browser
    b.open(app_report + "#sort=name")
    rows = b.js("profkit.rows()")
    n = [r[6] for r in rows].index("leaf")
    b.click_element(f"#functions tbody tr:nth-child({n + 1})")
    assert b.js("profkit.selected()") == "leaf"
    callers = b.js("Array.from(document.querySelectorAll('#details table')[0].rows).slice(1)"
                   ".map(r => [r.cells[0].innerText, r.cells[1].innerText])")
    assert sorted(callers) == [["quick", "5"], ["slow", "40"]]


@needs_browser
def test_large_tree_opens_fast_and_stays_responsive(browser, tmp_path):
    # 100,000 nodes: 100 functions, 5,000 paths of 20 calls
    funcs = [("big.py", i, f"f{i}") for i in range(100)]
    root = CallNode(None)
    for branch in range(5000):
        parent = root
        for level in range(20):
            node = CallNode(funcs[(branch + level) % 100], calls=1, inline=1e-6 * (1 + branch % 7),
                            total=0.0)
            parent.children.append(node)
            parent = node
    for _p, node in list(root.walk())[::-1]:
        node.total = node.inline + sum(c.total for c in node.children)
    tree = CallTree([ThreadTree(1, "MainThread", root)])
    stats = tree.function_stats()
    path = str(tmp_path / "big.html")
    report.write(FunctionTable(stats, tree=tree), path)
    b = browser
    b.open(path)
    assert b.js("profkit.nodes") == 100001
    assert b.js("profkit.readyAt") < 2000  # ms since navigation started
    took = b.js("(() => { const t = performance.now(); const s = document.getElementById('search');"
                " s.value = 'f7'; s.dispatchEvent(new Event('input')); return performance.now() - t; })()")
    assert took < 300
    assert b.js("profkit.matches()")["count"] == 11  # f7, f70..f79
    assert any(f["small"] for f in frames(b))  # narrow paths are drawn as grey blocks
    assert len(frames(b)) < 20000


@needs_browser
def test_pstats_report_says_the_tree_is_guessed(browser, cli, tmp_path):
    script = write(tmp_path / "app.py", APP)
    assert cli("func", "-o", "run.prof", script).returncode == 0
    r = cli("show", "run.prof", "-o", "report.html")
    assert r.returncode == 0, r.stderr
    page = str(tmp_path / "report.html")
    browser.open(page)
    note = browser.js("document.querySelector('.note').innerText")
    assert note.startswith("This flame graph is not exact: a pstats file keeps callers, not call paths")
    assert {"main", "slow", "leaf"} <= {f["name"] for f in frames(browser)}


@needs_browser
@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="needs numpy and scipy")
def test_linalg_make_sparse_is_the_widest_frame_under_the_module(browser, tmp_path):
    from conftest import CLI

    r = CLI(str(tmp_path))("func", "-o", "linalg.html", os.path.join(EXAMPLES, "time", "linalg.py"))
    assert r.returncode == 0, r.stderr
    browser.open(str(tmp_path / "linalg.html"))
    fr = [f for f in frames(browser) if not f["small"]]
    module = [f for f in fr if f["name"] == "<module>"][0]
    below = [f for f in fr if f["y"] > module["y"]]
    # the widest frame that does work of its own, under the module's pass-through callers
    chain = {"main", "build_matrices"}
    widest = max((f for f in below if f["name"] not in chain), key=lambda f: f["w"])
    assert widest["name"] == "make_sparse"
    assert widest["w"] > 0.6 * module["w"]


# ---- the line and memory reports, and the plot page: one look ---------------------------------

SRC = """\
def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
"""


def test_line_page_has_a_heat_bar_per_line(tmp_path):
    src = write(tmp_path / "w.py", SRC)
    table = LineTable({(src, 1, "work"): [(2, 1, 100), (3, 11, 1100), (4, 10, 8800), (5, 1, 0)]}, 1e-9)
    page = html.line_page(table)
    bars = re.findall(r'<tr( class="hot")?><td>(\d)</td><td>(\d*)</td>.*?<i style="width:([\d.]+)%">', page)
    assert [(ln, hits, float(w), bool(hot)) for hot, ln, hits, w in bars] == [
        ("2", "1", 1.0, False), ("3", "11", 11.0, False), ("4", "10", 88.0, True), ("5", "1", 0.0, False)]
    assert "total += i * i" in page and "0.000010 s" in page
    back = formats.read(write(tmp_path / "l.html", page))
    assert back == table


def test_memory_page_has_a_heat_bar_per_line(tmp_path):
    src = write(tmp_path / "w.py", SRC)
    mib = 1048576
    f = FunctionMemory(src, 1, "work", 5, {1: [1, 0, 20 * mib, 0, 0, 0], 2: [1, 0, 20 * mib, 0, 0, 0],
                                           4: [10, 4 * mib, 24 * mib, 0, 0, 0],
                                           5: [1, -1 * mib, 23 * mib, 0, 0, 0]})
    page = html.memory_page(MemoryTable([f], "rss"))
    rows = re.findall(r"<tr(?: class=\"hot\")?><td>(\d)</td><td>([^<]*)</td><td>([^<]*)</td><td>(\d*)</td>"
                      r"(?:<td><div class=\"bar\"><i style=\"width:([\d.]+)%\">)?", page)
    assert rows == [("1", "20.0 MiB", "0.0 MiB", "1", "0.0"), ("2", "20.0 MiB", "0.0 MiB", "1", "0.0"),
                    ("3", "", "", "", ""), ("4", "24.0 MiB", "4.0 MiB", "10", "100.0"),
                    ("5", "23.0 MiB", "-1.0 MiB", "1", "25.0")]
    back = formats.read(write(tmp_path / "m.html", page))
    assert [(g.name, g.lines) for g in back.functions] == [("work", f.lines)]


@needs_browser
def test_line_and_memory_pages_render(browser, tmp_path):
    src = write(tmp_path / "w.py", SRC)
    path = str(tmp_path / "lines.html")
    report.write(LineTable({(src, 1, "work"): [(3, 11, 1100), (4, 10, 8800)]}, 1e-9), path)
    browser.open(path)
    widths = browser.js("Array.from(document.querySelectorAll('.bar > i')).map(i => i.offsetWidth)")
    bar = browser.js("document.querySelector('.bar').offsetWidth")
    assert widths[0] == 120 and widths[1:] == [round(bar * 1100 / 9900), round(bar * 8800 / 9900)]
    assert browser.js("document.querySelector('header.pk h1').textContent") == "line profile"


def test_every_page_shares_one_header_and_style(tmp_path):
    from profkit.report import plot, svg

    pic = plot.Picture("mem")
    pages = [svg.render(pic, html=True), html.line_page(LineTable({}, 1e-9)),
             html.memory_page(MemoryTable([], "rss")),
             html.function_page(FunctionTable({("a.py", 1, "f"): (1, 1, 0.5, 0.5, {})}))]
    heads = [re.search(r"<header class=\"pk\"><span class=\"brand\">profkit</span>", p) for p in pages]
    assert all(heads)
    styles = [re.search(r"<style>(.*?)</style>", p, re.S).group(1) for p in pages]
    assert all(s.startswith(styles[1]) for s in styles)


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_plot_writes_its_page_in_the_same_look(cli, tmp_path):
    dat = write(tmp_path / "m.dat", "CMDLINE python x.py\nMEM 10.0 100.0\nMEM 12.0 100.5\n")
    r = cli("plot", dat, "-o", "m.html")
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "m.html") as f:
        page = f.read()
    assert '<header class="pk"><span class="brand">profkit</span>' in page and "<svg" in page


@needs_browser
def test_a_profile_with_no_calls_still_opens(browser, tmp_path):
    import profkit

    prof = profkit.Profile(tree=True)
    path = str(tmp_path / "empty.html")
    report.write(prof.function_table(), path)
    browser.open(path)
    assert browser.js("profkit.ready") is True
    assert [f["name"] for f in frames(browser)] == ["no calls"]
    assert browser.js("profkit.rows()") == []


@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_lines_and_mem_write_their_tables_as_html(cli, tmp_path):
    """`profkit lines -o x.html` and `profkit mem -o x.html` write the pages
    with a heat bar per line, and `profkit show` reads them back."""
    script = write(tmp_path / "work.py", "@profile\ndef work(n):\n    t = 0\n    for i in range(n):\n"
                   "        t += i\n    return t\n\nwork(1000)\n")
    r = cli("lines", "-o", "lines.html", script)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[-1] == "profkit: wrote lines.html (show it again with: profkit show lines.html)"
    page = (tmp_path / "lines.html").read_text()
    assert page.lower().startswith("<!doctype html>") and "work" in page
    shown = cli("show", "lines.html")
    assert shown.returncode == 0, shown.stderr
    rows = {int(line.split()[0]): line.split()[1] for line in shown.stdout.splitlines()
            if line.strip()[:1].isdigit() and len(line.split()) > 3 and line.split()[1].isdigit()}
    assert rows[4] == "1001" and rows[5] == "1000"
    r = cli("mem", "-o", "mem.html", script)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[-1] == "profkit: wrote mem.html (show it again with: profkit show mem.html)"
    assert (tmp_path / "mem.html").read_text().lower().startswith("<!doctype html>")
    shown = cli("show", "mem.html")
    assert shown.returncode == 0 and "Occurrences" in shown.stdout, shown.stderr
