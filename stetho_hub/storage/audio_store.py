"""Audio files addressed by their SHA-256: written once, fsync'd, private.

`<root>/ab/abcd...ef.flac`: one level of 256 folders keeps a folder under ~40 000 files up
to ten million recordings, and a new folder (and its fsyncs) is rare after the first few
hundred. The name is the hash of the bytes, so a re-delivered recording maps to the file
already there and nothing is stored twice. A file is written to a temporary name, fsync'd,
renamed into place, and its folder fsync'd: after a crash either the whole file is there
under its final name or only a `.tmp-*` leftover is (swept on open once old). Files are
0600 in 0700 folders: the sounds are health data.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import time
from pathlib import Path

from stetho_hub.errors import StorageUnavailableError

FILE_MODE = 0o600
DIR_MODE = 0o700
STALE_TMP_S = 3600.0  # a write takes milliseconds; an hour-old temporary is a crash's leftover
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AudioStore:
    """Content-addressed FLAC files under `root` (created 0700 if missing)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            self._make_dir(root)
            if not root.is_dir():  # a file: every store would fail, retried without end
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(root))
            self._sweep_temporaries()
        except OSError as exc:
            raise StorageUnavailableError(f"audio archive {root}: {exc.strerror}") from exc

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self.root / sha256[:2] / f"{sha256}.flac"

    def put(self, data: bytes) -> str:
        """Store `data` durably (no-op when already there); return its SHA-256."""
        return self.put_many([data])[0]

    def put_many(self, blobs: list[bytes]) -> list[str]:
        """Store each blob durably; return their SHA-256s in order.

        Each file is fsync'd; each folder that gained a name is fsync'd once at the end,
        so a batch costs one directory fsync per folder touched rather than per file.
        """
        digests, touched = [], set()
        for data in blobs:
            digest = sha256_hex(data)
            final = self.path_for(digest)
            try:
                if not (final.exists() and final.stat().st_size == len(data)):
                    self._make_dir(final.parent)
                    self._write_new(final, data)
                    touched.add(final.parent)
            except OSError as exc:
                raise StorageUnavailableError(f"cannot archive audio {digest}: {exc}") from exc
            digests.append(digest)
        try:
            for directory in touched:
                _fsync_dir(directory)
        except OSError as exc:
            raise StorageUnavailableError(f"cannot sync the audio archive: {exc}") from exc
        return digests

    def read(self, sha256: str) -> bytes:
        try:
            return self.path_for(sha256).read_bytes()
        except OSError as exc:
            raise StorageUnavailableError(f"cannot read audio {sha256}: {exc.strerror}") from exc

    def _write_new(self, final: Path, data: bytes) -> None:
        tmp = final.parent / f".tmp-{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, final)  # the caller fsyncs the folder, making the new name durable

    def _make_dir(self, path: Path) -> None:
        """Create `path` and missing parents at 0700, fsyncing each parent that gained an entry."""
        missing: list[Path] = []
        current = path
        while not current.exists():
            missing.append(current)
            current = current.parent
        for directory in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another hub process made it first
                os.mkdir(directory, DIR_MODE)
            os.chmod(directory, DIR_MODE)  # the umask may have narrowed or widened it
            _fsync_dir(directory.parent)

    def _sweep_temporaries(self) -> None:
        # Only old ones: another hub process sharing this archive may be writing a young one.
        cutoff = time.time() - STALE_TMP_S
        for leftover in self.root.glob("*/.tmp-*"):
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
