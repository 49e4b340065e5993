"""The nurses' page's access rules at their edges: sessions (expiry, the cap, a restart's
restore), staff accounts (what an id and a secret must be), the audit log, the lock on
guessing by name and by address, CSRF by header or form, and the sign-in's fresh session.

The HTTP ones run the real page (aiohttp's test server) over real SQLite files, as
test_page_security.py does."""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from edge_agent.exam.errors import ExamStorageError, UnknownExamError
from edge_agent.web.accounts import Accounts, Staff
from edge_agent.web.app import said
from edge_agent.web.context import COOKIE, CTX
from edge_agent.web.errors import AccountError, SignInError
from edge_agent.web.sessions import MAX_SESSIONS, SavedSession, SessionBook, csrf_for, token_key
from stetho_common.sign_in import FREE_FAILURES
from tests.edge_agent.web.test_page_security import PIN, Clock, csrf_of, run, sign_in

# ---- sessions -------------------------------------------------------------------------------


def test_a_session_is_kept_by_its_tokens_hash_and_ends_at_its_expiry() -> None:
    book = SessionBook(lifetime_s=100.0)
    s = book.new(1000.0, "nurse-a", "Marie")
    assert (s.staff, s.display, s.expires) == ("nurse-a", "Marie", 1100.0)
    assert len(s.token) == 43  # 32 random bytes
    assert s.csrf == hmac.new(s.token.encode(), b"stetho-csrf", hashlib.sha256).hexdigest()
    assert token_key(s.token) == hashlib.sha256(s.token.encode()).hexdigest()
    assert list(book._by_key) == [token_key(s.token)]
    assert book.get(s.token, 1099.9) is s
    assert book.get(s.token, 1100.0) is None  # at its expiry, not a moment after
    assert book._by_key == {}  # and forgotten
    t = book.new(1000.0, "nurse-a", "Marie")
    book.end(t.token)
    assert book.get(t.token, 1000.0) is None
    book.end("never-issued")
    assert book.get(None, 1000.0) is None and book.get("", 1000.0) is None


def test_a_sign_in_forms_session_lasts_an_hour_whatever_the_lifetime() -> None:
    book = SessionBook(lifetime_s=12 * 3600.0)
    form = book.new(0.0)
    assert form.staff is None and form.display == "" and form.expires == 3600.0
    assert book.new(0.0, "nurse-a").expires == 12 * 3600.0
    assert book.new(0.0).token != form.token


def test_expired_sessions_go_first_and_the_oldest_give_way_past_the_cap() -> None:
    book = SessionBook(lifetime_s=10.0)
    old = book.new(0.0, "nurse-a")
    kept = book.new(5.0, "nurse-b")
    book.new(10.0, "nurse-c")  # `old` expired at 10: dropped, not counted
    assert len(book._by_key) == 2 and token_key(old.token) not in book._by_key
    first = book.new(11.0, "nurse-d")
    for _ in range(MAX_SESSIONS - 3):
        book.new(11.0, "nurse-x")
    assert len(book._by_key) == MAX_SESSIONS and book.get(kept.token, 11.0) is kept
    book.new(11.0, "nurse-y")  # one past the cap: the oldest (kept) goes
    assert len(book._by_key) == MAX_SESSIONS
    assert book.get(kept.token, 11.0) is None and book.get(first.token, 11.0) is first


def test_a_restored_session_gets_its_token_and_csrf_back_from_the_cookie() -> None:
    book = SessionBook(lifetime_s=100.0)
    token = "a-token-the-nurse-holds"
    book.restore([SavedSession(token_key(token), "nurse-a", "Marie", 50.0),
                  SavedSession(token_key("late"), "nurse-b", "Paul", 10.0)], 10.0)  # fmt: skip
    assert list(book._by_key) == [token_key(token)]  # expired at 10: not restored
    s = book.get(token, 20.0)
    assert s is not None and (s.token, s.csrf) == (token, csrf_for(token))
    assert (s.staff, s.display, s.expires) == ("nurse-a", "Marie", 50.0)
    assert book.get(token, 20.0) is s  # remembered, not rebuilt
    assert book.get("another-token", 20.0) is None
    assert book.get(token, 50.0) is None


# ---- accounts and the audit log -------------------------------------------------------------


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    found = Accounts(tmp_path / "web.sqlite3")
    yield found  # type: ignore[misc]
    found.close()


