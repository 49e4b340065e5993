"""The shared sign-in policy, exactly: free failures, the doubling lock and its cap, the
bounded memory of keys, and the CSRF check."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

from stetho_common import sign_in
from stetho_common.sign_in import (
    FIRST_LOCK_S,
    FREE_FAILURES,
    MAX_LOCK_S,
    MAX_THROTTLED_KEYS,
    Throttle,
    cross_site,
    csrf_ok,
    first_to_evict,
)


def test_the_policys_figures() -> None:
    assert (FREE_FAILURES, FIRST_LOCK_S, MAX_LOCK_S, MAX_THROTTLED_KEYS) == (5, 30.0, 900.0, 10_000)


def test_a_few_failures_are_free_then_the_lock_doubles_up_to_its_cap() -> None:
    throttle = Throttle()
    locks = []
    for _ in range(10):
        throttle.failed("dr-a", 100.0)
        locks.append(throttle.retry_after("dr-a", 100.0))
    assert locks == [0.0, 0.0, 0.0, 0.0, 30.0, 60.0, 120.0, 240.0, 480.0, 900.0]
    assert throttle.retry_after("dr-a", 950.0) == 50.0
    assert throttle.retry_after("dr-a", 1000.0) == 0.0
    assert throttle.retry_after("dr-b", 100.0) == 0.0  # per key


def test_success_forgets_the_failures() -> None:
    throttle = Throttle()
    for _ in range(FREE_FAILURES):
        throttle.failed("dr-a", 0.0)
    throttle.succeeded("dr-a")
    assert throttle.retry_after("dr-a", 0.0) == 0.0
    throttle.failed("dr-a", 0.0)
    assert throttle.retry_after("dr-a", 0.0) == 0.0  # counting starts again
    throttle.succeeded("never-failed")  # no error


def test_made_up_names_cannot_grow_memory_and_evict_the_oldest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sign_in, "MAX_THROTTLED_KEYS", 3)
    throttle = Throttle()
    for _ in range(FREE_FAILURES):
        throttle.failed("dr-a", 0.0)
    throttle.failed("x1", 0.0)
    throttle.failed("x2", 0.0)
    throttle.failed("dr-a", 0.0)  # failing again makes it the newest key
    throttle.failed("x3", 0.0)  # 4 keys: the oldest, x1, goes
    assert list(throttle._failures) == ["x2", "dr-a", "x3"]
    assert throttle.retry_after("dr-a", 0.0) == 60.0


def test_made_up_names_cannot_push_out_the_name_being_guessed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before: the oldest key went first, so four failures on dr-a and then MAX_THROTTLED_KEYS
    # made-up names (one failure each) wiped dr-a's count: four more free guesses, forever.
    monkeypatch.setattr(sign_in, "MAX_THROTTLED_KEYS", 3)
    throttle = Throttle()
    for _ in range(FREE_FAILURES - 1):
        throttle.failed("dr-a", 0.0)
    for n in range(10):
        throttle.failed(f"made-up-{n}", 0.0)
    assert list(throttle._failures) == ["dr-a", "made-up-8", "made-up-9"]
    throttle.failed("dr-a", 0.0)
    assert throttle.retry_after("dr-a", 0.0) == FIRST_LOCK_S  # the fifth failure locks it
    for _ in range(2):  # among the names with the fewest failures, the oldest goes
        throttle.failed("dr-b", 0.0)
    assert list(throttle._failures) == ["made-up-9", "dr-a", "dr-b"]


@dataclass(frozen=True)
class Form:
    csrf: str


def test_csrf_needs_a_session_and_its_own_token() -> None:
    assert csrf_ok(Form("t0ken"), "t0ken")
    assert not csrf_ok(Form("t0ken"), "other")
    assert not csrf_ok(Form("t0ken"), "")
    assert not csrf_ok(Form("t0ken"), None)
    assert not csrf_ok(Form(""), "")  # an empty token never matches
    assert not csrf_ok(None, "t0ken")


@dataclass
class _Posted:
    """A request as `posted_form` sees it: a fake with the real interface (STYLE.md §9)."""

    method: str
    content_type: str
    body: dict[str, object] | ValueError
    path: str = "/login"
    reads: int = 0

    async def post(self) -> dict[str, object]:
        self.reads += 1
        if isinstance(self.body, ValueError):
            raise self.body
        return self.body


class _Refused(Exception):
    pass


@pytest.mark.parametrize("kind", sign_in.FORM_TYPES)
def test_posted_form_reads_a_posted_form_once(kind: str) -> None:
    request = _Posted("POST", kind, {"csrf": "t"})
    assert asyncio.run(sign_in.posted_form(request, _Refused)) == {"csrf": "t"}
    assert request.reads == 1


@pytest.mark.parametrize(
    ("method", "kind"), [("GET", sign_in.FORM_TYPES[0]), ("POST", "application/json")]
)
def test_posted_form_leaves_other_requests_alone(method: str, kind: str) -> None:
    request = _Posted(method, kind, ValueError("never read"))
    assert asyncio.run(sign_in.posted_form(request, _Refused)) is None
    assert request.reads == 0


def test_an_unreadable_form_is_the_pages_refusal_and_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Both pages had this catch of their own (edge_agent.web.app, stetho_hub.console.shell).
    request = _Posted(
        "POST", sign_in.FORM_TYPES[0], UnicodeDecodeError("utf-8", b"\xff", 0, 1, "x")
    )
    with caplog.at_level(logging.WARNING), pytest.raises(_Refused) as refused:
        asyncio.run(sign_in.posted_form(request, _Refused))
    assert isinstance(refused.value.__cause__, UnicodeDecodeError)
    assert [r.getMessage() for r in caplog.records] == [
        "event=form_unreadable path=/login error=UnicodeDecodeError"
    ]
    assert not any(r.exc_info for r in caplog.records)


def test_a_change_sent_by_another_sites_page_is_cross_site() -> None:
    host = "console.hospital.example"
    own = "https://console.hospital.example"
    cases = [
        ("POST", {"Sec-Fetch-Site": "same-origin", "Origin": own}, False),
        ("POST", {"Sec-Fetch-Site": "SAME-ORIGIN"}, False),
        ("POST", {"Sec-Fetch-Site": "none"}, False),  # typed by the reader
        ("POST", {"Sec-Fetch-Site": "same-site", "Origin": own}, True),  # the header decides
        ("POST", {"Sec-Fetch-Site": "cross-site"}, True),
        ("POST", {"Origin": own}, False),  # an older browser: the Origin against the Host
        ("POST", {"Origin": "https://CONSOLE.hospital.example"}, False),
        ("POST", {"Origin": "https://wiki.hospital.example"}, True),
        ("POST", {"Origin": "https://console.hospital.example:8443"}, True),
        ("POST", {"Origin": "null"}, True),
        ("POST", {}, False),  # no browser's headers at all: left to the CSRF token
        ("DELETE", {"Sec-Fetch-Site": "cross-site"}, True),
        ("GET", {"Sec-Fetch-Site": "cross-site"}, False),  # a link from elsewhere opens a page
        ("HEAD", {"Origin": "null"}, False),
        ("GET", {"Upgrade": "websocket", "Origin": "https://evil.example"}, True),
        ("GET", {"Upgrade": "WebSocket", "Sec-Fetch-Site": "same-origin"}, False),
    ]
    for method, headers, expected in cases:
        assert cross_site(method, headers, host) is expected, (method, headers)
    assert cross_site("POST", {"Origin": own}, None) is True  # no Host: nothing to match


def test_a_full_book_forgets_the_oldest_sign_in_form_first_else_the_oldest() -> None:
    signed_in = {"a": True, "b": False, "c": True, "d": False}  # oldest first
    assert first_to_evict(signed_in, lambda s: s) == "b"
    assert first_to_evict({"a": True, "c": True}, lambda s: s) == "a"
    assert first_to_evict({"b": False, "a": True}, lambda s: s) == "b"
