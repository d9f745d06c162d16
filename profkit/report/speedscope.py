"""speedscope's JSON file format (https://www.speedscope.app), the
``sampled`` kind: one profile per thread.

    {"$schema": "https://www.speedscope.app/file-format-schema.json",
     "exporter": "profkit 0.1.0", "name": ..., "activeProfileIndex": 0,
     "shared": {"frames": [{"name": "fib", "file": "/app/fib.py", "line": 9}, ...]},
     "profiles": [{"type": "sampled", "name": "MainThread", "unit": "nanoseconds",
                   "startValue": 0, "endValue": <sum of weights>,
                   "samples": [[0, 3, 4], ...], "weights": [843211, ...]}, ...]}

Each node of the call tree whose inline time is not zero is one sample: its
stack (indices into ``frames``, outermost first) weighted by that inline
time in integer nanoseconds, in the tree's depth-first order, so that
speedscope's views (left heavy, sandwich) show the measured tree exactly.
Builtins are frames without a file.  The schema is speedscope's
src/lib/file-format-spec.ts; described again in docs/formats.md.
"""
import json

from profkit.report import emit

__all__ = ["SCHEMA", "document", "write"]

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def document(tree, name="profkit"):
    """The speedscope document (a dict) of a CallTree."""
    from profkit import __version__

    frames, index = [], {}

    def frame(func):
        i = index.get(func)
        if i is None:
            filename, line, fname = func
            f = {"name": fname}
            if not (filename == "~" and line == 0):
                f["file"] = filename
                f["line"] = line
            i = index[func] = len(frames)
            frames.append(f)
        return i

    profiles = []
    for t in tree.threads:
        samples, weights = [], []
        stack = [(c, ()) for c in reversed(t.root.children)]
        while stack:
            node, above = stack.pop()
            path = above + (frame(node.func),)
            value = round(node.inline * 1e9)
            if value > 0:
                samples.append(list(path))
                weights.append(value)
            stack.extend((c, path) for c in reversed(node.children))
        profiles.append({"type": "sampled", "name": t.name, "unit": "nanoseconds",
                         "startValue": 0, "endValue": sum(weights),
                         "samples": samples, "weights": weights})
    return {"$schema": SCHEMA, "exporter": f"profkit {__version__}", "name": name,
            "activeProfileIndex": 0, "shared": {"frames": frames}, "profiles": profiles}


def write(table, path=None, fmt=None, stream=None, name=None, **_options):
    """Write a FunctionTable's call tree as a speedscope file."""
    doc = document(table.call_tree(), name=name or "profkit")
    emit(json.dumps(doc, separators=(",", ":")) + "\n", path, stream)
