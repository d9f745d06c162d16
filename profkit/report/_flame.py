"""The script and style of the function report (html.py): a flame graph of
the call tree drawn on a canvas (click to zoom, search by name), the
function table sortable by every cProfile sort key, and a function's
callers and callees.  Hand-written, no library.

It reads the page's data block (see html.function_data).  Nodes narrower
than half a pixel are not laid out one by one: each run of them becomes one
grey block ("N smaller calls"), so a tree of 100,000 nodes draws in a few
milliseconds.  ``window.profkit`` exposes what is on screen (the frames
drawn, the zoom, the matches, the table's rows) for the browser tests.
"""

STYLE = """
.toolbar{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:0 0 8px}
.toolbar input[type=search]{width:260px;padding:4px 6px;font:inherit}
.toolbar select,.toolbar button,.tablebar select{font:inherit;padding:2px 6px}
#flame-wrap{position:relative;border:1px solid var(--line);border-radius:3px;overflow-x:hidden;
overflow-y:auto;max-height:62vh}
#flame{display:block;width:100%;cursor:pointer}
#tip{position:absolute;display:none;pointer-events:none;background:#fff;border:1px solid #9aa6b2;
padding:5px 8px;border-radius:3px;box-shadow:0 2px 6px rgba(0,0,0,.15);max-width:520px;font-size:12px;z-index:2}
.cols{display:flex;gap:24px;margin-top:16px;align-items:flex-start}
.cols>.left{flex:1 1 auto;min-width:0;overflow-x:auto}
.cols>.right{flex:0 0 400px;position:sticky;top:8px}
.tablebar{margin:0 0 6px;display:flex;gap:10px;align-items:center}
#functions th{cursor:pointer;user-select:none}
#functions th.on{color:var(--accent)}
#functions tbody tr{cursor:pointer}
#functions tbody tr:hover td{background:#f2f6fb}
#functions tbody tr.sel td{background:#e3eefa}
#details table{width:100%}
#details td.l{max-width:230px;overflow:hidden;text-overflow:ellipsis}
#details h3{font-size:13px;margin:14px 0 4px}
#details .fn{font-weight:bold;word-break:break-all}
#more{margin-top:6px;font:inherit}
"""

