"""The files profkit writes and reads: bytes into data, data into bytes.

One module per format, each described where it is written and again in
docs/formats.md:

* ``pstats_io``: pstats files (``profkit func -o``, cProfile, snakeviz);
* ``lprof``: line profiles (``profkit lines``, kernprof -l);
* ``linemem``: line-by-line memory reports (``profkit mem -o``), JSON;
* ``mprof``: memory over time (``profkit run``, mprof run), ``.dat`` lines;
* ``speedscope``, ``collapsed``, ``callgrind``: the call tree as other
  viewers read it, read back as a function table;
* ``html``: profkit's HTML reports, read back from their data block;
* ``atomic``: writing any of them through a temporary file and a rename.

A reader raises OSError when the file cannot be read and ValueError (or, for
``.dat`` files, ProfkitError) with a one-line reason when it is not the
format; nothing here prints or words its errors for one command.
"""

import re

__all__ = ["detect", "read"]


def detect(path):
    """The kind of a saved profile, from its first bytes: ``"html"`` (a
    profkit report), ``"speedscope"``, ``"callgrind"``, ``"collapsed"``
    (folded stacks), ``"linemem"`` (a JSON memory report), ``"lprof"`` (a
    pickle: a line profile) or ``"pstats"`` (anything else, which the
    pstats reader then checks).  Raises OSError when the file cannot be
    read."""
    with open(path, "rb") as f:
        head = f.read(4096)
    # JSON opens an object with "{" and then a quote, a space or "}"; a
    # marshalled dict may open with "{" too, then the type code of its
    # first key ("(" or ")" for a tuple) or "0" when it is empty.
    if head[:1] == b"{" and head[1:2] in (b'"', b" ", b"\n", b"\r", b"\t", b"}"):
        return "speedscope" if b"speedscope.app/file-format-schema" in head else "linemem"
    if head[:1] == b"\x80":
        return "lprof"
    start = head.lstrip()[:15].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if head.startswith(b"# callgrind format") or re.match(rb"(version|creator|events):", head):
        return "callgrind"
    first = head.split(b"\n", 1)[0]
    if b"\0" not in head and re.fullmatch(rb"[^\r]*\S \d+\r?", first):
        return "collapsed"
    return "pstats"


# kind -> (module, function) that gives the table of a file
READERS = {"pstats": ("pstats_io", "read"), "lprof": ("lprof", "load"),
           "linemem": ("linemem", "load"), "speedscope": ("speedscope", "read"),
           "collapsed": ("collapsed", "read"), "callgrind": ("callgrind", "read"),
           "html": ("html", "read")}


def read(path, kind=None):
    """The table of a saved profile (a table of ``report.model``), of the
    ``kind`` that ``detect`` says.  Raises OSError, or ValueError when the
    file is not what it seems."""
    import importlib

    module, function = READERS[kind or detect(path)]
    return getattr(importlib.import_module("profkit.formats." + module), function)(path)
