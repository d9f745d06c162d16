"""Outputs: one module per format, all reading the tables of ``model.py``.

``write`` is the one way out: the command line ends in it, and so do the
profilers' ``print_stats`` methods (and, later, the IPython magics and the
pytest plugin).  It picks the module by format name or by the file's name
(``format_of``), from ``FORMATS``.  The modules load on first use, and none
of them loads the engine.

* ``text``: the function table as cProfile prints it, the line table as
  kernprof does, the memory table as memory_profiler does;
* ``html``: one self-contained page: a function table with its flame graph,
  callers and callees; a line or memory table with a heat bar per line; or,
  for ``profkit plot``, the memory picture (``svg``'s, in the same look);
* ``speedscope``, ``collapsed`` (flame graph stacks) and ``callgrind``: the
  call tree for other viewers; ``pstatsfile``: the pstats file;
* ``plot`` and ``svg``: memory over time (``profkit plot``), drawn by
  matplotlib (PNG, PDF and the rest) or by the built-in SVG writer.

Coming: ``diff`` (two tables side by side).
"""
import os
import sys

__all__ = ["FORMATS", "FUNCTION_FORMATS", "write", "format_of", "output_format", "emit"]

# format name (or file extension) -> the module of profkit.report that writes it
FORMATS = {
    "text": "text",
    "txt": "text",
    "svg": "svg",
    "html": "html",
    "htm": "html",
    "window": "plot",  # matplotlib's window (profkit plot --show), and a file if a path is given
    "speedscope": "speedscope",
    "collapsed": "collapsed",
    "folded": "collapsed",
    "callgrind": "callgrind",
    "pstats": "pstatsfile",
    "prof": "pstatsfile",
}
# What a function profile can be written as (profkit func --format).
FUNCTION_FORMATS = ("pstats", "html", "speedscope", "collapsed", "callgrind", "text")
# Any other extension: a pstats file for a function table; for a picture,
# matplotlib's to write (png, pdf, jpg, ...): it says which it does not know.
OTHER = "plot"


def format_of(path):
    """The format a file's name asks for: ``speedscope`` for
    ``*.speedscope.json``, ``callgrind`` for ``callgrind.out*`` (the name
    KCachegrind looks for), else the extension, lower case, without its
    dot (``""`` for none)."""
    base = os.path.basename(os.fspath(path)).lower()
    if base.endswith(".speedscope.json"):
        return "speedscope"
    if base.startswith("callgrind.out"):
        return "callgrind"
    return os.path.splitext(base)[1].lstrip(".")


def output_format(path):
    """The function-profile format (one of FUNCTION_FORMATS) that ``path``'s
    name asks for, or None when no format claims it (a function profile is
    then a pstats file)."""
    module = FORMATS.get(format_of(path))
    if module == "pstatsfile":
        return "pstats"
    return module if module in FUNCTION_FORMATS else None


def write(profile, path=None, fmt=None, stream=None, **options):
    """Write ``profile`` (a table of ``report.model``, or a ``plot.Picture``)
    as ``fmt``, to ``path`` or else ``stream`` (default: standard output).

    ``fmt`` None: what ``format_of(path)`` says, or ``"text"`` without a
    path.  ``options`` go to the writer: ``sort`` for a function table;
    ``output_unit``, ``stripzeros``, ``summarize`` ... for a line table;
    ``precision`` for a memory table; ``title`` for a page.
    """
    from profkit.report.model import FunctionTable

    if fmt is None:
        fmt = format_of(path) if path else "text"
    module = FORMATS.get(fmt)
    if module is None:
        module = "pstatsfile" if isinstance(profile, FunctionTable) else OTHER
    name = "profkit.report." + module
    __import__(name)
    sys.modules[name].write(profile, path=path, fmt=fmt, stream=stream, **options)


def emit(text, path=None, stream=None):
    """Write ``text`` to ``path`` (UTF-8, atomically) or else to ``stream``
    (default: standard output): the last step of the text outputs."""
    if path is None:
        (stream or sys.stdout).write(text)
        return
    from profkit.formats.atomic import write_atomic

    write_atomic(path, text.encode("utf-8"))
