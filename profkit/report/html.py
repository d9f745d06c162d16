"""Self-contained HTML reports: one file that opens offline in any browser.

* a function table (``profkit func -o report.html``, ``profkit show
  run.prof -o report.html``): the flame graph of the call tree, the table
  with every cProfile sort key, each function's callers and callees (the
  script is _flame.py's);
* a line table (``profkit lines -o report.html``): each function's lines
  with hits, time and a heat bar, beside the source;
* a memory table (``profkit mem -o report.html``): each function's lines
  with memory_profiler's columns and a heat bar;
* a ``plot.Picture`` (``profkit plot -o x.html``): svg.py's page.

All share _page.py's look.  Each page carries its data as JSON (see
``function_data``, ``line_data``, ``memory_data`` and docs/formats.md), so
``profkit show report.html`` prints it again (formats/html.py).
"""
import os
import time

from profkit.report import emit
from profkit.report._page import esc, page
from profkit.report.model import CallNode, FunctionTable, LineTable, MemoryTable, ThreadTree

__all__ = ["write", "function_page", "line_page", "memory_page", "function_data", "FORMAT"]

FORMAT = "profkit-html"  # the data block's "format"
MIB = 1048576.0


def write(profile, path=None, fmt="html", stream=None, title=None, sort=None, **options):
    """Write the page of ``profile`` to ``path`` (atomically) or ``stream``."""
    if isinstance(profile, FunctionTable):
        text = function_page(profile, title=title, sort=sort)
    elif isinstance(profile, LineTable):
        text = line_page(profile, title=title, output_unit=options.get("output_unit"),
                         stripzeros=options.get("stripzeros", False))
    elif isinstance(profile, MemoryTable):
        text = memory_page(profile, title=title, precision=options.get("precision", 1))
    else:  # a plot.Picture: profkit plot's page
        from profkit.report import svg

        return svg.write(profile, path=path, fmt="html", stream=stream)
    emit(text, path, stream)


def _when(table):
    stamp = getattr(table, "mtime", None)
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp if stamp is not None else time.time()))


# ---- the function report -----------------------------------------------------------------

SORT_NAMES = {-1: "stdname", 0: "calls", 1: "time", 2: "cumulative"}  # pstats' old integer keys


def function_data(table, sort=None, tree=None):
    """The data block of a function report::

        {"format": "profkit-html", "version": 1, "kind": "functions",
         "sort": "cumulative", "exact": true, "depth_cap": 256,
         "funcs": [[file, line, name, primitive calls, calls, tottime, cumtime], ...],
         "edges": [[caller, callee, calls, primitive calls, tottime, cumtime], ...],
         "threads": [{"name": "MainThread", "parent": [-1, 0, 1, ...], "func": [-1, 4, 2, ...],
                      "calls": [...], "inline": [...], "total": [...], "folded": [node, ...]}]}

    ``funcs`` and ``edges`` are the pstats table (indices into ``funcs``);
    each thread's nodes come depth first (a parent before its children),
    node 0 its root (``func`` -1)."""
    stats = table.stats
    tree = tree if tree is not None else table.call_tree()  # a guessed one is made each time
    funcs = list(stats)
    index = {f: i for i, f in enumerate(funcs)}
    for t in tree.threads:  # a tree's function missing from the table: zeros
        for _p, node in t.root.walk():
            if node.func is not None and node.func not in index:
                index[node.func] = len(funcs)
                funcs.append(node.func)
    rows = [list(f) + list(stats.get(f, (0, 0, 0.0, 0.0))[:4]) for f in funcs]
    edges = [[index[caller], index[f], *edge] for f, v in stats.items()
             for caller, edge in v[4].items() if caller in index]
    threads = []
    for t in tree.threads or [ThreadTree(None, "no calls", CallNode(None))]:
        cols = {"name": t.name, "parent": [], "func": [], "calls": [], "inline": [], "total": [],
                "folded": []}
        stack = [(t.root, -1)]
        while stack:
            node, parent = stack.pop()
            i = len(cols["parent"])
            cols["parent"].append(parent)
            cols["func"].append(-1 if node.func is None else index[node.func])
            cols["calls"].append(node.calls)
            cols["inline"].append(node.inline)
            cols["total"].append(node.total)
            if node.folded:
                cols["folded"].append(i)
            stack.extend((c, i) for c in reversed(node.children))
        threads.append(cols)
    if isinstance(sort, int):
        sort = SORT_NAMES.get(sort, "cumulative")
    return {"format": FORMAT, "version": 1, "kind": "functions", "sort": sort or "cumulative",
            "exact": tree.exact, "depth_cap": tree.depth_cap, "funcs": rows, "edges": edges,
            "threads": threads}