SCRIPT = r"""
(function () {
"use strict";
var started = performance.now();
var D = JSON.parse(document.getElementById("profkit-data").textContent);
var FN = D.funcs, NF = FN.length, ROW = 18, MIN = 0.5, LIMIT = 300;
var $ = function (id) { return document.getElementById(id); };
function builtin(i) { return FN[i][0] === "~" && FN[i][1] === 0; }
function label(i) { var f = FN[i]; return builtin(i) ? f[2] : f[2] + " (" + f[0] + ":" + f[1] + ")"; }
function stdname(i) { var f = FN[i]; return f[0] + ":" + f[1] + "(" + f[2] + ")"; }
function esc(s) {
  return String(s).replace(/[&<>"]/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; });
}
function sec(v) { return v >= 100 ? v.toFixed(1) : v >= 0.001 || v === 0 ? v.toFixed(3) : v.toExponential(2); }
function pct(v, of) { return of > 0 ? (100 * v / of).toFixed(1) + "%" : "-"; }

// ---- the trees: arrays per node; children as slices of `kids` ------------------
function build(t) {
  var n = t.parent.length, first = new Int32Array(n + 1), kids = new Int32Array(Math.max(n - 1, 0));
  var depth = new Int32Array(n), folded = new Uint8Array(n), i;
  for (i = 1; i < n; i++) first[t.parent[i] + 1]++;
  for (i = 0; i < n; i++) first[i + 1] += first[i];
  var fill = first.slice(0, n);
  for (i = 1; i < n; i++) { kids[fill[t.parent[i]]++] = i; depth[i] = depth[t.parent[i]] + 1; }
  (t.folded || []).forEach(function (j) { folded[j] = 1; });
  return {n: n, name: t.name, parent: t.parent, func: t.func, calls: t.calls, inline: t.inline,
          total: t.total, first: first, kids: kids, depth: depth, folded: folded};
}
function merge(trees) {
  var m = {parent: [-1], func: [-1], calls: [0], inline: [0], total: [0], folded: [], name: "all threads"};
  var key = new Map();
  trees.forEach(function (T) {
    var map = new Int32Array(T.n);
    m.total[0] += T.total[0];
    for (var i = 1; i < T.n; i++) {
      var p = map[T.parent[i]], k = p * (NF + 1) + T.func[i], j = key.get(k);
      if (j === undefined) {
        j = m.parent.length; key.set(k, j);
        m.parent.push(p); m.func.push(T.func[i]); m.calls.push(0); m.inline.push(0); m.total.push(0);
        if (T.folded[i]) m.folded.push(j);
      }
      map[i] = j; m.calls[j] += T.calls[i]; m.inline[j] += T.inline[i]; m.total[j] += T.total[i];
    }
  });
  return build(m);
}
var TREES = D.threads.map(build);
var VIEWS = TREES.length > 1 ? [merge(TREES)].concat(TREES) : TREES;

// ---- state -------------------------------------------------------------------
var S = {view: 0, T: VIEWS[0], zoom: 0, query: "", match: null, sel: -1, frames: [],
         sort: D.sort || "cumulative", reverse: false, limit: LIMIT, matchInfo: {count: 0, fraction: 0}};

// ---- the flame graph -----------------------------------------------------------
var canvas = $("flame"), ctx = canvas.getContext("2d"), tip = $("tip");
function hash(s) { var h = 2166136261; for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); } return h >>> 0; }
var colours = [];
function colour(fi) {
  if (colours[fi] === undefined) {
    var h = hash(FN[fi][2] + FN[fi][0]);
    colours[fi] = builtin(fi) ? "hsl(" + (195 + h % 30) + ",30%," + (68 + (h >> 8) % 10) + "%)"
                              : "hsl(" + (8 + h % 42) + "," + (70 + (h >> 8) % 20) + "%," + (58 + (h >> 16) % 12) + "%)";
  }
  return colours[fi];
}
function layout() {
  var T = S.T, W = canvas.parentNode.clientWidth, frames = [], path = [], a;
  for (a = S.zoom; a > 0; a = T.parent[a]) path.unshift(a);
  path.unshift(0);
  path.forEach(function (v, row) { if (v !== S.zoom) frames.push({node: v, x: 0, w: W, row: row, above: true}); });
  var stack = [[S.zoom, 0, W, path.length - 1]];
  while (stack.length) {
    var it = stack.pop(), v = it[0], x = it[1], w = it[2], row = it[3];
    frames.push({node: v, x: x, w: w, row: row});
    var lo = T.first[v], hi = T.first[v + 1], sum = 0, j;
    if (lo === hi) continue;
    for (j = lo; j < hi; j++) sum += T.total[T.kids[j]];
    var scale = w / Math.max(T.total[v], sum, 1e-300), cx = x, sx = 0, sw = 0, sn = 0;
    for (j = lo; j <= hi; j++) {
      var c = j < hi ? T.kids[j] : -1, cw = c >= 0 ? T.total[c] * scale : 0;
      if (c >= 0 && cw < MIN) { if (!sn) sx = cx; sw += cw; sn++; cx += cw; continue; }
      if (sn && sw >= 1) frames.push({node: v, small: sn, x: sx, w: sw, row: row + 1});
      sn = 0; sw = 0;
      if (c >= 0) { stack.push([c, cx, cw, row + 1]); cx += cw; }
    }
  }
  return frames;
}
function draw() {
  var T = S.T, frames = layout(), rows = 1, dpr = window.devicePixelRatio || 1;
  frames.forEach(function (f) { rows = Math.max(rows, f.row + 1); });
  var W = canvas.parentNode.clientWidth, H = rows * ROW + 2;
  canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
  canvas.style.height = H + "px";
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px Helvetica, Arial, sans-serif";
  ctx.textBaseline = "middle";
  frames.forEach(function (f) {
    var y = f.row * ROW, fi = f.small ? -1 : T.func[f.node], fill, ink = "#1d2530";
    if (f.small) fill = "#c9ced6";
    else if (f.node === 0) fill = "#b7c3d0";
    else if (S.match && !S.match[fi]) { fill = "#e4e7eb"; ink = "#8a939d"; }
    else if (S.match) fill = "#d65db1";
    else fill = colour(fi);
    ctx.globalAlpha = f.above ? 0.55 : 1;
    ctx.fillStyle = fill;
    ctx.fillRect(f.x, y, Math.max(f.w - (f.w > 3 ? 1 : 0), 0.5), ROW - 1);
    if (fi >= 0 && fi === S.sel) {
      ctx.strokeStyle = "#1d2530"; ctx.lineWidth = 2;
      ctx.strokeRect(f.x + 1, y + 1, Math.max(f.w - 3, 1), ROW - 3);
    }
    if (f.w > 28) {
      var text = f.small ? "" : f.node === 0 ? T.name + " (" + sec(T.total[0]) + " s)" : FN[fi][2];
      if (T.folded[f.node]) text = "\u22ef " + text;
      var fit = Math.floor((f.w - 6) / 6.2);
      if (text.length > fit) text = fit > 2 ? text.slice(0, fit - 1) + "\u2026" : "";
      ctx.fillStyle = ink;
      ctx.fillText(text, f.x + 3, y + ROW / 2);
    }
  });
  ctx.globalAlpha = 1;
  S.frames = frames;
}
function frameAt(x, y) {
  var row = Math.floor(y / ROW);
  for (var i = S.frames.length - 1; i >= 0; i--) {
    var f = S.frames[i];
    if (f.row === row && x >= f.x && x < f.x + f.w) return f;
  }
  return null;
}
function describe(f) {
  var T = S.T, all = T.total[0];
  if (f.small) return f.small + " smaller calls, too narrow to draw: click to zoom in";
  if (f.node === 0) return esc(T.name) + ": " + sec(all) + " s; click to see the whole tree";
  var v = f.node, fi = T.func[v];
  return "<b>" + esc(FN[fi][2]) + "</b> <span class=muted>" + esc(builtin(fi) ? "built-in" : FN[fi][0] + ":" + FN[fi][1]) +
    "</span><br>" + T.calls[v] + " calls on this path \u00b7 total " + sec(T.total[v]) + " s (" + pct(T.total[v], all) +
    ") \u00b7 own " + sec(T.inline[v]) + " s (" + pct(T.inline[v], all) + ")" +
    (T.folded[v] ? "<br>calls deeper than " + D.depth_cap + " levels, folded here" : "");
}
canvas.addEventListener("mousemove", function (e) {
  var f = frameAt(e.offsetX, e.offsetY);
  if (!f) { tip.style.display = "none"; return; }
  tip.innerHTML = describe(f);
  tip.style.display = "block";
  var wrap = canvas.parentNode.clientWidth, left = e.offsetX + 14;
  if (left + tip.offsetWidth > wrap) left = Math.max(0, e.offsetX - tip.offsetWidth - 14);
  tip.style.left = left + "px"; tip.style.top = (e.offsetY + 16) + "px";
});
canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
canvas.addEventListener("click", function (e) {
  var f = frameAt(e.offsetX, e.offsetY);
  if (!f) return;
  var v = f.node;
  if (!f.small && v === S.zoom && v !== 0) v = S.T.parent[v];
  S.zoom = v;
  if (!f.small && f.node !== 0) select(S.T.func[f.node], true);
  draw();
});
$("reset").addEventListener("click", function () { S.zoom = 0; draw(); });

// ---- search --------------------------------------------------------------------
function search(q) {
  S.query = q.trim().toLowerCase();
  S.match = null;
  if (S.query) {
    S.match = new Uint8Array(NF);
    for (var i = 0; i < NF; i++)
      if ((FN[i][2] + " " + FN[i][0]).toLowerCase().indexOf(S.query) >= 0) S.match[i] = 1;
  }
  var T = S.T, count = 0, time = 0;
  if (S.match) {
    for (var i2 = 0; i2 < NF; i2++) count += S.match[i2];
    var stack = [0];  // the outermost matching nodes' totals
    while (stack.length) {
      var v = stack.pop();
      if (v && S.match[T.func[v]]) { time += T.total[v]; continue; }
      for (var j = T.first[v]; j < T.first[v + 1]; j++) stack.push(T.kids[j]);
    }
  }
  S.matchInfo = {count: count, fraction: T.total[0] > 0 ? time / T.total[0] : 0};
  $("match").textContent = S.match ? count + (count === 1 ? " function matches" : " functions match") +
    ", " + (100 * S.matchInfo.fraction).toFixed(1) + "% of the time" : "";
  S.limit = LIMIT;
  draw(); table();
}
$("search").addEventListener("input", function (e) { search(e.target.value); });

// ---- the function table ----------------------------------------------------------
var COLS = [
  {h: "ncalls", key: "calls", v: function (i) { return FN[i][4]; },
   f: function (i) { return FN[i][4] === FN[i][3] ? "" + FN[i][4] : FN[i][4] + "/" + FN[i][3]; }},
  {h: "pcalls", key: "pcalls", v: function (i) { return FN[i][3]; }},
  {h: "tottime", key: "tottime", v: function (i) { return FN[i][5]; }, f: function (i) { return sec(FN[i][5]); }},
  {h: "percall", v: function (i) { return FN[i][4] ? FN[i][5] / FN[i][4] : 0; },
   f: function (i) { return FN[i][4] ? sec(FN[i][5] / FN[i][4]) : ""; }},
  {h: "cumtime", key: "cumulative", v: function (i) { return FN[i][6]; }, f: function (i) { return sec(FN[i][6]); }},
  {h: "percall", v: function (i) { return FN[i][3] ? FN[i][6] / FN[i][3] : 0; },
   f: function (i) { return FN[i][3] ? sec(FN[i][6] / FN[i][3]) : ""; }},
  {h: "function", key: "name", l: true, v: function (i) { return FN[i][2]; }},
  {h: "file:line", key: "filename", l: true, v: function (i) { return FN[i][0]; },
   f: function (i) { return builtin(i) ? "built-in" : FN[i][0].split("/").pop() + ":" + FN[i][1]; },
   t: function (i) { return builtin(i) ? "" : FN[i][0] + ":" + FN[i][1]; }}
];
// pstats.Stats.sort_arg_dict_default: each key's fields and directions (-1: largest first)
var KEYS = {calls: [[4, -1]], cumtime: [[6, -1]], cumulative: [[6, -1]], filename: [[0, 1]],
  line: [[1, 1]], module: [[0, 1]], name: [[2, 1]], ncalls: [[4, -1]], nfl: [[2, 1], [0, 1], [1, 1]],
  pcalls: [[3, -1]], stdname: [["std", 1]], time: [[5, -1]], tottime: [[5, -1]]};
var SAME = {cumtime: "cumulative", module: "filename", time: "tottime", ncalls: "calls"};
function sortedRows() {
  var rows = [], i, spec = KEYS[S.sort] || KEYS.cumulative, rev = S.reverse ? -1 : 1;
  for (i = 0; i < NF; i++) if (!S.match || S.match[i]) rows.push(i);
  rows.sort(function (a, b) {
    for (var k = 0; k < spec.length; k++) {
      var fld = spec[k][0], x = fld === "std" ? stdname(a) : FN[a][fld], y = fld === "std" ? stdname(b) : FN[b][fld];
      if (x < y) return -spec[k][1] * rev;
      if (x > y) return spec[k][1] * rev;
    }
    return a - b;
  });
  return rows;
}
function table() {
  var key = SAME[S.sort] || S.sort;
  $("functions").tHead.innerHTML = "<tr>" + COLS.map(function (c, k) {
    return "<th data-col=" + k + " class='" + (c.l ? "l " : "") + (c.key && c.key === key ? "on" : "") + "'>" +
      c.h + (c.key === key ? (S.reverse ? " \u25b4" : " \u25be") : "") + "</th>"; }).join("") + "</tr>";
  var rows = sortedRows(), shown = rows.slice(0, S.limit), html = [];
  shown.forEach(function (i) {
    html.push("<tr data-f=" + i + (i === S.sel ? " class=sel" : "") + ">" + COLS.map(function (c) {
      return "<td" + (c.l ? " class=l" : "") + (c.t ? " title='" + esc(c.t(i)) + "'" : "") + ">" +
        esc(c.f ? c.f(i) : c.v(i)) + "</td>"; }).join("") + "</tr>");
  });
  $("functions").tBodies[0].innerHTML = html.join("");
  $("count").textContent = rows.length + (rows.length === 1 ? " function" : " functions");
  $("more").style.display = rows.length > shown.length ? "" : "none";
  $("more").textContent = "Show all " + rows.length;
  $("sort").value = S.sort;
}
$("functions").tHead.addEventListener("click", function (e) {
  var th = e.target.closest("th"), c = th && COLS[+th.dataset.col];
  if (!c || !c.key) return;
  if ((SAME[S.sort] || S.sort) === c.key) S.reverse = !S.reverse; else { S.sort = c.key; S.reverse = false; }
  table();
});
$("functions").tBodies[0].addEventListener("click", function (e) {
  var tr = e.target.closest("tr");
  if (tr) select(+tr.dataset.f, false);
});
$("sort").innerHTML = Object.keys(KEYS).map(function (k) { return "<option>" + k + "</option>"; }).join("");
$("sort").addEventListener("change", function (e) { S.sort = e.target.value; S.reverse = false; table(); });
$("more").addEventListener("click", function () { S.limit = Infinity; table(); });

// ---- callers and callees -----------------------------------------------------------
var CALLERS = [], CALLEES = [];
for (var i0 = 0; i0 < NF; i0++) { CALLERS.push([]); CALLEES.push([]); }
D.edges.forEach(function (e) { CALLERS[e[1]].push(e); CALLEES[e[0]].push(e); });
function edgeTable(title, edges, end) {
  if (!edges.length) return "<h3>" + title + "</h3><p class=muted>none</p>";
  edges = edges.slice().sort(function (a, b) { return b[5] - a[5]; });
  return "<h3>" + title + "</h3><table class=pk><tr><th class=l>function</th><th>calls</th><th>tottime</th>" +
    "<th>cumtime</th></tr>" + edges.map(function (e) {
      var f = e[end];
      return "<tr data-f=" + f + "><td class=l title='" + esc(label(f)) + "'><a href='#'>" + esc(FN[f][2]) + "</a></td><td>" +
        (e[2] === e[3] ? e[2] : e[2] + "/" + e[3]) + "</td><td>" + sec(e[4]) + "</td><td>" + sec(e[5]) + "</td></tr>";
    }).join("") + "</table>";
}
function select(fi, fromFlame) {
  S.sel = fi;
  var f = FN[fi];
  $("details").innerHTML = "<div class=fn>" + esc(f[2]) + "</div><div class=muted>" +
    esc(builtin(fi) ? "built-in" : f[0] + ":" + f[1]) + "</div><p>" + (f[4] === f[3] ? f[4] : f[4] + "/" + f[3]) +
    " calls \u00b7 tottime " + sec(f[5]) + " s \u00b7 cumtime " + sec(f[6]) + " s</p>" +
    edgeTable("Called by", CALLERS[fi], 0) + edgeTable("Calls", CALLEES[fi], 1);
  if (!fromFlame) draw();
  table();
}
$("details").addEventListener("click", function (e) {
  var tr = e.target.closest("tr[data-f]");
  if (tr) { e.preventDefault(); select(+tr.dataset.f, false); }
});

// ---- threads, start-up -------------------------------------------------------------
$("thread").innerHTML = VIEWS.map(function (T, k) { return "<option value=" + k + ">" + esc(T.name) + "</option>"; }).join("");
$("thread").parentNode.style.display = VIEWS.length > 1 ? "" : "none";
$("thread").addEventListener("change", function (e) {
  S.view = +e.target.value; S.T = VIEWS[S.view]; S.zoom = 0; search($("search").value);
});
window.addEventListener("resize", draw);
var params = new URLSearchParams(location.hash.slice(1));
if (params.get("sort") && KEYS[params.get("sort")]) S.sort = params.get("sort");
if (params.get("search")) $("search").value = params.get("search");
search($("search").value);
if (params.get("select")) {
  for (var k0 = 0; k0 < NF; k0++) if (FN[k0][2] === params.get("select")) { select(k0, false); break; }
}
window.profkit = {
  ready: true,
  loadMs: performance.now() - started,
  nodes: S.T.n,
  frames: function () {
    return S.frames.map(function (f) {
      return {name: f.small ? "" : f.node === 0 ? S.T.name : FN[S.T.func[f.node]][2], small: f.small || 0,
              x: f.x, y: f.row * ROW, w: f.w, h: ROW, above: !!f.above, folded: !!S.T.folded[f.node]};
    });
  },
  zoomed: function () { return S.zoom === 0 ? null : FN[S.T.func[S.zoom]][2]; },
  matches: function () { return S.matchInfo; },
  sortKey: function () { return S.sort + (S.reverse ? " reversed" : ""); },
  selected: function () { return S.sel < 0 ? null : FN[S.sel][2]; },
  rows: function () {
    return Array.prototype.map.call($("functions").tBodies[0].rows, function (tr) {
      return Array.prototype.map.call(tr.cells, function (td) { return td.textContent; }); });
  }
};
window.profkit.readyAt = performance.now();
// With #frames in the address, the frames drawn are also written into the
// page, for a headless browser's --dump-dom (make demo reads them there).
if (params.has("frames")) {
  var pre = document.createElement("pre");
  pre.id = "pk-frames"; pre.hidden = true;
  pre.textContent = JSON.stringify({width: canvas.parentNode.clientWidth, frames: window.profkit.frames()});
  document.body.appendChild(pre);
}
})();
"""
