"""The sign-in policy both web pages share (the nurses' page on the Pi, the doctors' console at
the hospital): how failed sign-ins lock, how a posted form is read and its CSRF token checked.
Sans-I/O: the clock is passed in, and so is the request (typed by what is used of it, so no web
framework is imported here)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeVar
from urllib.parse import urlsplit

from stetho_common.logfmt import quote

FREE_FAILURES: Final = 5  # then a lockout that doubles with every further failure
FIRST_LOCK_S: Final = 30.0
MAX_LOCK_S: Final = 15 * 60.0
# Keys remembered at most: a stream of sign-ins under made-up names must not grow memory
# without end; past it the key with the fewest failures is forgotten (its count starts again).
MAX_THROTTLED_KEYS: Final = 10_000
FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")

log = logging.getLogger(__name__)


class HasCsrf(Protocol):
    @property
    def csrf(self) -> str: ...


def csrf_ok(session: HasCsrf | None, sent: str | None) -> bool:
    """Whether a form's token is its session's (compared in constant time); never without one."""
    if session is None or not sent:
        return False
    return hmac.compare_digest(session.csrf, sent)


S = TypeVar("S")


def first_to_evict(sessions: Mapping[str, S], signed_in: Callable[[S], bool]) -> str:
    """The session to forget when a page's book is full: the oldest that only carries a sign-in
    form, else the oldest. Anyone on the network may ask for the form, so forms asked for in
    bulk must not push signed-in people's sessions out (`sessions`: oldest first)."""
    for key, session in sessions.items():
        if not signed_in(session):
            return key
    return next(iter(sessions))


# What a browser says of a request it sends (Fetch Metadata, W3C): a page of this origin, or the
# reader typing the address or following a bookmark. Anything else is another site's doing.
OWN_FETCH_SITES: Final = ("same-origin", "none")
SAFE_METHODS: Final = ("GET", "HEAD", "OPTIONS")


def cross_site(method: str, headers: Mapping[str, str], host: str | None) -> bool:
    """Whether a request that changes something (any method but GET, HEAD and OPTIONS, and a
    WebSocket's opening GET) comes from another site's page.

    SameSite=Strict keeps the cookie off requests from other *sites*, but a page of the same
    site on another host (another service under the hospital's domain) still sends it; the
    CSRF token stops a forged form, this stops it before the form is read. A browser's
    `Sec-Fetch-Site` decides when sent (every current browser sends it); else the `Origin`
    must name the host the request was sent to (`host`: its Host header, which a reverse proxy
    must pass on). No `Origin` either: not a browser's cross-origin request, left to the token.
    """
    upgrade = headers.get("Upgrade", "").lower() == "websocket"
    if method in SAFE_METHODS and not upgrade:
        return False
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.lower() not in OWN_FETCH_SITES
    origin = headers.get("Origin")
    if origin is None:
        return False
    if origin == "null":  # a sandboxed frame, a data: URL, a redirect across origins
        return True
    return urlsplit(origin).netloc.lower() != (host or "").lower()


class PostedRequest(Protocol):
    """What :func:`posted_form` uses of a request (aiohttp's `web.Request` is one)."""

    @property
    def method(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def path(self) -> str: ...
    async def post(self) -> Mapping[str, object]: ...


async def posted_form(
    request: PostedRequest, refusal: Callable[[], Exception]
) -> Mapping[str, object] | None:
    """The form a POST carries, read once (handlers then get aiohttp's cached copy), or None
    when the request carries no form.

    Bytes that are not UTF-8 or a multipart part without a name make aiohttp raise ValueError,
    which was a 500 and a traceback in the log, from anyone who can reach a sign-in page: it is
    one logged line instead, and the page's own refusal (`refusal()`, a 400) is raised.
    """
    if request.method != "POST" or request.content_type not in FORM_TYPES:
        return None
    try:
        return await request.post()
    except ValueError as exc:
        log.warning("event=form_unreadable path=%s error=%s", quote(request.path),
                    type(exc).__name__)  # fmt: skip
        raise refusal() from exc


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
            self._failures.pop(self._first_to_forget())

    def _first_to_forget(self) -> str:
        """The key with the fewest failures, the oldest of them. Forgetting the oldest alone
        let a guesser spray made-up names (one failure each) until the name they were after,
        four failures in, or locked, was pushed out and its count started again."""
        return min(self._failures, key=lambda k: self._failures[k][0])

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
