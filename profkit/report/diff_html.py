"""``profkit diff -o diff.html``: the comparison as one self-contained page
(no scripts, nothing beside it) in the look of profkit's other pages
(_page.py's header, fonts and tables).  The rows are those of the text
report (report/diff.py), coloured by verdict, with a bar for each change:
right of the middle when it grew, left when it shrank.
"""
from profkit.report._page import esc, page
from profkit.report.diff_text import percent_text, scale, summary_lines

# the verdicts' colours: red slower, green faster, grey noise
COLOURS = {"slower": "#c0392b", "more": "#c0392b", "faster": "#1e8449", "less": "#1e8449",
           "noise": "#8a939d", "same": "#8a939d", "new": "#4477aa", "gone": "#7d3c98"}
STYLE = """
table.pk td.v{text-align:left;font-weight:bold}
.dbar{width:160px;height:10px;position:relative;background:linear-gradient(90deg,#e9edf2 0 49.6%,
#b8c0c9 49.6% 50.4%,#e9edf2 50.4%);border-radius:2px}
.dbar>i{position:absolute;top:0;height:100%}
p.rule{margin-top:18px}
"""


def _fmt(v, div):
    return "&ndash;" if v is None else f"{v / div:.3f}"


def _pct(p):
    return percent_text(p, "&ndash;")


def _bar(change, widest, colour):
    """The change as a bar from the middle: its share of the widest."""
    if not widest or not change:
        return '<td><div class="dbar"></div></td>'
    half = 50.0 * abs(change) / widest
    left = 50.0 if change > 0 else 50.0 - half
    return (f'<td><div class="dbar"><i style="left:{left:.1f}%;width:{half:.1f}%;'
            f'background:{colour}"></i></div></td>')


def render(diff, limit=20):
    """The whole page, as text."""
    div, unit = scale(diff)
    name = "function" if diff.kind == "pstats" else "line"
    title = f"{diff.base_path} \u2192 {diff.new_path}"
    head = summary_lines(diff)
    out = ["<p>" + "<br>".join(esc(line) for line in head[1:]) + "</p>"]
    ranked = diff.ranked()
    shown = ranked if limit is None else ranked[:limit]
    widest = max((abs(r.change) for r in shown), default=0)
    out.append(f"<h2>{esc(diff.column.capitalize())} per {name}, the largest changes first</h2>")
    out.append(f'<table class="pk"><tr><th>base {unit}</th><th>new {unit}</th><th>change</th>'
               f'<th>%</th><th></th><th class="l">verdict</th>'
               f'<th>{"calls" if diff.kind == "pstats" else "count"}</th>'
               f'<th class="l">{name}</th></tr>')
    for r in shown:
        verdict = r.verdict(diff.memory)
        colour = COLOURS[verdict]
        counts = str(r.new_count) if r.base_count == r.new_count else f"{r.base_count} &rarr; {r.new_count}"
        out.append(f"<tr><td>{_fmt(r.base, div)}</td><td>{_fmt(r.new, div)}</td>"
                   f"<td>{r.change / div:+.3f}</td><td>{_pct(r.percent())}</td>"
                   f"{_bar(r.change, widest, colour)}"
                   f'<td class="v" style="color:{colour}">{verdict}</td><td>{counts}</td>'
                   f'<td class="l mono">{esc(r.label)}</td></tr>')
    out.append("</table>")
    if len(ranked) > len(shown):
        out.append(f'<p class="muted">&hellip; {len(ranked) - len(shown)} more (profkit diff --all '
                   f"shows every one)</p>")
    counted = diff.count_changes()
    what = {"pstats": "Calls", "lprof": "Hits", "linemem": "Occurrences"}[diff.kind]
    if counted:
        shown = counted if limit is None else counted[:limit]
        out.append(f"<h2>{what} (exact counts), the largest changes first</h2>")
        out.append(f'<table class="pk"><tr><th>base</th><th>new</th><th>change</th><th>%</th>'
                   f'<th class="l">{name}</th></tr>')
        for r in shown:
            out.append(f"<tr><td>{r.base_count}</td><td>{r.new_count}</td><td>{r.count_change:+d}</td>"
                       f"<td>{_pct(r.percent(r.base_count, r.new_count))}</td>"
                       f'<td class="l mono">{esc(r.label)}</td></tr>')
        out.append("</table>")
    else:
        out.append(f"<h2>{what}: the same in both runs</h2>")
    out += [f'<p class="note">{esc(note)}</p>' for note in diff.notes]
    out.append(f'<p class="rule muted">{esc(diff.noise_rule)}</p>')
    return page(f"diff: {title}", head[0], "\n".join(out), style=STYLE)
