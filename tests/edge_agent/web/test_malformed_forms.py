"""Every POST route of the nurses' page, sent forms no page of ours sends: fields missing, of
the wrong kind, huge, not UTF-8, or with a wrong CSRF token. Each answer is a refusal in the
nurse's language (a 4xx; or, where a route reads no such field, what it does anyway), never a
500 and a traceback."""

from __future__ import annotations

import io
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from edge_agent.web.app import build_app
from edge_agent.web.context import CTX
from edge_agent.web.i18n import CATALOGUES
from tests.edge_agent.web.test_page_security import Clock, csrf_of, opened_exam, run, sign_in

HUGE = "x" * 150_000  # 11 such fields stay under the 2 MiB body limit: each is read


def cases(token: str) -> dict[str, dict[str, str | list[str]]]:
    return {
        "missing": {"csrf": token},
        "wrong kinds": {
            "csrf": token, "resident": ["res-1", "res-2"], "protocol": "custom",
            "site": "elbow", "age_band": "7", "duration_s": "ten", "device": "steth-1",
            "ref": "res-2", "label": "", "file": "not,a,csv", "address": "zz",
        },
        "nan": {"csrf": token, "site": "aortic", "device": "steth-1", "duration_s": "nan"},
        "infinite": {"csrf": token, "site": "aortic", "device": "steth-1", "duration_s": "1e309"},
        "negative": {"csrf": token, "site": "aortic", "device": "steth-1", "duration_s": "-5"},
        "huge": {
            name: HUGE
            for name in ("resident", "protocol", "site", "device", "ref", "label", "reason",
                         "address", "location", "age_band", "duration_s", "q")
        } | {"csrf": token},
    }  # fmt: skip


ROUTES = (
    "/residents", "/residents/import", "/residents/search", "/exams", "/exams/{exam}/record",
    "/exams/{exam}/stop", "/exams/{exam}/close", "/exams/{exam}/abandon", "/exams/not-an-id/record",
    "/stethoscopes/scan", "/stethoscopes/pair", "/stethoscopes/pairing/no-job/cancel",
    "/requests/{request}/accept", "/requests/{request}/dismiss", "/requests/not-an-id/accept",
)  # fmt: skip
# Routes that read no field (abandon) or do nothing for a field they do not know (nothing to
# stop, no request to dismiss): the junk beside the token is ignored, the page goes back.
IGNORED = {"/exams/{exam}/abandon", "/exams/{exam}/stop", "/requests/{request}/dismiss"}
SEARCH = "/residents/search"  # any text is a search (cut at 80 characters): the list, a 200


@dataclass(frozen=True)
class Answer:
    status: int
    said: str


async def _post(
    client: TestClient, path: str, form: dict[str, str | list[str]], lang: str
) -> ClientResponse:
    """The form as a browser would encode it (a repeated field for a list); as a stream, which
    aiohttp takes without warning at any size."""
    body = io.BytesIO(urlencode(form, doseq=True).encode())
    headers = {"Accept-Language": lang, "Content-Type": "application/x-www-form-urlencoded"}
    return await client.post(path, data=body, headers=headers, allow_redirects=False)


async def _answer(response: ClientResponse) -> Answer:
    text = await response.text()
    found = (
        re.search(r'id="error-message">([^<]*)<', text)
        or re.search(r'id="signin-message">([^<]*)<', text)
        or re.search(r'id="problems">(.*?)</ul>', text, re.S)
    )
    return Answer(response.status, found.group(1) if found else "")


def test_the_routes_here_are_every_post_route_of_the_page() -> None:
    app = build_app(None)  # type: ignore[arg-type]  # only the routes are read
    posted = {r.resource.canonical for r in app.router.routes() if r.method == "POST"}
    ours = {re.sub(r"\{(exam|request)\}|not-an-id|no-job", "{x}", r) for r in ROUTES}
    theirs = {re.sub(r"\{[a-z_]+\}", "{x}", p) for p in posted}
    assert theirs - {"/login", "/logout"} == ours


