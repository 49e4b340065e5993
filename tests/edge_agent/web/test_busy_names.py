"""Who holds a stethoscope, as the nurse reads it: a colleague's display name, never her
account id; the logs keep ids only."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from edge_agent.exam.errors import DeviceBusyError, DeviceHeldByOwnExamError, ExamError
from edge_agent.web import stethoscope_rows
from edge_agent.web.app import said
from edge_agent.web.context import CTX, Stethoscope
from edge_agent.web.i18n import CATALOGUES
from edge_agent.web.names import named_values
from firmware_bridge.sources import DeviceEvent, EventKind
from tests.edge_agent.exam.test_service import RATE, Harness
from tests.edge_agent.web.test_page_security import PIN, Clock, csrf_of, run, sign_in


async def _refusal(response: ClientResponse) -> str:
    found = re.search(r'id="error-message">([^<]*)<', await response.text())
    assert found, await response.text()
    return found.group(1).replace("&#39;", "'")


async def _record(client: TestClient, exam: str, token: str) -> ClientResponse:
    return await client.post(f"{exam}/record", data={
        "csrf": token, "site": "aortic", "device": "steth-1"})  # fmt: skip


async def _open_exam(client: TestClient, token: str) -> str:
    form = {"csrf": token, "resident": "res-1", "protocol": "heart-4", "reason": ""}
    opened = await client.post("/exams", allow_redirects=False, data=form)
    return opened.headers["Location"]


def test_a_busy_stethoscope_names_the_colleague_not_her_account_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: "Stethoscope steth-1 is in use by nurse-a" (her account id) on the page.
    caplog.set_level(logging.DEBUG)
    shown: dict[str, str] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        client.server.app[CTX].accounts.add("nurse-b", "Paul", PIN)
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        first = await _open_exam(client, token)
        assert (await _record(client, first, token)).status == 200
        await client.post("/logout", data={"csrf": token})
        token = await csrf_of(client, "/login")
        await client.post("/login", data={"staff": "nurse-b", "secret": PIN,
                                          "csrf": token})  # fmt: skip
        token = await csrf_of(client, "/residents")
        second = await _open_exam(client, token)
        for lang in ("en", "fr"):
            await client.get(f"/lang/{lang}")
            busy = await _record(client, second, token)
            assert busy.status == 409
            shown[lang] = await _refusal(busy)

    run(tmp_path, scenario, attached=("steth-1",))
    for lang, text in shown.items():
        expected = CATALOGUES[lang]["refused.device_busy"].format(device="steth-1", holder="Marie")
        assert text == expected
    assert "Marie" not in caplog.text  # the log names staff by id only
    assert "staff=nurse-a" in caplog.text


def test_her_own_other_exam_holding_it_is_named_by_its_resident(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: "Stethoscope steth-1 is in use by Marie", to Marie herself, her first exam of
    # the day still holding it.
    caplog.set_level(logging.DEBUG)
    shown: dict[str, str] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        exams = [await _open_exam(client, token) for _ in range(2)]
        assert (await _record(client, exams[0], token)).status == 200
        for lang in ("en", "fr"):
            await client.get(f"/lang/{lang}")
            busy = await _record(client, exams[1], token)
            assert busy.status == 409
            shown[lang] = await _refusal(busy)

    run(tmp_path, scenario, attached=("steth-1",))
    assert shown["en"] == (
        "Stethoscope steth-1 is held by your other exam, of Room 1 Mme Secret: finish or "
        "abandon that exam first, then record here."
    )
    assert shown["fr"] == (
        "Le stéthoscope steth-1 est pris par votre autre examen, de Room 1 Mme Secret : "
        "terminez ou abandonnez d'abord cet examen, puis enregistrez ici."
    )
    assert "Secret" not in caplog.text and "Marie" not in caplog.text  # ids only in the log


def test_the_stethoscopes_screen_names_who_holds_one(tmp_path: Path) -> None:
    pages: list[str] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        held = Stethoscope("steth-1", "simulated", True, None, False, holder="nurse-a")
        unknown = Stethoscope("steth-2", "simulated", True, None, False, holder="cli-user")
        client.server.app[CTX].stethoscopes = lambda: [held, unknown]
        assert await sign_in(client) == 303
        await client.get("/lang/en")
        pages.append(await (await client.get("/stethoscopes")).text())

    run(tmp_path, scenario)
    assert "In use by Marie" in pages[0] and "nurse-a" not in pages[0]
    assert "In use by cli-user" in pages[0]  # the local API's caller: no account, its id


def test_a_recording_the_button_started_names_no_one(tmp_path: Path) -> None:
    # Before: "Stethoscope steth-1 is in use by button", to the nurse tapping Record while the
    # chest piece's button recorded the next site of her exam.
    async def main() -> DeviceBusyError:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        exam = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        await s.record(exam.exam_id, "aortic", "steth-1", "nurse-a", 1.0)
        await h.play("steth-1", "normal", 1.5)
        s.event("steth-1", DeviceEvent(EventKind.BUTTON_PRESSED, 0.0))
        await asyncio.sleep(0.05)
        with pytest.raises(DeviceBusyError) as busy:
            await s.record(exam.exam_id, "pulmonic", "steth-1", "nurse-a")
        s.store.close()
        return busy.value

    busy = asyncio.run(main())
    assert busy.words == "device_in_use" and str(busy).endswith("in use by button")
    assert said(busy, "en") == "Stethoscope steth-1 is in use: wait, or choose another."


def test_only_the_holder_is_named_and_an_id_without_an_account_stays() -> None:
    names = {"nurse-a": "Marie", "3": "Trois"}
    assert named_values({"holder": "nurse-a", "device": "nurse-a", "count": 3}, names) == {
        "holder": "Marie", "device": "nurse-a", "count": 3}  # fmt: skip
    assert named_values({"holder": "cli-user"}, names) == {"holder": "cli-user"}


def test_the_service_tells_her_own_exam_from_a_colleague_s(tmp_path: Path) -> None:
    async def main() -> tuple[Exception, Exception]:
        h = Harness(tmp_path)
        s = h.service
        s.attach("steth-1", RATE)
        first = await s.open_exam("res-1", "nurse-a", "", "heart-4")
        await s.record(first.exam_id, "aortic", "steth-1", "nurse-a", 1.0)
        found = []
        for staff in ("nurse-a", "nurse-b"):
            second = await s.open_exam("res-1", staff, "", "heart-4")
            with pytest.raises(ExamError) as refused:
                await s.record(second.exam_id, "aortic", "steth-1", staff)
            found.append(refused.value)
        s.store.close()
        return found[0], found[1]

    own, colleague = asyncio.run(main())
    assert isinstance(own, DeviceHeldByOwnExamError)
    assert own.words == "device_own_exam" and own.values["resident"] == "res-1"
    assert isinstance(colleague, DeviceBusyError) and colleague.values["holder"] == "nurse-a"


def _picker(page: str) -> str:
    found = re.search(r'<select id="device"[^>]*>(.*?)</select>', page, re.S)
    assert found, page
    return found.group(1)


def _all_held(page: str) -> str | None:
    found = re.search(r'<p class="alert" id="all-held" role="status">([^<]*)</p>', page)
    return found.group(1).replace("&#39;", "'") if found else None


def test_the_picker_marks_a_stethoscope_her_other_exam_or_a_colleague_holds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: her other exam's stethoscope listed bare; she learnt it only when refused. Then:
    # marked, but still chosen, and refused after she tapped Record; and with every one held,
    # nothing said what to do.
    caplog.set_level(logging.DEBUG)
    pages: dict[str, str] = {}
    refused: dict[str, int] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        ctx.accounts.add("nurse-b", "Paul", PIN)
        stats = SimpleNamespace(connected=True, battery_percent=80, given_up=None)
        device = SimpleNamespace(id="steth-1", kind="simulated", monitoring=None, address=None)
        agent = SimpleNamespace(devices=[device], exams=ctx.exams,
                                state=SimpleNamespace(devices={"steth-1": stats}))  # fmt: skip
        ctx.stethoscopes = lambda: stethoscope_rows(agent)
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        first, second = [await _open_exam(client, token) for _ in range(2)]
        assert (await _record(client, first, token)).status == 200
        for lang in ("en", "fr"):
            await client.get(f"/lang/{lang}")
            pages[f"own-{lang}"] = await (await client.get(second)).text()
        pages["holding"] = await (await client.get(first)).text()
        refused["own"] = (await _record(client, second, token)).status  # a crafted post
        await client.post("/logout", data={"csrf": token})
        token = await csrf_of(client, "/login")
        await client.post("/login", data={"staff": "nurse-b", "secret": PIN,
                                          "csrf": token})  # fmt: skip
        token = await csrf_of(client, "/residents")
        await client.get("/lang/en")
        third = await _open_exam(client, token)
        pages["colleague"] = await (await client.get(third)).text()
        refused["colleague"] = (await _record(client, third, token)).status

    run(tmp_path, scenario, attached=("steth-1",))
    pickers = {name: _picker(page) for name, page in pages.items()}
    own = 'value="steth-1" disabled>steth-1 · 80&nbsp;% · Held by your exam of Room 1 Mme Secret<'
    assert own in pickers["own-en"]
    assert "· Pris par votre examen de Room 1 Mme Secret<" in pickers["own-fr"]
    assert "In use" not in pickers["own-en"] and "Utilisé" not in pickers["own-fr"]
    assert 'value="steth-1" >steth-1 · 80&nbsp;%</option>' in pickers["holding"]  # its own: bare
    assert 'value="steth-1" disabled>steth-1 · 80&nbsp;% · In use by Marie<' in pickers["colleague"]
    assert "Held" not in pickers["colleague"]
    assert refused == {"own": 409, "colleague": 409}  # the server still refuses a stale page's
    # Every stethoscope held: said plainly, with what to do, and read with the picker.
    for name, lang in (("own-en", "en"), ("own-fr", "fr"), ("colleague", "en")):
        assert _all_held(pages[name]) == CATALOGUES[lang]["exam.all_held"], name
        assert '<select id="device" aria-describedby="all-held">' in pages[name]
        free = CATALOGUES[lang]["exam.none_free"]
        assert f'<option value="" selected disabled>{free}</option>' in pickers[name]
    assert _all_held(pages["holding"]) is None and '<select id="device">' in pages["holding"]
    assert 'value=""' not in pickers["holding"]
    assert "Secret" not in caplog.text and "Marie" not in caplog.text  # ids only in the log


def test_the_stethoscopes_screen_says_her_own_exam_holds_one(tmp_path: Path) -> None:
    # Before: "In use by Marie" on the stethoscopes screen, to Marie, her exam holding it.
    pages: dict[str, str] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        assert (await _record(client, await _open_exam(client, token), token)).status == 200
        slot = ctx.exams.slots["steth-1"]  # the rows as the daemon builds them from its slots
        ctx.stethoscopes = lambda: [Stethoscope("steth-1", "simulated", True, None, False,
                                                holder=slot.claimed_staff,
                                                held_for=slot.claimed_by)]  # fmt: skip
        for lang in ("en", "fr"):
            await client.get(f"/lang/{lang}")
            pages[lang] = await (await client.get("/stethoscopes")).text()

    run(tmp_path, scenario, attached=("steth-1",))
    assert "Held by your exam of Room 1 Mme Secret" in pages["en"]
    assert "Pris par votre examen de Room 1 Mme Secret" in pages["fr"]
    assert "In use by Marie" not in pages["en"] and "Utilisé par Marie" not in pages["fr"]
