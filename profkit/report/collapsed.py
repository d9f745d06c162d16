"""Folded stacks, the input of flamegraph.pl, inferno and speedscope.

One line per path of the call tree whose own (inline) time is not zero::

    <module> (app.py:1);main (app.py:3);make_sparse (app.py:12) 843211

Frames run from the outermost call to the innermost, separated by ``;``,
each as ``report.model.func_label`` names it (a ``;`` inside a name becomes
``:``); the number is the path's inline time in integer nanoseconds.  The
threads are merged.  Written from the exact call tree when the profile kept
one, else from the tree guessed from pstats' caller edges.  Described again
in docs/formats.md.
"""
from profkit.report import emit
from profkit.report.model import func_label

__all__ = ["write", "lines", "frame_name"]


def frame_name(func):
    return func_label(func).replace(";", ":").replace("\n", " ")


def lines(tree):
    """The folded lines of a CallTree, depth first in the tree's order."""
    out = []
    stack = [(c, ()) for c in reversed(tree.merged().children)]
    while stack:
        node, above = stack.pop()
        path = above + (frame_name(node.func),)
        value = round(node.inline * 1e9)
        if value > 0:
            out.append(f"{';'.join(path)} {value}")
        stack.extend((c, path) for c in reversed(node.children))
    return out


def write(table, path=None, fmt=None, stream=None, **_options):
    """Write a FunctionTable's call tree as folded stacks."""
    text = "".join(line + "\n" for line in lines(table.call_tree()))
    emit(text, path, stream)