def test_a_staff_member_signs_in_with_their_secret_only(accounts: Accounts) -> None:
    assert accounts.add("nurse-b", "  Paul  ", "246802") == Staff("nurse-b", "Paul")
    accounts.add("a.z_9-", "Zoé", "x" * 6)
    assert accounts.verify("nurse-b", "246802") == Staff("nurse-b", "Paul")
    for staff, secret in (("nurse-b", "246803"), ("nurse-c", "246802"), ("nurse-b", "")):
        with pytest.raises(SignInError, match=r"^unknown staff id or wrong secret$"):
            accounts.verify(staff, secret)
    accounts.add("nurse-b", "Paul B", "135791")  # a new secret replaces the old
    assert accounts.verify("nurse-b", "135791") == Staff("nurse-b", "Paul B")
    with pytest.raises(SignInError):
        accounts.verify("nurse-b", "246802")
    assert accounts.staff() == [Staff("a.z_9-", "Zoé"), Staff("nurse-b", "Paul B")]


ID_RULE = r"^a staff id is 1-40 lower-case letters, digits, '\.', '_' or '-'$"


@pytest.mark.parametrize(
    ("staff", "display", "secret", "said"),
    [
        ("Nurse", "Marie", PIN, ID_RULE),
        ("-nurse", "Marie", PIN, ID_RULE),
        ("n" * 41, "Marie", PIN, ID_RULE),
        ("", "Marie", PIN, ID_RULE),
        ("nurse", "Marie", "12345", "^a PIN or password has at least 6 characters$"),
        ("nurse", "   ", PIN, "^a display name of 1-80 characters$"),
        ("nurse", "M" * 81, PIN, "^a display name of 1-80 characters$"),
    ],
)
def test_an_account_is_refused_with_its_reason(
    accounts: Accounts, staff: str, display: str, secret: str, said: str
) -> None:
    with pytest.raises(AccountError, match=said):
        accounts.add(staff, display, secret)
    assert accounts.staff() == []


def test_a_secret_is_kept_as_a_salted_32_byte_scrypt_hash(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "web.sqlite3")
    try:
        accounts.add("nurse-a", "Marie", PIN)
        accounts.add("nurse-b", "Paul", PIN)
    finally:
        accounts.close()
    with sqlite3.connect(tmp_path / "web.sqlite3") as db:
        rows = db.execute("SELECT salt, hash, n, r, p FROM staff ORDER BY staff_id").fetchall()
    db.close()
    (salt_a, hash_a, *cost), (salt_b, hash_b, *_) = rows
    assert len(salt_a) == 16 and len(hash_a) == 32 and cost == [2**14, 8, 1]
    assert salt_a != salt_b and hash_a != hash_b  # the same PIN, another salt
    assert PIN.encode() not in hash_a + salt_a


def test_the_longest_id_and_name_are_accepted(accounts: Accounts) -> None:
    accounts.add("n" * 40, "M" * 80, "123456")
    assert accounts.verify("n" * 40, "123456") == Staff("n" * 40, "M" * 80)


def test_the_audit_log_keeps_who_did_what_newest_first(accounts: Accounts) -> None:
    before = time.time()
    accounts.audit("nurse-a", "view-exam", "exam-1")
    accounts.audit("nurse-b", "record", "exam-2")
    newest, oldest = accounts.audit_log()
    assert newest[1:] == ("nurse-b", "record", "exam-2")
    assert oldest[1:] == ("nurse-a", "view-exam", "exam-1")
    assert before <= oldest[0] <= newest[0] <= time.time()
    assert accounts.audit_log(limit=1) == [newest]


def test_kept_sessions_expire_on_disk_and_end_on_sign_out(accounts: Accounts) -> None:
    accounts.keep_session(SavedSession("k1", "nurse-a", "Marie", 100.0))
    accounts.keep_session(SavedSession("k2", "nurse-b", "Paul", 200.0))
    accounts.keep_session(SavedSession("k2", "nurse-b", "Paul", 300.0))  # replaced, not doubled
    assert accounts.sessions(50.0) == [
        SavedSession("k1", "nurse-a", "Marie", 100.0),
        SavedSession("k2", "nurse-b", "Paul", 300.0),
    ]
    assert accounts.sessions(100.0) == [SavedSession("k2", "nurse-b", "Paul", 300.0)]
    assert accounts.sessions(50.0) == [SavedSession("k2", "nurse-b", "Paul", 300.0)]  # deleted
    accounts.drop_session("k2")
    assert accounts.sessions(0.0) == []


def test_the_audit_log_shows_the_newest_hundred_by_default(accounts: Accounts) -> None:
    for n in range(101):
        accounts.audit("nurse-a", "view-exam", f"exam-{n}")
    shown = accounts.audit_log()
    assert len(shown) == 100 and shown[0][3] == "exam-100" and shown[-1][3] == "exam-1"


