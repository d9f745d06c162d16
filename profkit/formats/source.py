"""Reading a saved file: once, whole, bounded, and only from what can hold one.

Every reader in ``formats/`` takes its bytes from ``read_input``, so that
all of them answer the same way to inputs that are not files:

* a directory, a device (``/dev/zero``, a terminal) or a socket is refused
  before it is opened: opening some devices has effects, and reading
  ``/dev/zero`` would never end;
* a pipe, or a FIFO (``profkit show <(cat x.prof)``), is read once, to its
  end: it cannot be opened twice.  It is opened without waiting for a
  writer (``O_NONBLOCK``), so a FIFO nobody writes to reads as empty
  instead of hanging, and then read blocking, as ``cat`` reads it;
* at most ``limit`` bytes are read (``LIMIT`` unless told): a file or pipe
  holding more is refused, not read until memory runs out.

Errors are OSError, with the file name and a one-line reason, as
``open()`` gives them.  This module prints nothing.
"""
import errno
import os
import stat

__all__ = ["LIMIT", "read_input", "read_text"]

LIMIT = 1 << 30  # 1 GiB: a day of `profkit run` samples at 10 ms is 250 MiB

_CHUNK = 1 << 20
_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _refuse(st, path):
    """Raise OSError unless ``st`` is a regular file or a pipe."""
    if stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a file")
    raise OSError(errno.EINVAL, f"{kind}, not a regular file or a pipe", path)


def _too_big(path, limit):
    size = f"{limit / (1 << 30):g} GiB" if limit >= 1 << 30 else f"{limit / (1 << 20):g} MiB"
    return OSError(errno.EFBIG, f"larger than {size}, the most profkit reads", path)


def read_input(path, limit=LIMIT):
    """The whole content of ``path`` (bytes), read once.

    Raises OSError when it cannot be opened or read, is not a regular file
    or a pipe, or holds more than ``limit`` bytes.  A pipe with no writer
    reads as ``b""``.
    """
    path = os.fspath(path)
    _refuse(os.stat(path), path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        _refuse(st, path)  # it may have been replaced since the stat above
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            raise _too_big(path, limit)
        os.set_blocking(fd, True)  # a pipe: now wait for what its writer sends
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise _too_big(path, limit)
            chunks.append(chunk)
    finally:
        os.close(fd)


def read_text(path, data=None, what="file"):
    """The content of ``path`` as UTF-8 text: ``data`` (its bytes, already
    read) decoded, else ``read_input(path)``'s.  Raises OSError as
    ``read_input``, ValueError (one line) when it is not UTF-8."""
    raw = read_input(path) if data is None else data
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a {what} (not UTF-8 text at byte {exc.start})") from None
