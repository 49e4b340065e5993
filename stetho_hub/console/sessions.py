"""Sign-in sessions, CSRF tokens and sign-in throttling; sans-I/O (the clock is passed in).

Sessions live in the console's memory: a restart signs everyone out, nothing else is lost.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

MAX_SESSIONS = 1000  # a hospital's doctors; more means someone is spraying sign-in pages
ANONYMOUS_S = 3600.0  # a sign-in form's session, kept only to protect the form with CSRF
FREE_FAILURES = 5  # then a lockout that doubles with every further failure
FIRST_LOCK_S = 30.0
MAX_LOCK_S = 15 * 60.0


@dataclass(frozen=True)
class Session:
    token: str
    csrf: str
    expires: float
    username: str | None = None  # None: not signed in yet
    role: str = ""
    sites: tuple[str, ...] | None = ()  # None: every site (an administrator)


@dataclass
class SessionBook:
    lifetime_s: float
    _by_token: dict[str, Session] = field(default_factory=dict)

    def new(
        self, now: float, username: str | None = None, role: str = "",
        sites: tuple[str, ...] | None = (),
    ) -> Session:  # fmt: skip
        """A fresh session: a new token on every sign-in, so no session fixation."""
        for token in [t for t, s in self._by_token.items() if s.expires <= now]:
            del self._by_token[token]
        while len(self._by_token) >= MAX_SESSIONS:
            self._by_token.pop(next(iter(self._by_token)))
        lifetime = self.lifetime_s if username else ANONYMOUS_S
        session = Session(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + lifetime,
            username, role, sites,
        )  # fmt: skip
        self._by_token[session.token] = session
        return session

    def get(self, token: str | None, now: float) -> Session | None:
        session = self._by_token.get(token or "")
        if session is None or session.expires <= now:
            self._by_token.pop(token or "", None)
            return None
        return session

    def end(self, token: str) -> None:
        self._by_token.pop(token, None)


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return session is not None and bool(sent) and hmac.compare_digest(session.csrf, sent or "")


@dataclass
class Throttle:
    """Failed sign-ins per username: free a few, then lock for a doubling time."""

    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> float:
        return max(0.0, self._failures.get(key, (0, 0.0))[1] - now)

    def failed(self, key: str, now: float) -> None:
        count = self._failures.get(key, (0, 0.0))[0] + 1
        lock = 0.0
        if count >= FREE_FAILURES:
            lock = min(MAX_LOCK_S, FIRST_LOCK_S * 2 ** (count - FREE_FAILURES))
        self._failures[key] = (count, now + lock)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
