"""Health data on disk is 0600 in 0700 directories, whatever the umask (issue 18).

A umask of 022 (any run outside the systemd unit, which sets 077) would otherwise leave the
outbox, its audio and saved alerts world-readable. `mkdir(mode=...)` and `open(..., mode)` are
both filtered by the umask and do not touch what already exists, so each helper also chmods.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "private_dir", "private_file", "write_private"]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if missing; make `path` itself 0700. A shared folder (the
    sticky bit: /tmp, /var/tmp) is refused, not shut: made 0700 it would lock every other user
    and service out of it (PermissionError, an OSError, so callers' messages name it)."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if os.stat(path).st_mode & stat.S_ISVTX:
        raise PermissionError(
            errno.EPERM, "a shared folder, which is never made private: choose one of its own",
            str(path),
        )  # fmt: skip
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing; make it 0600 (a library then writes into it in place)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` as a 0600 file, atomically (a reader never sees half of it)."""
    partial = path.with_name(path.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), PRIVATE_FILE_MODE)
        out.write(data)
    os.replace(partial, path)
