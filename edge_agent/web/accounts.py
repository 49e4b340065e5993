"""Staff accounts and the audit log, in a private SQLite file beside the exams.

Secrets (a password or a PIN) are stored only as scrypt hashes (RFC 7914) with a random salt;
the cost is the one Python's docs and OWASP give for interactive logins (n=2**14, r=8, p=1:
~50 ms and 16 MiB on a Raspberry Pi 4), checked in a worker thread.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from edge_agent.exam._db import open_private_db, transaction, translated
from edge_agent.exam.errors import ExamStorageError
from edge_agent.web.errors import AccountError, SignInError
from edge_agent.web.sessions import SavedSession

_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff (
    staff_id TEXT PRIMARY KEY,
    display TEXT NOT NULL,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    n INTEGER NOT NULL, r INTEGER NOT NULL, p INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY,
    staff TEXT NOT NULL,
    display TEXT NOT NULL,
    expires REAL NOT NULL,
    used REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit (
    at REAL NOT NULL,
    staff TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL
);
"""
ACCOUNTS_FILE = "web.sqlite3"
STAFF_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
MIN_SECRET = 6  # a 6-digit PIN at least; throttling makes guessing it take years
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class Staff:
    staff_id: str
    display: str


def _hash(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=64 * 1024 * 1024)  # fmt: skip


def _add_time_of_use(db: sqlite3.Connection) -> None:
    """A sessions table made before the time of use was kept gets its column (0: none)."""
    if "used" not in {str(row[1]) for row in db.execute("PRAGMA table_info(sessions)")}:
        db.execute("ALTER TABLE sessions ADD COLUMN used REAL NOT NULL DEFAULT 0")


def check_staff(staff_id: str, display: str) -> None:
    """AccountError unless the id and the name shown are ones an account can have (`stetho
    staff add` asks before it prompts for the PIN)."""
    if not STAFF_ID.fullmatch(staff_id):
        raise AccountError("a staff id is 1-40 lower-case letters, digits, '.', '_' or '-'")
    if not display.strip() or len(display) > 80:
        raise AccountError("a display name of 1-80 characters")


class Accounts:
    """Sync store; the page calls it through asyncio.to_thread."""

    def __init__(self, path: Path) -> None:
        self._db = open_private_db(path, _SCHEMA)
        try:
            with translated(f"upgrading {path}"):
                _add_time_of_use(self._db)
        except ExamStorageError:
            self._db.close()
            raise
        self._lock = threading.Lock()
        # Checked when the id is unknown too, so the time taken does not reveal which ids exist.
        self._decoy = _hash("decoy", b"0" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P)

    def close(self) -> None:
        self._db.close()

    def add(self, staff_id: str, display: str, secret: str) -> Staff:
        check_staff(staff_id, display)
        if len(secret) < MIN_SECRET:
            raise AccountError(f"a PIN or password has at least {MIN_SECRET} characters")
        salt = secrets.token_bytes(16)
        digest = _hash(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        with self._lock, transaction(self._db, "saving a staff account") as db:
            db.execute(
                "INSERT INTO staff VALUES(?,?,?,?,?,?,?) ON CONFLICT(staff_id) DO UPDATE SET "
                "display=excluded.display, salt=excluded.salt, hash=excluded.hash, "
                "n=excluded.n, r=excluded.r, p=excluded.p",
                (staff_id, display.strip(), salt, digest, SCRYPT_N, SCRYPT_R, SCRYPT_P),
            )
        return Staff(staff_id, display.strip())

    def verify(self, staff_id: str, secret: str) -> Staff:
        """The staff member, or SignInError (the same for an unknown id and a wrong secret)."""
        with self._lock, translated("reading staff accounts"):
            row = self._db.execute(
                "SELECT display, salt, hash, n, r, p FROM staff WHERE staff_id=?", (staff_id,)
            ).fetchone()
        if row is None:
            hmac.compare_digest(self._decoy, _hash(secret, b"1" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P))
            raise SignInError("unknown staff id or wrong secret")
        display, salt, digest, n, r, p = row
        if not hmac.compare_digest(digest, _hash(secret, salt, n, r, p)):
            raise SignInError("unknown staff id or wrong secret")
        return Staff(staff_id, display)

    def known(self, staff_id: str) -> bool:
        """Whether an account has this id (the page logs only ids that are staff's)."""
        with self._lock, translated("reading staff accounts"):
            row = self._db.execute("SELECT 1 FROM staff WHERE staff_id=?", (staff_id,)).fetchone()
        return row is not None

    def staff(self) -> list[Staff]:
        with self._lock, translated("listing staff"):
            rows = self._db.execute("SELECT staff_id, display FROM staff ORDER BY staff_id")
            return [Staff(a, b) for a, b in rows.fetchall()]

    def audit(self, staff: str, action: str, subject: str) -> None:
        """Who did or saw what (opaque references only, never a label)."""
        with self._lock, transaction(self._db, "writing the audit log") as db:
            db.execute("INSERT INTO audit VALUES(?,?,?,?)", (time.time(), staff, action, subject))

    def audit_log(self, limit: int = 100) -> list[tuple[float, str, str, str]]:
        with self._lock, translated("reading the audit log"):
            rows = self._db.execute(
                "SELECT at, staff, action, subject FROM audit ORDER BY rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [(float(a), str(b), str(c), str(d)) for a, b, c, d in rows]

    # Signed-in sessions, by the SHA-256 of their token (edge_agent.web.sessions) ----------

    def keep_session(self, saved: SavedSession) -> None:
        with self._lock, transaction(self._db, "saving a session") as db:
            db.execute("INSERT OR REPLACE INTO sessions VALUES(?,?,?,?,?)", tuple(saved))

    def session_used(self, key: str, used: float) -> None:
        """Bring a saved session's time of use up to date (edge_agent.web.idle)."""
        with self._lock, transaction(self._db, "saving a session's time of use") as db:
            db.execute("UPDATE sessions SET used=? WHERE key=?", (used, key))

    def drop_session(self, key: str) -> None:
        with self._lock, transaction(self._db, "ending a session") as db:
            db.execute("DELETE FROM sessions WHERE key=?", (key,))

    def sessions(self, now: float) -> list[SavedSession]:
        """The sessions still valid at `now` (expired ones are deleted)."""
        with self._lock, transaction(self._db, "reading sessions") as db:
            db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            rows = db.execute("SELECT key, staff, display, expires, used FROM sessions").fetchall()
        return [SavedSession(str(a), str(b), str(c), float(d), float(e)) for a, b, c, d, e in rows]
