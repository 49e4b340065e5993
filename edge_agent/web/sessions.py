"""Sign-in sessions, CSRF tokens and sign-in throttling (sans-I/O: the clock is passed in).

Sessions live in memory: a restart signs everyone out, while exams are on disk and survive.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Final

MAX_SESSIONS = 200  # a care home has tens of staff; more means someone is spraying sign-ins
FREE_FAILURES: Final = 5  # then a lockout that doubles with every further failure
FIRST_LOCK_S: Final = 30.0
MAX_LOCK_S: Final = 15 * 60.0


@dataclass
class Session:
    token: str
    staff: str | None  # None: signed out, kept only to protect the sign-in form
    display: str
    csrf: str
    expires: float


@dataclass
class SessionBook:
    lifetime_s: float
    _by_token: dict[str, Session] = field(default_factory=dict)

    def new(self, now: float, staff: str | None = None, display: str = "") -> Session:
        """A fresh session (a new token on every sign-in: no session fixation)."""
        self._expire(now)
        while len(self._by_token) >= MAX_SESSIONS:
            self._by_token.pop(next(iter(self._by_token)))
        lifetime = self.lifetime_s if staff else 3600.0
        s = Session(secrets.token_urlsafe(32), staff, display, secrets.token_urlsafe(32),
                    now + lifetime)  # fmt: skip
        self._by_token[s.token] = s
        return s

    def get(self, token: str | None, now: float) -> Session | None:
        s = self._by_token.get(token or "")
        if s is None or s.expires <= now:
            if s is not None:
                del self._by_token[s.token]
            return None
        return s

    def end(self, token: str) -> None:
        self._by_token.pop(token, None)

    def _expire(self, now: float) -> None:
        for token in [t for t, s in self._by_token.items() if s.expires <= now]:
            del self._by_token[token]


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return session is not None and bool(sent) and hmac.compare_digest(session.csrf, sent or "")


@dataclass
class Throttle:
    """Failed sign-ins per key (staff id, and client address); lock after a few."""

    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)  # count, locked until

    def retry_after(self, key: str, now: float) -> float:
        _, until = self._failures.get(key, (0, 0.0))
        return max(0.0, until - now)

    def failed(self, key: str, now: float) -> None:
        count, _ = self._failures.get(key, (0, 0.0))
        count += 1
        lock = 0.0
        if count >= FREE_FAILURES:
            lock = min(MAX_LOCK_S, FIRST_LOCK_S * 2 ** (count - FREE_FAILURES))
        self._failures[key] = (count, now + lock)
        if len(self._failures) > 10_000:  # bounded: drop the oldest keys
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