FUNCTION_BODY = """{notes}
<div class="toolbar">
<label>Thread <select id="thread"></select></label>
<input id="search" type="search" placeholder="Search functions by name or file" autocomplete="off">
<span id="match" class="muted"></span>
<button id="reset" type="button">Reset zoom</button>
<span class="muted">Click a frame to zoom in, a row to see its callers and callees.</span>
</div>
<div id="flame-wrap"><canvas id="flame" height="40"></canvas><div id="tip"></div></div>
<div class="cols"><section class="left">
<div class="tablebar">Sort by <select id="sort"></select><span id="count" class="muted"></span></div>
<table class="pk" id="functions"><thead></thead><tbody></tbody></table>
<button id="more" type="button"></button>
</section><section class="right" id="details"><p class="muted">Click a function in the table or the
flame graph to see who calls it and what it calls.</p></section></div>"""


def function_page(table, title=None, sort=None):
    """The function report of a FunctionTable (see the module's doc)."""
    from profkit.report import _flame

    tree = table.call_tree()
    data = function_data(table, sort, tree)
    calls = sum(v[1] for v in table.stats.values())
    prim = sum(v[0] for v in table.stats.values())
    total = sum(t.root.total for t in tree.threads) if tree.exact else \
        sum(v[2] for v in table.stats.values())
    notes = []
    if not tree.exact:
        notes.append("This flame graph is not exact: a pstats file keeps callers, not call paths, "
                     "so the tree is guessed from its caller edges (each callee takes its callers' "
                     "share of the time). Profile with <span class=mono>profkit func -o "
                     "report.html</span> for the measured tree.")
    if tree.folded:
        notes.append(f"Calls deeper than {tree.depth_cap} levels are folded into one layer below "
                     "that depth (marked \u22ef); their times and calls stay exact.")
    title = title or (os.path.basename(table.path) if table.path else "function profile")
    sub = (f"{calls} function calls ({prim} primitive) in {total:.3f} seconds \u00b7 "
           f"{'exact call tree' if tree.exact else 'call tree guessed from pstats'} \u00b7 {_when(table)}")
    body = FUNCTION_BODY.format(notes="".join(f'<p class="note">{n}</p>' for n in notes))
    return page(title, sub, body, style=_flame.STYLE, script=_flame.SCRIPT, data=data)


# ---- the line and memory reports ---------------------------------------------------------


def _source(filename, first, last=None):
    """{lineno: text} of a function's lines: from ``first`` to the end of
    its block (or to ``last``)."""
    import inspect
    from tokenize import TokenError

    from profkit.report.text import source_lines

    lines = source_lines(filename)
    if not lines or first < 1 or first > len(lines):
        return {}
    if last is None:
        try:
            last = first - 1 + len(inspect.getblock(lines[first - 1:]))
        except (IndexError, SyntaxError, TokenError):
            last = first
    return {n: lines[n - 1].rstrip("\r\n") for n in range(first, min(last, len(lines)) + 1)}


def _bar(fraction):
    width = max(0.0, min(1.0, fraction)) * 100
    return f'<div class="bar"><i style="width:{width:.1f}%"></i></div>'


def line_data(table):
    """``{"format": "profkit-html", "version": 1, "kind": "lines", "unit": 1e-9,
    "functions": [[filename, first_lineno, name, [[lineno, hits, time], ...]], ...]}``"""
    return {"format": FORMAT, "version": 1, "kind": "lines", "unit": table.unit,
            "functions": [[k[0], k[1], k[2], [list(r) for r in rows]]
                          for k, rows in table.timings.items()]}


