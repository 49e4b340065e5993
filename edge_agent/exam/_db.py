"""Private SQLite files: 0600 in a 0700 folder, WAL, FULL sync (a commit survives power loss)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from edge_agent.exam.errors import ExamStorageError
from stetho_common.private_files import private_dir


def open_private_db(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating if needed) a database only its owner may read, with `schema` applied."""
    try:
        private_dir(path.parent)
        old = os.umask(0o077)  # the -wal and -shm files are created later with this mask too
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(schema)
        finally:
            os.umask(old)
        for suffix in ("", "-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                os.chmod(extra, 0o600)
    except (sqlite3.Error, OSError) as exc:
        raise ExamStorageError(f"cannot open {path}: {exc}", "storage") from exc
    return db


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn sqlite3 and OS errors into ExamStorageError naming what was being done."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise ExamStorageError(f"{what}: {exc}", "storage") from exc


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, what: str) -> Iterator[sqlite3.Connection]:
    with translated(what):
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
