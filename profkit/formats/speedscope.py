"""speedscope files (``profkit func -o x.speedscope.json``; the layout is in
report/speedscope.py): read back as a call tree, one thread per profile.
Sampled profiles give each sample's weight to its stack; evented profiles
give each open/close pair its time and count it as a call."""
import json
import os

from profkit.formats.source import read_text
from profkit.report.model import CallNode, CallTree, FunctionTable, ThreadTree

__all__ = ["load", "read"]

SCALE = {"nanoseconds": 1e-9, "microseconds": 1e-6, "milliseconds": 1e-3, "seconds": 1.0}


def _child(node, key):
    for c in node.children:
        if c.func == key:
            return c
    c = CallNode(key)
    node.children.append(c)
    return c


def _sampled(prof, keys, scale):
    root = CallNode(None)
    for stack, weight in zip(prof["samples"], prof["weights"]):
        node, seconds = root, weight * scale
        for i in stack:
            node = _child(node, keys[i])
            node.total += seconds
        node.inline += seconds
    return root


def _evented(prof, keys, scale):
    root = CallNode(None)
    open_ = [(root, prof.get("startValue", 0), 0.0)]  # (node, opened at, time in callees)
    for ev in prof["events"]:
        at = ev["at"]
        if ev["type"] == "O":
            open_.append((_child(open_[-1][0], keys[ev["frame"]]), at, 0.0))
        elif ev["type"] == "C" and len(open_) > 1:
            node, start, inner = open_.pop()
            spent = (at - start) * scale
            node.calls += 1
            node.total += spent
            node.inline += spent - inner
            parent, pstart, pinner = open_[-1]
            open_[-1] = (parent, pstart, pinner + spent)
    return root


def load(path, data=None):
    """The CallTree of a speedscope file; ValueError when it is not one."""
    try:
        doc = json.loads(read_text(path, data, "speedscope file"))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: not a speedscope file ({exc})") from None
    try:
        frames = doc["shared"]["frames"]
        keys = [(fr["file"], fr.get("line", 0), fr["name"]) if "file" in fr else ("~", 0, fr["name"])
                for fr in frames]
        threads = []
        for n, prof in enumerate(doc["profiles"]):
            scale = SCALE.get(prof.get("unit"), 1.0)
            if prof["type"] == "sampled":
                root = _sampled(prof, keys, scale)
            elif prof["type"] == "evented":
                root = _evented(prof, keys, scale)
            else:
                raise ValueError(f"{path}: unknown profile type {prof['type']!r}")
            root.total = sum(c.total for c in root.children)
            threads.append(ThreadTree(n, prof.get("name") or f"profile {n}", root))
    except (KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"{path}: not a speedscope file (missing {exc})") from None
    return CallTree(threads)


def read(path, data=None):
    """A speedscope file as a FunctionTable (with its tree)."""
    tree = load(path, data)
    return FunctionTable(tree.function_stats(), path=path, mtime=os.stat(path).st_mtime, tree=tree)