def line_page(table, title=None, output_unit=None, stripzeros=False):
    """The line report of a LineTable: per function, in the table's order,
    Line #, Hits, Time, Per Hit, % Time (kernprof's columns, time in
    ``output_unit`` seconds), a heat bar of the line's share, and the
    source; first, the functions by total time."""
    unit = table.unit
    out_unit = output_unit or 1e-6
    scale = unit / out_unit
    items = [(k, rows) for k, rows in table.timings.items()
             if not (stripzeros and not sum(h for _, h, _ in rows))]
    totals = {k: sum(t for _, _, t in rows) * unit for k, rows in items}
    summary = ['<table class="pk"><tr><th class="l">function</th><th class="l">file</th>'
               '<th>time (s)</th><th></th></tr>']
    grand = max(totals.values(), default=0.0)
    for n, (k, _rows) in sorted(enumerate(items), key=lambda x: -totals[x[1][0]]):
        summary.append(f'<tr><td class="l"><a href="#f{n}">{esc(k[2])}</a></td><td class="l">'
                       f'{esc(k[0])}:{k[1]}</td><td>{totals[k]:.6f}</td>'
                       f'<td>{_bar(totals[k] / grand if grand else 0)}</td></tr>')
    summary.append("</table>")
    parts = ["".join(summary)]
    for n, (k, rows) in enumerate(items):
        total = sum(t for _, _, t in rows)
        by_line = {ln: (h, t) for ln, h, t in rows}
        source = _source(k[0], k[1])
        linenos = sorted(set(source) | set(by_line) | {k[1]})
        parts.append(f'<h2 id="f{n}">{esc(k[2])} <span class="muted">{esc(k[0])}:{k[1]} \u00b7 '
                     f'{total * unit:.6f} s</span></h2>')
        parts.append('<table class="pk"><tr><th>Line #</th><th>Hits</th><th>Time</th>'
                     '<th>Per Hit</th><th>% Time</th><th></th><th class="l">Line Contents</th></tr>')
        for ln in linenos:
            h, t = by_line.get(ln, (None, None))
            share = t / total if h is not None and total else 0.0
            cells = ("", "", "", "", "") if h is None else (
                h, f"{t * scale:.1f}", f"{t * scale / h:.1f}" if h else "",
                f"{100 * share:.1f}" if total else "", _bar(share))
            hot = ' class="hot"' if share >= 0.2 else ""
            parts.append(f"<tr{hot}><td>{ln}</td>" + "".join(f"<td>{c}</td>" for c in cells) +
                         f'<td class="src">{esc(source.get(ln, ""))}</td></tr>')
        parts.append("</table>")
    sub = f"line profile \u00b7 timer unit {out_unit:g} s \u00b7 {len(items)} functions \u00b7 {_when(table)}"
    return page(title or "line profile", sub, "\n".join(parts), data=line_data(table))


def memory_data(table):
    """``{"format": "profkit-html", "version": 1, "kind": "memory", "backend": "rss",
    "functions": [{"filename", "first_line", "name", "last_line", "caller", "lines":
    [[lineno, occurrences, increment, mem_usage, allocated, net, peak], ...]}, ...]}``
    (the line-memory file's shape: formats/linemem.py)."""
    return {"format": FORMAT, "version": 1, "kind": "memory", "backend": table.backend,
            "functions": [{"filename": f.filename, "first_line": f.first_line, "name": f.name,
                           "last_line": f.last, "caller": f.caller,
                           "lines": [[ln] + list(r) for ln, r in sorted(f.lines.items())]}
                          for f in table.functions]}


def memory_page(table, title=None, precision=1):
    """The memory report of a MemoryTable: memory_profiler's columns (and
    Allocated, Net, Peak with the allocation backend) per line, with a heat
    bar of each line's increment (RSS) or allocated bytes (allocation
    hooks), beside the source."""
    rss = table.backend in ("rss", "both")
    alloc = table.backend in ("alloc", "both")
    heads = ["Line #"] + (["Mem usage", "Increment"] if rss else []) + ["Occurrences"] + \
        (["Allocated", "Net", "Peak"] if alloc else [])
    heat = 3 if alloc else 1  # the row's column the bar shows: allocated, else increment

    def mib(v):
        return f"{v / MIB:.{precision}f} MiB"

    parts = []
    for f in table.functions:
        source = _source(f.filename, f.first_line, f.last)
        top = max((abs(r[heat]) for r in f.lines.values()), default=0)
        caller = f" \u00b7 first called from {esc(f.caller[0])} ({esc(f.caller[1])}:{f.caller[2]})" \
            if f.caller else ""
        parts.append(f'<h2>{esc(f.name)} <span class="muted">{esc(f.filename)}:{f.first_line}'
                     f'{caller}</span></h2>')
        parts.append('<table class="pk"><tr>' + "".join(f"<th>{h}</th>" for h in heads) +
                     '<th></th><th class="l">Line Contents</th></tr>')
        for ln in range(f.first_line, f.last + 1):
            r = f.lines.get(ln)
            if r is None:
                cells = [""] * (len(heads) - 1) + [""]
                share = 0.0
            else:
                occ, inc, mem, allocated, net, peak = r
                cells = ([mib(mem), mib(inc)] if rss else []) + [str(occ)] + \
                    ([mib(allocated), mib(net), mib(peak)] if alloc else [])
                share = abs(r[heat]) / top if top else 0.0
                cells.append(_bar(share))
            hot = ' class="hot"' if share >= 0.2 else ""
            parts.append(f"<tr{hot}><td>{ln}</td>" + "".join(f"<td>{c}</td>" for c in cells) +
                         f'<td class="src">{esc(source.get(ln, ""))}</td></tr>')
        parts.append("</table>")
    names = {"rss": "resident memory (RSS)", "alloc": "allocated bytes", "both": "RSS and allocated bytes"}
    sub = f"line-by-line memory \u00b7 {names.get(table.backend, table.backend)} \u00b7 {_when(table)}"
    return page(title or "memory profile", sub, "\n".join(parts), data=memory_data(table))
