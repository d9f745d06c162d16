"""Folded stacks (flamegraph.pl's input, ``profkit func -o x.collapsed``):
one line per path, ``frame;frame;frame VALUE``.  See report/collapsed.py
for what profkit writes; this reads any such file, frames named
``name (file:line)`` or plainly, values as integer nanoseconds.  The calls
are not in the file: they read as 0."""
import os
import re

from profkit.formats.source import read_text
from profkit.report.model import CallNode, CallTree, FunctionTable, ThreadTree

__all__ = ["load", "read", "frame_key"]

_FRAME = re.compile(r"^(.*) \((.*):(\d+)\)$")


def frame_key(frame):
    """The pstats key of a frame name: ``fib (app.py:9)`` -> ("app.py", 9,
    "fib"); any other name is a builtin's label."""
    m = _FRAME.match(frame)
    if m:
        return (m.group(2), int(m.group(3)), m.group(1))
    return ("~", 0, frame)


def load(path, data=None):
    """The CallTree of a folded-stacks file; ValueError when a line is not
    ``stack value``."""
    root = CallNode(None)
    for n, line in enumerate(read_text(path, data, "folded-stacks file").split("\n"), 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        stack, _, value = line.rpartition(" ")
        try:
            ns = int(value)
        except ValueError:
            raise ValueError(f"{path}:{n}: not a folded stack line: {line[:60]!r}") from None
        if not stack:
            raise ValueError(f"{path}:{n}: not a folded stack line: {line[:60]!r}")
        node, path_nodes = root, []
        for frame in stack.split(";"):
            key = frame_key(frame)
            for c in node.children:
                if c.func == key:
                    node = c
                    break
            else:
                c = CallNode(key)
                node.children.append(c)
                node = c
            path_nodes.append(node)
        node.inline += ns / 1e9
        for p in path_nodes:
            p.total += ns / 1e9
    root.total = sum(c.total for c in root.children)
    return CallTree([ThreadTree(None, "all threads", root)])


def read(path, data=None):
    """A folded-stacks file as a FunctionTable (with its tree)."""
    tree = load(path, data)
    return FunctionTable(tree.function_stats(), path=path, mtime=os.stat(path).st_mtime, tree=tree)
