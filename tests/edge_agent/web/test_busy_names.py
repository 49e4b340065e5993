"""Who holds a stethoscope, as the nurse reads it: a colleague's display name, never her
account id; the logs keep ids only."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from edge_agent.exam.errors import DeviceBusyError
from edge_agent.web.app import said
from edge_agent.web.context import CTX, Stethoscope
from edge_agent.web.i18n import CATALOGUES
from edge_agent.web.names import named_values
from firmware_bridge.sources import DeviceEvent, EventKind
from tests.edge_agent.exam.test_service import RATE, Harness
from tests.edge_agent.web.test_page_security import Clock, csrf_of, run, sign_in


async def _refusal(response: ClientResponse) -> str:
    found = re.search(r'id="error-message">([^<]*)<', await response.text())
    assert found, await response.text()
    return found.group(1).replace("&#39;", "'")


def test_a_busy_stethoscope_names_the_colleague_not_her_account_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: "Stethoscope steth-1 is in use by nurse-b" (his account id) on the page.
    caplog.set_level(logging.DEBUG)
    shown: dict[str, str] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        ctx = client.server.app[CTX]
        await asyncio.to_thread(ctx.accounts.add, "nurse-b", "Paul", "135790")
        colleague = await ctx.exams.open_exam("res-1", "nurse-b", "", "heart-4")
        await ctx.exams.record(colleague.exam_id, "aortic", "steth-1", "nurse-b")
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        form = {"csrf": token, "resident": "res-1", "protocol": "heart-4", "reason": ""}
        opened = await client.post("/exams", allow_redirects=False, data=form)
        for lang in ("en", "fr"):
            await client.get(f"/lang/{lang}")
            busy = await client.post(f"{opened.headers['Location']}/record", data={
                "csrf": token, "site": "aortic", "device": "steth-1"})  # fmt: skip
            assert busy.status == 409
            shown[lang] = await _refusal(busy)

    run(tmp_path, scenario, attached=("steth-1",))
    for lang, text in shown.items():
        expected = CATALOGUES[lang]["refused.device_busy"].format(device="steth-1", holder="Paul")
        assert text == expected
    assert "Paul" not in caplog.text  # the log names staff by id only
    assert "by=nurse-b" in caplog.text


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