def test_every_malformed_form_is_refused_in_the_nurses_language(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    answers: dict[tuple[str, str, str], Answer] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        for route in ROUTES:
            for name, form in cases(token).items():
                for lang in ("fr", "en"):
                    opened = await client.post("/exams", allow_redirects=False, data={
                        "csrf": token, "resident": "res-1", "protocol": "heart-4",
                        "age_band": "adult"})  # fmt: skip
                    path = route.format(exam=opened.headers["Location"][len("/exams/"):],
                                        request=uuid.uuid4())  # fmt: skip
                    response = await _post(client, path, form, lang)
                    answers[(route, name, lang)] = await _answer(response)

    with caplog.at_level(logging.INFO):
        run(tmp_path, scenario, attached=("steth-1",))
    assert not [r for r in caplog.records if r.exc_info], "a traceback in the log"
    for (route, name, lang), answer in answers.items():
        if lang == "en":
            continue
        english = answers[(route, name, "en")]
        where = f"{route} {name}: {answer}"
        if route in IGNORED:
            assert answer.status == 303, where
            continue
        if route == SEARCH:
            assert answer.status == 200 and not answer.said, where
            continue
        assert 400 <= answer.status < 500 and answer.status != 413, where  # each field read
        assert answer.said and answer.said != english.said, f"{where} is not French"


@pytest.mark.parametrize(
    ("value", "french"),
    [
        ("ten", "Un enregistrement dure de 1 à 120 secondes : « ten » n'en est pas un nombre."),
        ("nan", "Un enregistrement dure de 1 à 120 secondes : « nan » n'en est pas un nombre."),
        ("-5", "Un enregistrement dure de 1 à 120 secondes : « -5 » n'en est pas un nombre."),
    ],
)
def test_a_recording_length_that_is_no_number_of_seconds_is_said_why(
    tmp_path: Path, value: str, french: str
) -> None:
    # Before: a 500 and a traceback ("could not convert string to float", "cannot convert
    # float NaN to integer", "duration_s must be positive").
    said: list[Answer] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam, token = await opened_exam(client)
        form = {"csrf": token, "site": "aortic", "device": "steth-1", "duration_s": value}
        response = await client.post(f"{exam}/record", data=form, headers={"Accept-Language": "fr"})
        said.append(await _answer(response))
        good = await client.post(f"{exam}/record", data={**form, "duration_s": "2"},
                                 allow_redirects=False)  # fmt: skip
        said.append(Answer(good.status, ""))

    run(tmp_path, scenario, attached=("steth-1",))
    assert said[0] == Answer(409, french.replace("'", "&#39;"))
    assert said[1].status == 303  # the same form with a length in range records


def test_the_pairing_forms_refuse_in_the_nurses_language(tmp_path: Path) -> None:
    # Before: "cannot scan: ...", "'ZZ' is not a Bluetooth address: scan again" and "this
    # pairing is not known here ..." in English on a French tablet.
    from firmware_bridge.errors import AdapterUnavailableError

    async def no_adapter() -> list[object]:
        raise AdapterUnavailableError("powered-off", "the Bluetooth adapter is powered off")

    said: dict[str, Answer] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        ctx.scan = no_adapter  # type: ignore[assignment]
        ctx.pair = no_adapter  # type: ignore[assignment]  # never reached: each form is refused
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/stethoscopes")
        for name, path, form in [
            ("scan", "/stethoscopes/scan", {"csrf": token}),
            ("no address", "/stethoscopes/pair", {"csrf": token}),
            ("bad address", "/stethoscopes/pair", {"csrf": token, "address": "zz"}),
            ("huge address", "/stethoscopes/pair", {"csrf": token, "address": HUGE}),
            ("no job", "/stethoscopes/pairing/no-job/cancel", {"csrf": token}),
        ]:
            said[name] = await _answer(await _post(client, path, form, "fr"))

    run(tmp_path, scenario)
    fr = {k: v.replace("'", "&#39;") for k, v in CATALOGUES["fr"].items()}
    assert said == {
        "scan": Answer(409, fr["refused.scan_failed"]),
        "no address": Answer(409, fr["refused.bad_address"]),
        "bad address": Answer(409, fr["refused.bad_address"]),
        "huge address": Answer(409, fr["refused.bad_address"]),
        "no job": Answer(409, fr["refused.pairing_unknown"]),
    }


def test_a_panel_version_that_is_no_number_answers_at_once(tmp_path: Path) -> None:
    # Before: int("abc") in the handler, a 500 and a traceback.
    statuses: list[int] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exam, _ = await opened_exam(client)
        for since in ("abc", "", "1e3"):
            panel = await client.get(f"{exam}/panel?since={since}")
            statuses.append(panel.status)

    run(tmp_path, scenario)
    assert statuses == [200, 200, 200]


def test_the_sign_in_and_out_forms_refuse_in_the_nurses_language(tmp_path: Path) -> None:
    answers: dict[tuple[str, str, str], Answer] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        token = await csrf_of(client, "/login")
        forms: dict[str, dict[str, str | list[str]]] = {
            "missing": {"csrf": token},
            "wrong kinds": {"csrf": token, "staff": ["nurse-a", "nurse-b"], "secret": ""},
            "huge": {"csrf": token, "staff": HUGE, "secret": HUGE},
            "wrong csrf": {"csrf": "forged", "staff": "nurse-a", "secret": "0"},
        }
        for name, form in forms.items():
            for lang in ("fr", "en"):  # refused sign-ins lock the address: 401, then 429
                answers[("/login", name, lang)] = await _answer(
                    await _post(client, "/login", form, lang)
                )
        clock.now += 3600  # the lock lifted (the form's session too: a new one)
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        for lang in ("fr", "en"):
            forged = {"csrf": "forged", "staff": "x"}
            answers[("/logout", "wrong csrf", lang)] = await _answer(
                await _post(client, "/logout", forged, lang)
            )
        left = await _post(client, "/logout", {"csrf": token, "staff": HUGE}, "fr")
        answers[("/logout", "junk beside the token", "fr")] = Answer(left.status, "")

    run(tmp_path, scenario)
    assert answers.pop(("/logout", "junk beside the token", "fr")).status == 303  # read none
    for (route, name, lang), answer in answers.items():
        if lang == "fr":
            where = f"{route} {name}: {answer}"
            assert answer.status in (401, 403, 429), where
            assert answer.said and answer.said != answers[(route, name, "en")].said, where
