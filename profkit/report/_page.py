"""The one look of profkit's HTML pages: the function report, the line and
memory reports (html.py) and ``profkit plot``'s page (svg.py) share this
header, font, palette and table style.

A page is one file that opens offline: its style and scripts are inside it
(hand-written, no third-party code), and so is its data, as JSON in a
``<script type="application/json" id="profkit-data">`` block that the page's
script reads and ``formats.html`` reads back (``profkit show report.html``).
"""
import html
import json

__all__ = ["page", "CSS", "esc", "DATA_ID"]

DATA_ID = "profkit-data"

# Fonts and colours: Helvetica/Arial as in the SVG plots; the first colour
# of the plots' palette (plot.PALETTE) is the accent.
CSS = """
:root{--ink:#1d2530;--muted:#5b6673;--line:#dde2e8;--accent:#4477aa;--band:#f4f6f9;
--head:#26303c;--warn:#fff4d6;--warn-line:#e8c65a}
*{box-sizing:border-box}
body{font-family:Helvetica,Arial,sans-serif;font-size:13px;color:var(--ink);margin:0;background:#fff}
header.pk{background:var(--head);color:#fff;padding:10px 24px 9px;display:flex;align-items:baseline;
gap:14px;flex-wrap:wrap}
header.pk .brand{font-weight:bold;letter-spacing:.5px;color:#9ec3e6}
header.pk h1{font-size:16px;margin:0;font-weight:normal}
header.pk .sub{color:#c5ced8;font-size:12px}
main.pk{padding:14px 24px 30px}
.note{background:var(--warn);border:1px solid var(--warn-line);padding:6px 10px;margin:0 0 10px;border-radius:3px}
table.pk{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.pk td,table.pk th{padding:3px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
table.pk th{background:var(--band);font-weight:bold;position:sticky;top:0}
table.pk td.l,table.pk th.l,table.names td:first-child,table.names th:first-child{text-align:left}
table.pk td.src{text-align:left;font-family:Menlo,Consolas,"DejaVu Sans Mono",monospace;white-space:pre;
color:#222}
table.pk tr.hot td{background:#fff8ef}
.bar{height:10px;background:#e9edf2;width:120px;border-radius:2px;overflow:hidden}
.bar>i{display:block;height:100%;background:#e8743b}
.mono{font-family:Menlo,Consolas,"DejaVu Sans Mono",monospace}
h2{font-size:14px;margin:22px 0 6px}
.muted{color:var(--muted)}
a{color:var(--accent)}
"""


def esc(text):
    """``text`` escaped for HTML (quotes too)."""
    return html.escape(str(text), quote=True)


def _json(data):
    # "</" cannot end the script block early once written as "<\/".
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def page(title, subtitle="", body="", style="", script="", data=None):
    """A whole page: the shared header (``title``, ``subtitle``), ``body``
    (HTML), extra ``style`` (CSS) and ``script`` (JS, run at the end of the
    body), and ``data`` (anything JSON takes) for the script and for
    reading the page back."""
    parts = ["<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
             "<meta name=\"generator\" content=\"profkit\">",
             f"<title>{esc(title)}</title>\n<style>{CSS}{style}</style></head>\n<body>\n",
             f"<header class=\"pk\"><span class=\"brand\">profkit</span><h1>{esc(title)}</h1>"
             f"<span class=\"sub\">{esc(subtitle)}</span></header>\n",
             f"<main class=\"pk\">\n{body}\n</main>\n"]
    if data is not None:
        parts.append(f"<script type=\"application/json\" id=\"{DATA_ID}\">{_json(data)}</script>\n")
    if script:
        parts.append(f"<script>{script}</script>\n")
    parts.append("</body></html>\n")
    return "".join(parts)
