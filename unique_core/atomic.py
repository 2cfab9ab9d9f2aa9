"""Writers that never leave a half-written file: write beside the target, then rename.

A writer's temporary file is named `.<target name>.<8 random characters><suffix>` in the
target's folder (tempfile.mkstemp), and is held under an exclusive open-file-description lock
(Linux `F_OFD_SETLK`) while it exists, so `unique_core.cache.clean` can tell a live writer's
file (locked) from a killed writer's (not locked: the kernel drops the lock when the process
dies) and removes only the latter. (Not `flock`: HDF5 flocks the files it writes, and the
two kinds of lock do not interact.)

A full disk, an exceeded quota or a read-only / non-writable folder raises StorageError (one
line: which file, what happened, what to do) with the target untouched and no temporary left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator

from unique_core.errors import StorageError, UniqueError  # noqa: F401  (StorageError re-exported)

import struct

try:  # POSIX; elsewhere temporaries are told apart by age only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
_OFD = fcntl is not None and hasattr(fcntl, "F_OFD_SETLK")  # Linux >= 3.15
_FLOCK_STRUCT = "@hhqqi4x"  # struct flock on 64-bit Linux: type, whence, start, len, pid (0 for OFD locks)


def hold_temporary(fd: int) -> None:
    """Mark a temporary as owned by a live writer (an exclusive OFD lock on the whole file)."""
    if _OFD:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK_STRUCT, fcntl.F_WRLCK, 0, 0, 0, 0))


def temporary_is_held(path: str | os.PathLike) -> bool:
    """Whether a live process holds the writer's lock of a temporary (False where locks are unknown)."""
    if not _OFD:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        got = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, struct.pack(_FLOCK_STRUCT, fcntl.F_WRLCK, 0, 0, 0, 0))
        return struct.unpack(_FLOCK_STRUCT, got)[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: mkstemp makes 0600 files, renamed files get the usual mode

TEMP_PREFIX = "."  # temporaries are hidden files beside their target
_STORAGE_ERRNOS = {errno.ENOSPC: "the disk is full (ENOSPC)", errno.EDQUOT: "the disk quota is exceeded (EDQUOT)",
                   errno.EROFS: "the folder is on a read-only file system (EROFS)",
                   errno.EACCES: "the folder is not writable (EACCES)", errno.EPERM: "writing is not permitted (EPERM)"}


def storage_error(target: str | os.PathLike, exc: BaseException) -> StorageError | None:
    """The one-line StorageError for an OSError that the storage caused, or None for other errors."""
    code = getattr(exc, "errno", None)
    if code not in _STORAGE_ERRNOS:
        return None
    target = Path(target)
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = (f"free space on the disk of {target.parent} (`unique cache clean`, or lower UNIQUE_CACHE_MAX_GB) "
               "or set UNIQUE_CACHE_DIR to a folder with room")
    else:
        fix = f"make {target.parent} writable or set UNIQUE_CACHE_DIR to a writable folder"
    return StorageError(f"cannot write {target}: {_STORAGE_ERRNOS[code]}; nothing was changed. Fix: {fix}")


# The two OS calls every atomic write goes through; module attributes so fault tests can make
# them fail (ENOSPC half-way, EROFS at creation) exactly where the operating system would.
_mkstemp = tempfile.mkstemp


def _write_fd(fd: int, data: memoryview) -> int:
    return os.write(fd, data)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto the target.

    On any exception the temporary file is removed and the target is left untouched; an
    OSError of the storage (ENOSPC, EDQUOT, EROFS, EACCES, EPERM) becomes StorageError.
    """
    target = Path(target)
    tmp_path: Path | None = None
    fd = -1
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", suffix=suffix or target.suffix or ".tmp",
                           dir=target.parent)
        tmp_path = Path(tmp)
        hold_temporary(fd)  # "a live writer owns this file", for cache.clean
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, target)
        tmp_path = None
    except BaseException as exc:
        if tmp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
        err = storage_error(target, exc) if isinstance(exc, OSError) else None
        if err is not None:
            raise err from exc
        raise
    finally:
        if fd >= 0:
            os.close(fd)  # also drops the writer's lock


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `target` atomically, flushed to disk before the rename."""
    with atomic_path(target) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            view = memoryview(data)
            while view:
                view = view[_write_fd(fd, view):]
            os.fsync(fd)  # so a crash after the rename cannot leave a renamed but empty file
        finally:
            os.close(fd)


def write_text(target: str | os.PathLike, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))
