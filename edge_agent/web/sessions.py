"""Sign-in sessions and CSRF tokens (sans-I/O: the clock is passed in); the throttling and the
CSRF check are the shared policy of :mod:`stetho_common.sign_in`.

Signed-in sessions are also kept on disk (edge_agent.web.accounts, 0600) so that a restart of
the agent does not sign the nurses out mid-exam: only each token's SHA-256 is stored (a copy
of the file signs nobody in), with its expiry. The CSRF token is derived from the session
token, so it needs no storing either.

A signed-in session also ends when nobody has used it for `idle_s` (a shared tablet left on a
trolley): the book keeps when each was last used, and edge_agent.web.idle decides what counts
as use. The time of last use is kept on disk too, at most every USE_SAVED_EVERY_S (a write a
minute per nurse, not one a request, on a Pi's SD card), so a restart neither renews a tablet
left alone nor ends a nurse's session more than that much early.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from stetho_common.sign_in import first_to_evict

MAX_SESSIONS = 200  # a care home has tens of staff; more means someone is spraying sign-ins
IDLE_NOTICE_S = 3600.0  # how long the sign-in form says that a token was signed out for idling
USE_SAVED_EVERY_S = 60.0  # or a tenth of the idle limit, if shorter


@dataclass
class Session:
    token: str
    staff: str | None  # None: signed out, kept only to protect the sign-in form
    display: str
    csrf: str
    expires: float
    used: float = 0.0  # when its nurse last did something (edge_agent.web.idle)
    used_saved: float = 0.0  # the time of use the saved copy holds


class SavedSession(NamedTuple):
    """A signed-in session as stored: the token's hash, never the token."""

    key: str
    staff: str
    display: str
    expires: float
    used: float = 0.0  # 0: saved by an agent that did not keep it


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"stetho-csrf", hashlib.sha256).hexdigest()


@dataclass
class SessionBook:
    lifetime_s: float
    idle_s: float | None = None  # None: no idle limit
    _by_key: dict[str, Session] = field(default_factory=dict)
    _idled: dict[str, float] = field(default_factory=dict)  # token key -> until when said

    def new(self, now: float, staff: str | None = None, display: str = "") -> Session:
        """A fresh session (a new token on every sign-in: no session fixation)."""
        self._expire(now)
        while len(self._by_key) >= MAX_SESSIONS:
            self._by_key.pop(first_to_evict(self._by_key, lambda s: s.staff is not None))
        lifetime = self.lifetime_s if staff else 3600.0
        token = secrets.token_urlsafe(32)
        s = Session(token, staff, display, csrf_for(token), now + lifetime, now, now)
        self._by_key[token_key(token)] = s
        return s

    def restore(self, saved: list[SavedSession], now: float) -> None:
        """Signed-in sessions a previous run kept; each gets its token back when presented. The
        idle clock goes on from the saved time of use (from `now` if none was saved)."""
        for row in saved:
            if row.expires > now:
                used = min(row.used, now) if row.used > 0 else now
                self._by_key[row.key] = Session(
                    "", row.staff, row.display, "", row.expires, used, used
                )

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

    def end(self, token: str) -> bool:
        """End the session; False if it had already ended."""
        return self._by_key.pop(token_key(token), None) is not None

    def used(self, session: Session, now: float) -> bool:
        """Its nurse did something: the idle clock starts again. True when the saved copy's
        time of use is due to be brought up to date (then it counts as done)."""
        session.used = max(session.used, now)
        if session.staff is None or self.idle_s is None:
            return False
        if session.used - session.used_saved < min(USE_SAVED_EVERY_S, self.idle_s / 10):
            return False
        session.used_saved = session.used
        return True

    def idle(self, session: Session, now: float) -> bool:
        """Whether a signed-in session has gone unused for the idle limit."""
        if session.staff is None or self.idle_s is None:
            return False
        return now - session.used >= self.idle_s

    def end_idle(self, token: str, now: float) -> bool:
        """End a session for idling, and remember its token for a while so the sign-in form can
        say why (a sign-out does not: the nurse knows). False if it had already ended."""
        if not self.end(token):
            return False
        for key in [k for k, until in self._idled.items() if until <= now]:
            del self._idled[key]
        while len(self._idled) >= MAX_SESSIONS:
            self._idled.pop(next(iter(self._idled)))
        self._idled[token_key(token)] = now + IDLE_NOTICE_S
        return True

    def idled(self, token: str | None, now: float) -> bool:
        """Whether this token's session was lately ended for idling."""
        return self._idled.get(token_key(token or ""), 0.0) > now

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._by_key.items() if s.expires <= now]:
            del self._by_key[key]
