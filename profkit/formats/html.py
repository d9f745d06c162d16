"""profkit's HTML reports, read back from the JSON data block each one
carries (see report/html.py and docs/formats.md): a function report gives
its pstats table and call tree, a line or memory report its table."""
import json
import os
import re

from profkit.formats.source import read_text
from profkit.report.model import (CallNode, CallTree, FunctionMemory, FunctionTable, LineTable,
                                  MemoryTable, ThreadTree)

__all__ = ["load", "read"]

_BLOCK = re.compile(r'<script type="application/json" id="profkit-data">(.*?)</script>', re.S)


def load(path, data=None):
    """The data block of a report (a dict); ValueError when the page has
    none."""
    m = _BLOCK.search(read_text(path, data, "profkit report"))
    if m is None:
        raise ValueError(f"{path}: not a profkit report (no profkit-data block)")
    try:
        data = json.loads(m.group(1))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: its data block is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != "profkit-html":
        raise ValueError(f"{path}: not a profkit report")
    return data


def _tree(data, funcs):
    threads = []
    for n, t in enumerate(data["threads"]):
        nodes, folded = [], set(t.get("folded", ()))
        for i, (parent, f) in enumerate(zip(t["parent"], t["func"])):
            node = CallNode(None if f < 0 else funcs[f], t["calls"][i], 0, t["inline"][i],
                            t["total"][i], folded=i in folded)
            nodes.append(node)
            if parent >= 0:
                nodes[parent].children.append(node)
        threads.append(ThreadTree(n, t["name"], nodes[0] if nodes else CallNode(None)))
    return CallTree(threads, exact=data.get("exact", True), depth_cap=data.get("depth_cap"))


def read(path, data=None):
    """The table a report shows: FunctionTable (with the call tree when the
    page drew a measured one), LineTable or MemoryTable."""
    data = load(path, data)
    kind = data.get("kind")
    mtime = os.stat(path).st_mtime
    try:
        if kind == "functions":
            funcs = [tuple(f[:3]) for f in data["funcs"]]
            stats = {k: (f[3], f[4], f[5], f[6], {}) for k, f in zip(funcs, data["funcs"])}
            for caller, callee, nc, cc, tt, ct in data["edges"]:
                stats[funcs[callee]][4][funcs[caller]] = (nc, cc, tt, ct)
            tree = _tree(data, funcs) if data.get("exact") else None
            return FunctionTable(stats, path=path, mtime=mtime, tree=tree)
        if kind == "lines":
            timings = {(f, line, name): [tuple(r) for r in rows]
                       for f, line, name, rows in data["functions"]}
            return LineTable(timings, data["unit"])
        if kind == "memory":
            functions = [FunctionMemory(f["filename"], f["first_line"], f["name"], f["last_line"],
                                        {r[0]: list(r[1:]) for r in f["lines"]}, f.get("caller"))
                         for f in data["functions"]]
            return MemoryTable(functions, data["backend"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"{path}: a damaged profkit report ({exc})") from None
    raise ValueError(f"{path}: a profkit report of unknown kind {kind!r}")
