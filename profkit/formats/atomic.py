"""Atomic file output: write a temporary file beside the target, then rename.

A reader never sees a half-written profile, and an interrupted write leaves
the previous file (if any) intact.
"""
import os

from profkit.errors import ProfkitError


def check_writable(path):
    """Raise ProfkitError (exit 2) unless ``path`` can be created or replaced.

    Called before the profiled program starts, so a typo in ``-o`` costs the
    user nothing.  Returns the absolute path: the program may chdir.
    """
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise ProfkitError(f"cannot write {path!r}: it is a directory")
    if not os.path.isdir(folder):
        raise ProfkitError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ProfkitError(f"cannot write {path!r}: permission denied")
    return path


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
