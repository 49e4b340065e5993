"""Sign-in sessions and CSRF tokens; sans-I/O (the clock is passed in). The throttling and the
CSRF check are the shared policy of :mod:`stetho_common.sign_in`.

Sessions live in the console's memory: a restart signs everyone out, nothing else is lost.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from stetho_common.sign_in import first_to_evict

MAX_SESSIONS = 1000  # a hospital's doctors; more means someone is spraying sign-in pages
ANONYMOUS_S = 3600.0  # a sign-in form's session, kept only to protect the form with CSRF


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
            self._by_token.pop(first_to_evict(self._by_token, lambda s: s.username is not None))
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