def test_a_storage_failure_names_what_was_being_done(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "web.sqlite3")
    accounts.close()
    calls = [
        ("saving a staff account", lambda: accounts.add("nurse-a", "Marie", PIN)),
        ("reading staff accounts", lambda: accounts.verify("nurse-a", PIN)),
        ("listing staff", accounts.staff),
        ("writing the audit log", lambda: accounts.audit("nurse-a", "x", "y")),
        ("reading the audit log", accounts.audit_log),
        ("saving a session", lambda: accounts.keep_session(SavedSession("k", "n", "N", 1.0))),
        ("ending a session", lambda: accounts.drop_session("k")),
        ("reading sessions", lambda: accounts.sessions(0.0)),
        ("saving a session's time of use", lambda: accounts.session_used("k", 1.0)),
    ]
    for doing, call in calls:
        with pytest.raises(ExamStorageError, match=f"^{doing}: "):
            call()


# ---- over HTTP --------------------------------------------------------------------------------


def _cookie(client: TestClient) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value


def test_a_sign_in_replaces_the_forms_session_keeps_it_and_audits_it(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        await csrf_of(client, "/login")
        form_token = _cookie(client)
        assert (await client.get("/residents", allow_redirects=False)).status == 303
        assert await sign_in(client) == 303
        token = _cookie(client)
        assert token != form_token and ctx.sessions.get(form_token, clock()) is None
        session = ctx.sessions.get(token, clock())
        assert session is not None and session.staff == "nurse-a"
        assert session.expires == clock() + 3600
        saved = ctx.accounts.sessions(clock())
        assert saved == [
            SavedSession(token_key(token), "nurse-a", "Marie", clock() + 3600, clock())
        ]
        assert ctx.accounts.audit_log()[0][1:] == ("nurse-a", "sign-in", "127.0.0.1")
        csrf = await csrf_of(client, "/residents")
        out = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
        assert out.status == 303 and out.headers["Location"] == "/login"
        assert f'{COOKIE}=""' in out.headers["Set-Cookie"]  # the cookie set at / is removed
        assert "Path=/" in out.headers["Set-Cookie"] and "Max-Age=0" in out.headers["Set-Cookie"]
        assert ctx.sessions.get(token, clock()) is None and ctx.accounts.sessions(clock()) == []
        client.session.cookie_jar.update_cookies({COOKIE: token})
        assert (await client.get("/residents", allow_redirects=False)).status == 303

    run(tmp_path, scenario)


def test_guessing_locks_the_name_and_the_address_apart(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        token = await csrf_of(client, "/login")
        for _ in range(FREE_FAILURES):
            form = {"staff": " Nurse-A ", "secret": "000000", "csrf": token}
            assert (await client.post("/login", data=form)).status == 401
        assert ctx.throttle.retry_after("nurse-a", clock()) == 30.0  # trimmed, lower case
        assert ctx.throttle.retry_after("127.0.0.1", clock()) == 30.0
        locked = await client.post("/login", data={"staff": "nurse-b", "secret": PIN,
                                                   "csrf": token})  # fmt: skip
        assert locked.status == 429 and "30" in await locked.text()  # the address is locked
        ctx.throttle.succeeded("127.0.0.1")
        assert await sign_in(client) == 429  # the name is still locked
        ctx.throttle.succeeded("nurse-a")
        assert await sign_in(client) == 303
        assert ctx.throttle.retry_after("nurse-a", clock()) == 0.0
        ctx.throttle.failed("127.0.0.1", clock())
        assert await sign_in(client) == 303  # a sign-in forgets the address's failures too
        assert ctx.throttle._failures == {}

    run(tmp_path, scenario)


def test_a_sign_in_form_is_read_as_sent_and_refused_in_the_nurses_language(
    tmp_path: Path,
) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        token = await csrf_of(client, "/login")
        empty = await client.post("/login", data={"csrf": token})  # no staff, no secret
        assert empty.status == 401
        assert list(ctx.throttle._failures) == ["", "127.0.0.1"]  # counted under no name
        long_id = "nurse-a" + "x" * 40
        form = {"staff": long_id, "secret": PIN, "csrf": token}
        assert (await client.post("/login", data=form)).status == 401
        assert long_id[:40] in ctx.throttle._failures  # a name is cut at 40, as ids are
        french = {"Accept-Language": "fr-FR"}
        token = await csrf_of(client, "/login")
        form = {"staff": "nurse-a", "secret": "000000", "csrf": token}
        refused = await client.post("/login", data=form, headers=french)
        assert "Identifiant inconnu ou code erroné." in await refused.text()

    run(tmp_path, scenario)


def test_a_sign_in_says_why_it_failed_or_waits_and_logs_who(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        ctx.secure_cookies = True  # behind TLS: the cookie never travels in clear
        login = await client.get("/login")
        assert 'id="signin-message"' not in await login.text()  # nothing said yet
        for part in ("Secure", "Path=/", "HttpOnly", "SameSite=Strict"):
            assert part in login.headers["Set-Cookie"], part
        ctx.secure_cookies = False  # the test client speaks plain HTTP
        assert await sign_in(client, "000000") == 401
        token = await csrf_of(client, "/login")
        form = {"staff": "nurse-a", "secret": "000000", "csrf": token}
        failed = await client.post("/login", data=form)
        assert "Unknown staff id or wrong PIN." in await failed.text()
        for _ in range(FREE_FAILURES - 2):
            assert await sign_in(client, "000000") == 401
        clock.now += 29.5  # half a second of the 30 s lock left
        waiting = await client.post("/login", data={**form, "secret": PIN})
        assert waiting.status == 429
        assert "Too many attempts. Try again in 0 seconds." in await waiting.text()
        clock.now += 0.5
        ctx.throttle.failed("nurse-a", clock())  # one more: the lock doubles to 60 s
        ctx.throttle.succeeded("nurse-a")
        ctx.throttle.failed("nurse-a", clock())  # then fewer than 5, forgotten at a sign-in
        ctx.throttle.succeeded("127.0.0.1")
        signed = await client.post("/login", data={**form, "secret": PIN}, allow_redirects=False)
        assert signed.status == 303 and signed.headers["Location"] == "/residents"
        assert ctx.throttle._failures == {}
        page = await (await client.get("/residents")).text()
        assert "Marie · Sign out" in page  # the session carries the display name

    with caplog.at_level(logging.INFO):
        run(tmp_path, scenario)
    said = [r.getMessage() for r in caplog.records if r.name.startswith("edge_agent")]
    assert "event=signin_throttled staff=nurse-a peer=127.0.0.1" in said
    assert "event=signin staff=nurse-a" in said


def test_csrf_by_header_or_form_and_what_needs_no_session(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert (await client.get("/lang/fr", allow_redirects=False)).status == 303
        assert (await client.post("/residents", data={})).status == 401  # not signed in
        assert (await client.get("/live/steth-1")).status == 401  # a script's stream: no page
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        by_header = await client.post("/residents", data={"ref": "res-2", "label": "Two"},
                                      headers={"X-CSRF-Token": token})  # fmt: skip
        assert by_header.status == 200
        wrong_header = await client.post("/residents", data={"ref": "res-3", "label": "3",
                                                             "csrf": token},
                                         headers={"X-CSRF-Token": "x"})  # fmt: skip
        assert wrong_header.status == 403  # the header, when sent, is the one checked
        empty = await client.post("/residents", headers={"X-CSRF-Token": token})
        assert empty.status == 409  # no form, token by header: checked, then refused input
        assert (await empty.json())["error"]
        no_form = await client.post("/logout")
        assert no_form.status == 403
        ctx = client.server.app[CTX]
        actions = [row[2] for row in ctx.accounts.audit_log()]
        assert actions.count("add-resident") == 1

    run(tmp_path, scenario)


def test_the_language_switch_goes_back_only_to_a_page_of_its_own(tmp_path: Path) -> None:
    async def scenario(client: TestClient, clock: Clock) -> None:
        # Before: "/<tab>/evil.example" passed (no "//" in it) and went out as "//evil.example",
        # another host for any browser, from a link that needs no sign-in.
        for asked, went in [("/exams/1", "/exams/1"), ("//evil.example/", "/"),
                            ("https://evil.example/", "/"), ("/a//b", "/"),
                            ("/\t/evil.example", "/"), ("/\\evil.example", "/"),
                            ("/\n/evil.example", "/"), ("/ /evil.example", "/"),
                            ("/residents/res-1", "/residents/res-1"), ("/", "/")]:  # fmt: skip
            answer = await client.get("/lang/fr", params={"next": asked}, allow_redirects=False)
            assert answer.headers["Location"] == went, asked
        back = await client.get("/lang/en", allow_redirects=False)
        assert back.headers["Location"] == "/residents"
        assert "stetho_lang=en" in back.headers["Set-Cookie"]
        cookie = back.headers["Set-Cookie"]
        for part in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=31536000"):
            assert part in cookie, part
        assert (await client.get("/lang/xx", allow_redirects=False)).status == 404

    run(tmp_path, scenario)


def test_a_refusal_is_said_in_the_language_asked() -> None:
    gone = UnknownExamError("no exam x on this Pi")
    assert said(gone, "fr").startswith("Cet examen est terminé, ou n'est pas sur ce Pi")
    assert said(gone, "en").startswith("This exam is finished, or not on this Pi")
