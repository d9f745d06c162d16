"""Atomic file output: write a temporary file beside the target, then rename.

A reader never sees a half-written profile, and an interrupted write leaves
the previous file (if any) intact.  When the write fails (a full disk, a
folder that became read-only), the error is a ``WriteError``: an OSError
that still holds the bytes, so the caller can save them somewhere else
(``save_elsewhere``) instead of losing the profile.
"""
import os

__all__ = ["WriteError", "write_atomic", "written_in_place", "temp_name", "make_temp",
           "save_elsewhere"]


class WriteError(OSError):
    """Writing ``filename`` failed as the OSError it copies says; ``data``
    holds the bytes that were to be written."""

    def __init__(self, exc, path, data):
        super().__init__(exc.errno, exc.strerror or str(exc), path)
        self.data = data


def temp_name(path):
    """(folder, prefix, suffix) of the temporary files made beside ``path``
    (also by ``cli._common.check_writable``, which tries one)."""
    return os.path.dirname(path), "." + os.path.basename(path) + ".", ".tmp"


def make_temp(folder, prefix, suffix):
    """A new file ``folder/prefix-RANDOM-suffix``, readable and writable by
    its owner only, as ``tempfile.mkstemp`` makes it: (descriptor, name).
    Here because importing tempfile (shutil, random, bz2, lzma) would add
    several milliseconds to the start-up of every command that writes."""
    for _ in range(100):
        name = os.path.join(folder, prefix + os.urandom(6).hex() + suffix)
        try:
            return os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder!r}")


def written_in_place(path):
    """Whether ``path`` is something that exists and is not a regular file
    (``/dev/null``, ``/dev/stdout``, a FIFO): ``write_atomic`` writes into
    it, as ``open(path, 'wb')`` would, and never renames a file over it."""
    import stat

    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary file and a rename.

    The file gets the permissions a plain ``open(path, 'wb')`` would give it.
    A device or a FIFO is written into instead (see ``written_in_place``).
    Raises WriteError (an OSError holding ``data``) when it cannot.
    """
    path = os.path.abspath(os.fspath(path))
    folder, prefix, suffix = temp_name(path)
    try:
        if written_in_place(path):
            with open(path, "wb") as f:
                f.write(data)
            return
        tmp = _new_file(make_temp(folder, prefix, suffix), data)
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
    except OSError as exc:
        raise WriteError(exc, path, data) from None


def save_elsewhere(path, data):
    """Save ``data``, which could not be written to ``path``, in the
    temporary folder (``tempfile.gettempdir()``) under a new name with the
    same extension: ``/tmp/out-k2j3h4g5.prof`` for ``out.prof``.  Returns
    that name; raises OSError when it cannot either."""
    import tempfile

    stem, ext = os.path.splitext(os.path.basename(os.fspath(path)))
    return _new_file(tempfile.mkstemp(prefix=(stem or "profile") + "-", suffix=ext), data)


def _new_file(made, data):
    """Fill the file ``made`` ((descriptor, name), as mkstemp gives) with ``data``,
    on disk, and close it; remove it if that fails.  Returns its name."""
    fd, name = made
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _remove(name)
        raise
    return name


def _remove(name):
    try:
        os.unlink(name)
    except OSError:
        pass
