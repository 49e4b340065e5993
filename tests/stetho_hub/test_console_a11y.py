"""The doctor's console against axe-core's rules (WCAG 2.0/2.1 A and AA, best practices), in
real Chromium.

One console and one browser: the sign-in page, then every page a signed-in doctor sees (the
inbox, the homes, a recording with its picture, an exam, live listening, another home's
recording and exam refused), in English on a laptop and in French on a tablet (the sign-in
page in both languages at both sizes). Then the states a first visit never shows, once per
language: a wrong password and a name locked out, an empty inbox, an exam after its decision
was sent, a form refused (CSRF), a page for administrators only, and the page asking to retry
when the database fails.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stetho_common.sign_in import FREE_FAILURES
from stetho_hub.console.words import words
from stetho_hub.storage import open_database
from stetho_hub.storage.users import add_user
from stetho_testkit.axe import axe_in_every_page, violations
from stetho_testkit.browser import clicked, give_back
from stetho_testkit.hub.console import PASSWORD, Archived, console_running
from tests.edge_agent.web.test_browser_tablet import UPRIGHT, _show
from tests.stetho_hub.test_console_browser import _chromium, _wait

pytestmark = [pytest.mark.browser]
LAPTOP = (1366, 768)
SIZES = (UPRIGHT, LAPTOP)
# Past sign-in, each page once per language and once per size: the rules read the markup and
# its styles, which change with one or the other, not with the pair (the full square cost 9 s).
EACH_ONCE = ((LAPTOP, "en"), (UPRIGHT, "fr"))
Check = Callable[[str, tuple[int, int]], None]
# What a page must show for its audit to be the state it is named after.
SHOWS = {
    "/recordings/<id> (asked)": ("#send-decision", "#requested"),
    "/exams/<id> (decided)": ("#send-decision", "#decided"),
}
# Post the sign-in form `count` times under `name` with a wrong password.
_LOCK = """
const [name, count, done] = arguments;
const form = new FormData(document.querySelector('form[action="/signin"]'));
form.set('username', name);
form.set('password', 'wrong');
const body = new URLSearchParams(form);
(async () => { for (let i = 0; i < count; i++) await fetch('/signin', {method: 'POST', body}); })()
  .then(() => done(null), e => done(String(e)));
"""


def test_every_console_page_passes_axe_in_both_languages_and_sizes(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    found: list[str] = []
    with console_running(tmp_path) as hub:
        _a_doctor_without_recordings(hub)
        d = _chromium()
        try:
            d.set_page_load_timeout(30)
            axe_in_every_page(d)

            def check(page: str, size: tuple[int, int]) -> None:
                lang = d.execute_script("return document.documentElement.lang")
                where = f"{page} [{lang} {size[0]}x{size[1]}]"
                found.extend(violations(d, where))

            for size in SIZES:  # one resize per size: each costs more than a page
                _show(d, size)
                for lang in ("en", "fr"):
                    d.get(f"{hub.url}/signin?lang={lang}")
                    if (size, lang) in EACH_ONCE:  # the page as refusals leave it: all of it
                        _refused_sign_ins(d, hub, lang, size, check, size == SIZES[0])
                    else:
                        check("/signin", size)
            _sign_in(d, hub.url, "dr-a")
            pages = {
                "/": "/",
                "/homes": "/homes",
                # The page its request form goes back to: its form, the request said sent.
                "/recordings/<id> (asked)": f"/recordings/{hub.home_a.recording_id}?requested=1",
                "/live/<site>/<device>": "/live/home-a/steth-a",
                "/recordings/<another home's>": f"/recordings/{hub.home_b.recording_id}",
                "/exams/<another home's>": f"/exams/{hub.exam_b}",
                "/audit.csv (administrators only)": "/audit.csv",
                # The page its decision form goes back to: its form, the decision said sent.
                "/exams/<id> (decided)": f"/exams/{hub.exam_a}?decided=1",
            }
            for size, lang in EACH_ONCE:
                _show(d, size)
                for page, path in pages.items():
                    d.get(f"{hub.url}{path}{'&' if '?' in path else '?'}lang={lang}")
                    assert all(d.find_elements(By.CSS_SELECTOR, c) for c in SHOWS.get(page, ()))
                    check(page, size)
                _refused_form(d, lang, size, check)
                # dr-c's session lives on localhost: cookies tell hosts apart, not ports.
                d.get(f"{_other_host(hub.url)}/?lang={lang}")
                _wait(lambda: d.find_elements(By.ID, "empty"))
                check("/ (an empty inbox)", size)
                # Last: its page holds no live connection (an inbox's, left open at the end,
                # held the console's stop for seconds).
                _storage_down(d, hub, lang, size, check)
        finally:
            give_back(d)
    assert not found, "\n" + "\n".join(found)


def _a_doctor_without_recordings(hub: Archived) -> None:
    db = open_database(hub.target)
    try:
        add_user(db, "dr-c", PASSWORD, "doctor", ("home-c",))
    finally:
        db.close()


def _other_host(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


def _sign_in(d: Any, url: str, name: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    d.get(f"{url}/signin")
    _post_sign_in(d, name, password)
    _wait(lambda: d.find_elements(By.ID, "inbox"))


def _post_sign_in(d: Any, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    d.find_element(By.ID, "username").send_keys(name)
    d.find_element(By.ID, "password").send_keys(password)
    sent = d.find_element(By.ID, "signin")
    sent.click()
    _wait(lambda: _gone(sent))  # the answer's page, not the form's
    _wait(lambda: d.find_elements(By.CSS_SELECTOR, "#signin, #inbox"))


def _gone(element: Any) -> bool:
    """The element's page was replaced (Chromium says so in one of two ways mid-load)."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def _said(d: Any, text: str) -> bool:
    from selenium.webdriver.common.by import By

    return any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, "p.error"))


