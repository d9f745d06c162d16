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

__all__ = ["detect", "load", "read"]


def detect(path, head=None):
    """The kind of a saved profile, from its first bytes (``head``, else
    read from ``path``): ``"html"`` (a profkit report), ``"speedscope"``,
    ``"callgrind"``, ``"collapsed"`` (folded stacks), ``"linemem"`` (a JSON
    memory report), ``"lprof"`` (a pickle: a line profile) or ``"pstats"``
    (anything else, which the pstats reader then checks).  Raises OSError
    when the file cannot be read."""
    if head is None:
        from profkit.formats.source import read_input

        head = read_input(path)[:4096]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")  # JSON and HTML may open with a BOM or spaces
    if head[:1] == b"{":
        # JSON opens an object with "{" and then a quote, a space or "}"; a
        # marshalled dict may open with "{" too, then the type code of its
        # first key ("(" or ")" for a tuple) or "0" when it is empty.
        json = head[1:2] in (b'"', b" ", b"\n", b"\r", b"\t", b"}")
    else:  # after a BOM or white space it can only be JSON
        json = text[:1] == b"{"
    if json:
        return "speedscope" if b"speedscope.app/file-format-schema" in head else "linemem"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "lprof"
    start = text[:15].lower()
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


# What else a file may be when the reader of the kind ``detect`` guessed
# refuses it: a pickle of protocol 0 or 1 (old line_profiler files) has no
# header to tell it by, and reads as pstats first.
OTHERWISE = {"pstats": ("lprof",)}


def load(path):
    """(kind, table) of a saved profile: its bytes read once (a pipe cannot
    be read twice), through formats.source.read_input, which refuses what
    is not a regular file or a pipe and bounds the size; the kind as
    ``detect`` says, else the first of ``OTHERWISE`` whose reader takes
    it.  Raises OSError, or ValueError (the first reader's) when the file
    is not what it seems."""
    from profkit.formats.source import read_input

    data = read_input(path)
    kind = detect(path, data[:4096])
    try:
        return kind, _reader(kind)(path, data=data)
    except ValueError as exc:
        for other in OTHERWISE.get(kind, ()):
            try:
                return other, _reader(other)(path, data=data)
            except ValueError:
                pass
        raise exc from None


def _reader(kind):
    import importlib

    module, function = READERS[kind]
    return getattr(importlib.import_module("profkit.formats." + module), function)


def read(path, kind=None):
    """The table of a saved profile (a table of ``report.model``), of the
    ``kind`` given, or that ``detect`` says.  Raises as ``load``."""
    if kind is None:
        return load(path)[1]
    return _reader(kind)(path)
