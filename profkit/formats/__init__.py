"""The files profkit writes and reads: bytes into data, data into bytes.

One module per format, each described where it is written and again in
docs/formats.md:

* ``pstats_io``: pstats files (``profkit func -o``, cProfile, snakeviz);
* ``lprof``: line profiles (``profkit lines``, kernprof -l);
* ``linemem``: line-by-line memory reports (``profkit mem -o``), JSON;
* ``mprof``: memory over time (``profkit run``, mprof run), ``.dat`` lines;
* ``atomic``: writing any of them through a temporary file and a rename.

A reader raises OSError when the file cannot be read and ValueError (or, for
``.dat`` files, ProfkitError) with a one-line reason when it is not the
format; nothing here prints or words its errors for one command.
"""

__all__ = ["detect"]


def detect(path):
    """The kind of a saved profile, from its first bytes: ``"linemem"`` (a
    JSON memory report), ``"lprof"`` (a pickle: a line profile) or
    ``"pstats"`` (anything else, which the pstats reader then checks).
    Raises OSError when the file cannot be read."""
    with open(path, "rb") as f:
        head = f.read(2)
    # JSON opens an object with "{" and then a quote, a space or "}"; a
    # marshalled dict may open with "{" too, then the type code of its
    # first key ("(" or ")" for a tuple) or "0" when it is empty.
    if head[:1] == b"{" and head[1:2] in (b'"', b" ", b"\n", b"\r", b"\t", b"}"):
        return "linemem"
    if head[:1] == b"\x80":
        return "lprof"
    return "pstats"
