"""A doctor's request accepted for a child is examined in the child's age band.

The band picks the rate ranges and how fast a breathing is sought (twice the band's urgent
rate): an exam opened from a request was always "adult", so an infant's 72 breaths a minute
that the nurse's own exam reads at 72 (urgent) were read at 36 (normal) when a doctor asked.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

from aiohttp.test_utils import TestClient

from edge_agent.exam.service import RecordRequest
from edge_agent.web.context import CTX
from edge_agent.web.i18n import CATALOGUES
from tests.edge_agent.web.test_page_security import Clock, csrf_of, run, sign_in


def _requested(client: TestClient, clock: Clock) -> str:
    wanted = RecordRequest(uuid.uuid4(), "res-1", "lung-left-lower", None, "dr-house", clock.now)
    client.server.app[CTX].exams.requests[wanted.request_id] = wanted
    return f"/requests/{wanted.request_id}/accept"


def test_the_nurse_names_the_age_band_when_she_accepts(tmp_path: Path) -> None:
    bands: list[str] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/requests")
        accept = _requested(client, clock)
        page = await (await client.get("/requests")).text()
        assert re.search(rf'<form method="post" action="{accept}".*?name="age_band"', page, re.S)
        for band in ("under_1", None):  # None: a form without the field, as before
            if band is None:
                accept = _requested(client, clock)
            form = {"csrf": token} | ({"age_band": band} if band else {})
            answer = await client.post(accept, data=form, allow_redirects=False)
            assert answer.status == 303
            exam_id = uuid.UUID(answer.headers["Location"].removeprefix("/exams/"))
            bands.append(client.server.app[CTX].exams.exams[exam_id].age_band)

    run(tmp_path, scenario)
    assert bands == ["under_1", "adult"]


def test_a_band_that_is_none_is_refused_and_the_request_kept(tmp_path: Path) -> None:
    said: list[tuple[int, int]] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/requests")
        accept = _requested(client, clock)
        refused = await client.post(
            accept, data={"csrf": token, "age_band": "newborn"}, headers={"Accept-Language": "fr"}
        )
        assert CATALOGUES["fr"]["refused.age_band"].replace("'", "&#39;") in await refused.text()
        said.append((refused.status, len(client.server.app[CTX].exams.requests)))

    run(tmp_path, scenario)
    assert said == [(409, 1)]


def test_a_double_tap_on_accept_opens_the_nurses_exam_not_a_refusal(tmp_path: Path) -> None:
    # Before: the second of two quick taps was told "Another nurse has already accepted or
    # dismissed this request" (Chromium shows the second answer), while her own exam, opened
    # by the first tap, stayed out of sight.
    went: list[str] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/requests")
        accept = _requested(client, clock)
        form = {"csrf": token, "age_band": "under_1"}
        for _ in range(2):
            answer = await client.post(accept, data=form, allow_redirects=False)
            went.append(f"{answer.status} {answer.headers.get('Location')}")

    run(tmp_path, scenario)
    assert went[0].startswith("303 /exams/") and went[1] == went[0]


def test_two_taps_at_once_on_accept_both_open_her_exam(tmp_path: Path) -> None:
    # Before: the second tap, while the first was still opening the exam, was refused.
    went: list[str] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/requests")
        accept = _requested(client, clock)
        form = {"csrf": token, "age_band": "adult"}
        taps = await asyncio.gather(*(client.post(accept, data=form, allow_redirects=False)
                                      for _ in range(2)))  # fmt: skip
        went.extend(f"{tap.status} {tap.headers.get('Location')}" for tap in taps)
        assert len(client.server.app[CTX].exams.exams) == 1

    run(tmp_path, scenario)
    assert went[0].startswith("303 /exams/") and went[1] == went[0]


def test_a_request_another_nurse_accepted_is_still_refused(tmp_path: Path) -> None:
    said: list[int] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/requests")
        accept = _requested(client, clock)
        request_id = uuid.UUID(accept.split("/")[2])
        await client.server.app[CTX].exams.accept(request_id, "nurse-b")
        refused = await client.post(accept, data={"csrf": token}, allow_redirects=False)
        said.append(refused.status)

    run(tmp_path, scenario)
    assert said == [409]
