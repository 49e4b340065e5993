"""Sign-in sessions and CSRF tokens (sans-I/O: the clock is passed in); the throttling and the
CSRF check are the shared policy of :mod:`stetho_common.sign_in`.

Signed-in sessions are also kept on disk (edge_agent.web.accounts, 0600) so that a restart of
the agent does not sign the nurses out mid-exam: only each token's SHA-256 is stored (a copy
of the file signs nobody in), with its expiry. The CSRF token is derived from the session
token, so it needs no storing either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from typing import NamedTuple

MAX_SESSIONS = 200  # a care home has tens of staff; more means someone is spraying sign-ins


@dataclass
class Session:
    token: str
    staff: str | None  # None: signed out, kept only to protect the sign-in form
    display: str
    csrf: str
    expires: float


class SavedSession(NamedTuple):
    """A signed-in session as stored: the token's hash, never the token."""

    key: str
    staff: str
    display: str
    expires: float


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"stetho-csrf", hashlib.sha256).hexdigest()


@dataclass
class SessionBook:
    lifetime_s: float
    _by_key: dict[str, Session] = field(default_factory=dict)

    def new(self, now: float, staff: str | None = None, display: str = "") -> Session:
        """A fresh session (a new token on every sign-in: no session fixation)."""
        self._expire(now)
        while len(self._by_key) >= MAX_SESSIONS:
            self._by_key.pop(self._first_to_go())
        lifetime = self.lifetime_s if staff else 3600.0
        token = secrets.token_urlsafe(32)
        s = Session(token, staff, display, csrf_for(token), now + lifetime)
        self._by_key[token_key(token)] = s
        return s

    def _first_to_go(self) -> str:
        """The oldest sign-in form's session, else the oldest: anyone on the network may ask
        for the form, so forms asked for in bulk must not push the nurses' sessions out."""
        for key, session in self._by_key.items():
            if session.staff is None:
                return key
        return next(iter(self._by_key))

    def restore(self, saved: list[SavedSession], now: float) -> None:
        """Signed-in sessions a previous run kept; each gets its token back when presented."""
        for row in saved:
            if row.expires > now:
                self._by_key[row.key] = Session("", row.staff, row.display, "", row.expires)

    def get(self, token: str | None, now: float) -> Session | None:
        key = token_key(token or "")
        s = self._by_key.get(key)
        if s is None or s.expires <= now:
            if s is not None:
                del self._by_key[key]
            return None
        if not s.token and token:  # restored after a restart: the cookie proves the token
            s = self._by_key[key] = replace(s, token=token, csrf=csrf_for(token))
        return s

    def end(self, token: str) -> None:
        self._by_key.pop(token_key(token), None)

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._by_key.items() if s.expires <= now]:
            del self._by_key[key]
