"""The sign-in policy both web pages share (the nurses' page on the Pi, the doctors' console at
the hospital): how failed sign-ins lock, and how a form's CSRF token is checked. Sans-I/O: the
clock is passed in."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Final, Protocol

FREE_FAILURES: Final = 5  # then a lockout that doubles with every further failure
FIRST_LOCK_S: Final = 30.0
MAX_LOCK_S: Final = 15 * 60.0
# Keys remembered at most: a stream of sign-ins under made-up names must not grow memory
# without end; past it the oldest key is forgotten (its count starts again).
MAX_THROTTLED_KEYS: Final = 10_000


class HasCsrf(Protocol):
    @property
    def csrf(self) -> str: ...


def csrf_ok(session: HasCsrf | None, sent: str | None) -> bool:
    """Whether a form's token is its session's (compared in constant time); never without one."""
    if session is None or not sent:
        return False
    return hmac.compare_digest(session.csrf, sent)


@dataclass
class Throttle:
    """Failed sign-ins per key (a username, a client address): a few free, then a lock that
    doubles with each further failure, up to :data:`MAX_LOCK_S`."""

    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)  # count, locked until

    def retry_after(self, key: str, now: float) -> float:
        entry = self._failures.get(key)
        return 0.0 if entry is None else max(0.0, entry[1] - now)

    def failed(self, key: str, now: float) -> None:
        previous = self._failures.pop(key, None)  # re-inserted last: the newest key
        count = 1 if previous is None else previous[0] + 1
        lock = 0.0
        if count >= FREE_FAILURES:
            lock = min(MAX_LOCK_S, FIRST_LOCK_S * 2 ** (count - FREE_FAILURES))
        self._failures[key] = (count, now + lock)
        if len(self._failures) > MAX_THROTTLED_KEYS:
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
