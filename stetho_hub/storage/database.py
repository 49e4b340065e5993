"""One database connection behind a small interface, for SQLite or PostgreSQL.

The hub's SQL is written once with `?` placeholders and the few types both engines share
(TEXT, BIGINT; timestamps as fixed-width RFC 3339 UTC text, which sorts by time). A
`Database` is used from one thread at a time: the ingest service gives it a thread of its
own, so sqlite3 and psycopg never block the event loop. Driver exceptions are translated
here, chained with `from`: nothing from sqlite3 or psycopg leaks out.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from stetho_hub.errors import StorageUnavailableError

Dialect = Literal["sqlite", "postgresql"]
Row = tuple[Any, ...]
BUSY_TIMEOUT_MS = 10_000  # several hub processes may share one SQLite file on one machine
# A password= (or sslpassword=) value: quoted (libpq's key=value form, with backslash
# escapes), or up to a space or an & (a URL's query).
_PASSWORD_PARAMETER = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)")


@dataclass(frozen=True)
class DatabaseTarget:
    """Where the database lives: a SQLite file path or a libpq connection string."""

    dialect: Dialect
    location: str

    def describe(self) -> str:
        """For logs: the location without the password a libpq URL or key=value string may
        carry (a URL's `user:password@`, a `password=` parameter in either form)."""
        if self.dialect == "sqlite":
            return f"sqlite:{self.location}"
        location = _PASSWORD_PARAMETER.sub(r"\1***", self.location)
        scheme, sep, rest = location.partition("://")
        userinfo, at, tail = rest.partition("@")
        if sep and at and "/" not in userinfo and ":" in userinfo:
            # libpq ends the user name at the first colon: all after it is the password.
            location = f"{scheme}://{userinfo.split(':', 1)[0]}:***@{tail}"
        return f"postgresql:{location}"


class Transaction(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class Database(Protocol):
    dialect: Dialect
    target: DatabaseTarget  # for messages: `target.describe()` hides any password

    def transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        """Commit on normal exit (durably: returns after the fsync), roll back on error."""

    def close(self) -> None: ...


# Run on each new connection before anything uses it (the schema policy: migrations.py); what
# it raises closes that connection and reaches the caller.
OnConnect = Callable[[Database], None]


def _checked(db: Database, on_connect: OnConnect | None) -> None:
    if on_connect is None:
        return
    try:
        on_connect(db)
    except BaseException:
        db.close()
        raise


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._conn.execute(sql, tuple(params)).fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]


def _write_ahead(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting for hubs that open the same new file at once.

    Two connections switching a new file to WAL at the same time each hold a shared lock and
    want an exclusive one: SQLite answers one of them "database is locked" at once, without
    the busy timeout, as waiting would deadlock. Trying again once the other has switched
    (the mode is then the file's) succeeds; other errors, and the timeout, stand.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SqliteDatabase:
    """A SQLite file in WAL mode with synchronous=FULL: a commit survives power loss."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, on_connect: OnConnect | None = None) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
            # Autocommit mode: we issue BEGIN IMMEDIATE ourselves, so a writer takes the lock
            # up front instead of failing halfway when another process writes.
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _write_ahead(conn)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailableError(f"cannot open SQLite database {path}: {exc}") from exc
        self._conn = conn
        self.target = DatabaseTarget(self.dialect, str(path))
        _checked(self, on_connect)  # SQLite's one connection lives as long as this object

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageUnavailableError(f"SQLite {self.path}: {exc}") from exc

    def close(self) -> None:
        self._conn.close()


class _PostgresTx:
    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cur.execute(_pg(sql), tuple(params))
        return int(self._cur.rowcount)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self._cur.execute(_pg(sql), tuple(params))
        row = self._cur.fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cur.execute(_pg(sql), tuple(params))
        return [tuple(r) for r in self._cur.fetchall()]


def _pg(sql: str) -> str:
    # Our SQL never holds a literal '?' or '%', so this swap is exact.
    return sql.replace("?", "%s")


class PostgresDatabase:
    """A psycopg 3 connection; reopened on the next transaction after the server went away,
    and `on_connect` runs again on each: the server may have been restored meanwhile."""

    dialect: Dialect = "postgresql"

    def __init__(
        self, conninfo: str, connect_timeout_s: int = 10, on_connect: OnConnect | None = None
    ) -> None:
        self._conninfo = conninfo
        self._timeout = connect_timeout_s
        self._on_connect = on_connect
        self._conn: Any = None
        self.target = DatabaseTarget(self.dialect, conninfo)
        self._connect()

    def _connect(self) -> None:
        import psycopg  # imported here: SQLite users need not install the PostgreSQL driver

        try:
            # Autocommit: every statement runs inside our explicit `transaction()` blocks.
            self._conn = psycopg.connect(
                self._conninfo, connect_timeout=self._timeout, autocommit=True
            )
        except psycopg.Error as exc:
            target = self.target.describe()
            raise StorageUnavailableError(f"cannot connect to {target}: {exc}") from exc
        _checked(self, self._on_connect)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._connect()
        try:
            with self._conn.transaction(), self._conn.cursor() as cursor:
                yield _PostgresTx(cursor)
        except psycopg.Error as exc:
            if self._conn.broken or self._conn.closed:
                self._conn = None
            raise StorageUnavailableError(f"PostgreSQL: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def connect(target: DatabaseTarget, on_connect: OnConnect | None = None) -> Database:
    """A connection with no schema policy of its own: the hub opens its database through
    `migrations.open_database`, which passes the schema check as `on_connect`."""
    if target.dialect == "sqlite":
        return SqliteDatabase(Path(target.location), on_connect)
    return PostgresDatabase(target.location, on_connect=on_connect)
