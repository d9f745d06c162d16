"""The pstats file of a function table (``profkit func -o FILE.prof``, the
default for any name no other output claims): see formats/pstats_io.py."""
from profkit.formats import pstats_io

__all__ = ["write"]


def write(table, path=None, fmt=None, stream=None, **_options):
    """Write ``table.stats`` as a pstats file to ``path`` (atomically), or
    its bytes to ``stream`` (a binary stream)."""
    if path is None:
        import marshal
        import sys

        (stream or sys.stdout.buffer).write(marshal.dumps(table.stats))
        return
    pstats_io.dump(table.stats, path)
