"""Local accounts for the doctor's console: scrypt-hashed passwords, a role, assigned sites."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from stetho_common.ids import SLUG
from stetho_hub.errors import UserError
from stetho_hub.storage.database import Database

Role = Literal["doctor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
MIN_PASSWORD_CHARS = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# scrypt cost: n=2**15, r=8 takes ~32 MiB and ~0.1 s per check: slows guessing, not sign-in.
# (RFC 7914 §2; OWASP's password storage cheat sheet suggests n=2**17 with r=8 at minimum
# for new systems today, so `n` is stored with each hash and can be raised later.)
_N, _R, _P = 2**15, 8, 1
# A check's memory limit. scrypt takes 128·r·N bytes and a little more (RFC 7914 §2): 128 MiB
# and 3 KiB at N=2**17, r=8, so the old 128 MiB refused the very hashes raising `_N` to
# OWASP's figure would make, and nobody could sign in. 192 MiB lies between N=2**17's need
# and N=2**18's (256 MiB and more): every stored N up to 2**17 verifies, none above.
_CHECK_MAXMEM = 192 * 1024 * 1024


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024
    )
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_CHECK_MAXMEM,
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def add_user(
    db: Database, username: str, password: str, role: str, sites: tuple[str, ...] = ()
) -> None:
    """Create an account; a doctor sees only `sites`, an admin sees every site."""
    check_new_user(username, role, sites)
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"password: expected at least {MIN_PASSWORD_CHARS} characters")
    hashed = hash_password(password)
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    with db.transaction() as tx:
        if tx.one("SELECT 1 FROM users WHERE username = ?", (username,)) is not None:
            raise UserError(f"user {username!r} already exists")
        tx.execute(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
            (username, hashed, role, now),
        )
        for site in sites:
            tx.execute("INSERT INTO assignments (username, site) VALUES (?, ?)", (username, site))


def check_new_user(username: str, role: str, sites: tuple[str, ...]) -> None:
    """Raise UserError when the name, role or a site cannot be an account's (before asking for
    a password: nobody should type one twice to learn the name was wrong)."""
    if not _USERNAME.fullmatch(username):
        raise UserError(
            f"username {username!r}: expected lowercase letters, digits, . _ - (1 to 64, the "
            "first a letter or digit)"
        )
    if role not in ROLES:
        raise UserError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    bad = [s for s in sites if not SLUG.fullmatch(s)]
    if bad:
        raise UserError(
            f"site {bad[0]!r}: expected a care home's id: 1 to 63 lower-case letters, digits "
            "and dashes, the first a letter or digit"
        )


@dataclass(frozen=True)
class Account:
    """What a sign-in checks: the stored hash, and what the account may see."""

    password_hash: str
    role: str
    sites: tuple[str, ...]


def account(db: Database, username: str) -> Account | None:
    """The account named exactly `username` (a database read, no hashing)."""
    with db.transaction() as tx:
        row = tx.one("SELECT password_hash, role FROM users WHERE username = ?", (username,))
        sites = tx.all("SELECT site FROM assignments WHERE username = ? ORDER BY site", (username,))
    if row is None:
        return None
    return Account(str(row[0]), str(row[1]), tuple(str(s[0]) for s in sites))


def password_matches(found: Account | None, password: str) -> tuple[str, tuple[str, ...]] | None:
    """The role and assigned sites when the password is the account's, else None: the scrypt
    work alone (no database), so the console runs it off its database thread."""
    if found is None:
        # The same scrypt work as for an account: the time taken must not tell which names exist.
        verify_password(password, _decoy_hash())
        return None
    if not verify_password(password, found.password_hash):
        return None
    return found.role, found.sites


def check_sign_in(db: Database, username: str, password: str) -> tuple[str, tuple[str, ...]] | None:
    """The role and assigned sites when the password is right, else None."""
    return password_matches(account(db, username), password)


@functools.cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
