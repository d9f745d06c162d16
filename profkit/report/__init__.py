"""Outputs: one module per format, all reading the tables of ``model.py``.

``write`` is the one way out: the command line ends in it, and so do the
profilers' ``print_stats`` methods (and, later, the IPython magics and the
pytest plugin).  It picks the module by format name or by the file's
extension, from ``FORMATS``.  The modules load on first use, and none of
them loads the engine.

* ``text``: the function table as cProfile prints it, the line table as
  kernprof does, the memory table as memory_profiler does;
* ``plot`` and ``svg``: memory over time (``profkit plot``), drawn by
  matplotlib (PNG, PDF and the rest) or by the built-in SVG/HTML writer.

Coming, one module and one ``FORMATS`` entry each: ``html`` (a page for a
function, line or memory table), ``speedscope``, ``collapsed`` (flame graph
stacks) and ``callgrind``, and ``diff`` (two tables side by side).
"""
import os
import sys

__all__ = ["FORMATS", "write"]

# format name (or file extension) -> the module of profkit.report that writes it
FORMATS = {
    "text": "text",
    "txt": "text",
    "svg": "svg",
    "html": "svg",
    "htm": "svg",
    "window": "plot",  # matplotlib's window (profkit plot --show), and a file if a path is given
}
# Any other extension is matplotlib's to write (png, pdf, jpg, ...): it says
# which it does not know.
OTHER = "plot"


def write(profile, path=None, fmt=None, stream=None, **options):
    """Write ``profile`` (a table of ``report.model``, or a ``plot.Picture``)
    as ``fmt``, to ``path`` or else ``stream`` (default: standard output).

    ``fmt`` None: the extension of ``path``, or ``"text"`` without a path.
    ``options`` go to the writer: ``sort`` for a function table;
    ``output_unit``, ``stripzeros``, ``summarize`` ... for a line table;
    ``precision`` for a memory table.
    """
    if fmt is None:
        fmt = os.path.splitext(path)[1].lower().lstrip(".") if path else "text"
    name = "profkit.report." + FORMATS.get(fmt, OTHER)
    __import__(name)
    sys.modules[name].write(profile, path=path, fmt=fmt, stream=stream, **options)