def _refused_sign_ins(
    d: Any, hub: Archived, lang: str, size: tuple[int, int], check: Check, first: bool
) -> None:
    """A wrong password, then a name locked out (the console counts failures by name); and
    dr-c signed in on the other host name once, for the empty inbox later. `first`: the name
    to lock takes its first failure from the wrong password (each failure costs a scrypt)."""
    w = words(lang)
    _post_sign_in(d, "locked" if first else f"nobody-{lang}", "wrong")
    assert _said(d, w["signin.wrong"])
    check("/signin (wrong password)", size)
    if first:  # the other failures that lock it: the page's own fetch, no page drawn
        assert d.execute_async_script(_LOCK, "locked", FREE_FAILURES - 1) is None
    _post_sign_in(d, "locked", "wrong")
    assert _said(d, w["signin.wait"].split("{")[0])
    check("/signin (locked out)", size)
    if not first:
        _sign_in(d, _other_host(hub.url), "dr-c")


def _refused_form(d: Any, lang: str, size: tuple[int, int], check: Check) -> None:
    """A form whose token is wrong, as a page left open past its session sends it."""
    from selenium.webdriver.common.by import By

    d.execute_script("document.querySelectorAll('[name=csrf]').forEach(e => e.value = 'x')")
    _wait(lambda: clicked(d, 'form[action="/signout"] button'))
    _wait(lambda: d.find_elements(By.ID, "refused"))
    assert words(lang)["error.csrf"] in d.find_element(By.ID, "refused").text
    check("/signout (form refused)", size)


def _storage_down(d: Any, hub: Archived, lang: str, size: tuple[int, int], check: Check) -> None:
    """The audit log cannot be written (renamed away for a moment): every page refuses to show
    health data unaudited and asks to retry (503)."""
    from selenium.webdriver.common.by import By

    db = sqlite3.connect(hub.target.location)
    try:
        db.execute("ALTER TABLE audit_log RENAME TO audit_log_away")
        try:
            d.get(f"{hub.url}/?lang={lang}")
            _wait(lambda: d.find_elements(By.ID, "refused"))
            assert words(lang)["error.storage"] in d.find_element(By.ID, "refused").text
            check("/ (the database failing)", size)
        finally:
            db.execute("ALTER TABLE audit_log_away RENAME TO audit_log")
    finally:
        db.close()
