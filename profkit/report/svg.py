"""The built-in SVG and HTML writer of ``profkit plot``: no dependencies.

Draws the same ``plot.Picture`` as the matplotlib writer: memory lines,
dashed children, shaded function calls (or flame bars with ``--flame``), and
the peak of each run.  HTML wraps the SVG in a page with a table of the
marked functions, in the look every profkit page shares (_page.py).
"""
import math
import sys
from xml.sax.saxutils import escape

W = 960
H_MAIN = 460
LEFT, RIGHT, TOP, BOTTOM = 72, 24, 44, 52
BAR = 18


def nice_ticks(hi, count=6):
    """Round tick values from 0 to at least ``hi``."""
    if hi <= 0:
        return [0.0, 1.0]
    raw = hi / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    ticks = []
    v = 0.0
    while v < hi + step * 0.5:
        ticks.append(round(v, 10))
        if v >= hi:
            break
        v += step
    return ticks


def _fmt(v):
    return f"{v:g}" if abs(v) < 1e6 else f"{v:.3g}"


def write(model, path=None, fmt="svg", stream=None, **_options):
    """Write the picture as SVG, or as an HTML page (``fmt`` html or htm),
    to ``path`` (atomically) or else ``stream``."""
    text = render(model, html=fmt != "svg")
    if path is None:
        (stream or sys.stdout).write(text)
        return
    from profkit.formats.atomic import write_atomic

    write_atomic(path, text.encode("utf-8"))


def render(model, html=False):
    levels = max((sp.level for sp in model.spans), default=0) if model.flame else 0
    flame_h = (levels * (BAR + 2) + 34) if levels else 0
    height = H_MAIN + flame_h
    pw = W - LEFT - RIGHT
    ph = H_MAIN - TOP - BOTTOM
    xt = nice_ticks(model.xmax or 1.0)
    yt = nice_ticks((model.ymax or 1.0) * 1.08)
    xmax, ymax = xt[-1], yt[-1]

    def X(x):
        return LEFT + pw * (x / xmax)

    def Y(y):
        return TOP + ph * (1 - y / ymax)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
           f'viewBox="0 0 {W} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{W}" height="{height}" fill="white"/>',
           f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="15">{escape(model.title)}</text>',
           '<clipPath id="plot"><rect x="%d" y="%d" width="%d" height="%d"/></clipPath>'
           % (LEFT, TOP, pw, ph)]
    # grid and ticks
    for v in yt:
        y = Y(v)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#e6e6e6"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
    for v in xt:
        x = X(v)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + ph}" stroke="#e6e6e6"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + ph + 16}" text-anchor="middle">{_fmt(v)}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{TOP + ph + 38}" text-anchor="middle">time (s)</text>')
    out.append(f'<text transform="translate(18,{TOP + ph / 2}) rotate(-90)" text-anchor="middle">'
               f'memory used (MiB)</text>')
    # function calls as shaded bands
    legend = []
    if not model.flame:
        seen = set()
        for sp in model.spans:
            x0, x1 = X(sp.x0), X(sp.x1)
            out.append(f'<rect clip-path="url(#plot)" x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 1):.1f}" '
                       f'height="{ph}" fill="{sp.color}" fill-opacity="0.18">'
                       f'<title>{escape(sp.name)}: {sp.x1 - sp.x0:.3f} s, {sp.y0:.1f} to {sp.y1:.1f} MiB'
                       f'</title></rect>')
            if sp.name not in seen:
                seen.add(sp.name)
                legend.append((sp.name, sp.color, "band"))
    # memory lines
    for s in model.series:
        pts = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in zip(s.xs, s.ys))
        dash = ' stroke-dasharray="6,4"' if s.dashed else ""
        out.append(f'<polyline clip-path="url(#plot)" points="{pts}" fill="none" stroke="{s.color}" '
                   f'stroke-width="1.6"{dash}/>')
        legend.append((s.label, s.color, "dash" if s.dashed else "line"))
    # peaks
    for x, y, color in model.peaks:
        px, py = X(x), Y(y)
        out.append(f'<path d="M{px - 5:.1f},{py - 10:.1f} L{px + 5:.1f},{py - 10:.1f} L{px:.1f},{py - 2:.1f} Z" '
                   f'fill="{color}"/>')
        anchor = "end" if px > LEFT + pw * 0.8 else "start"
        dx = -8 if anchor == "end" else 8
        out.append(f'<text x="{px + dx:.1f}" y="{py - 12:.1f}" text-anchor="{anchor}" fill="{color}">'
                   f'peak {y:.1f} MiB</text>')
    # legend
    ly = TOP + 10
    for label, color, kind in legend[:14]:
        if kind == "band":
            out.append(f'<rect x="{LEFT + 10}" y="{ly - 8}" width="22" height="10" fill="{color}" '
                       f'fill-opacity="0.35"/>')
        else:
            dash = ' stroke-dasharray="5,3"' if kind == "dash" else ""
            out.append(f'<line x1="{LEFT + 10}" y1="{ly - 3}" x2="{LEFT + 32}" y2="{ly - 3}" '
                       f'stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{LEFT + 38}" y="{ly + 1}">{escape(label)}</text>')
        ly += 16
    # flame bars
    if levels:
        top = H_MAIN
        out.append(f'<text x="{LEFT}" y="{top + 4}" fill="#444">marked calls by nesting level</text>')
        for sp in model.spans:
            x0, x1 = X(sp.x0), X(sp.x1)
            y = top + 12 + (sp.level - 1) * (BAR + 2)
            w = max(x1 - x0, 1)
            out.append(f'<rect x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{BAR}" fill="{sp.color}" '
                       f'stroke="white"><title>{escape(sp.name)}: {sp.x1 - sp.x0:.3f} s</title></rect>')
            if w > 7 * len(sp.name):
                out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{y + 13}" text-anchor="middle">'
                           f'{escape(sp.name)}</text>')
    out.append("</svg>")
    svg = "\n".join(out) + "\n"
    if not html:
        return svg
    rows = _function_rows(model)
    table = ""
    if rows:
        cells = "\n".join(f"<tr><td>{escape(n)}</td><td>{c}</td><td>{t:.3f}</td>"
                          f"<td>{m:.1f}</td></tr>" for n, c, t, m in rows)
        table = ("<h2>Marked functions</h2><table class=\"pk names\"><tr><th>function</th>"
                 "<th>calls</th><th>total time (s)</th><th>highest memory (MiB)</th></tr>\n"
                 + cells + "\n</table>")
    from profkit.report._page import page

    # the shared look of profkit's pages (report/_page.py)
    return page(model.title, "memory over time", svg + table)


def _function_rows(model):
    stats = {}
    for sp in model.spans:
        calls, total, high = stats.get(sp.name, (0, 0.0, 0.0))
        stats[sp.name] = (calls + 1, total + (sp.x1 - sp.x0), max(high, sp.y0, sp.y1))
    return [(n, c, t, m) for n, (c, t, m) in stats.items()]
