"""Atomic file output: write a temporary file beside the target, then rename.

A reader never sees a half-written profile, and an interrupted write leaves
the previous file (if any) intact.
"""
import os


def write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary file and a rename.

    The file gets the permissions a plain ``open(path, 'wb')`` would give it.
    """
    import tempfile

    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
