"""The nurse's exam page after a recording with mains hum or a faint sound: a line of advice in
her language, and the site done all the same (the next site is offered, no re-record).

The recording goes the real way: the simulator's `mains-hum` chest through the segmenter, the
analysis and the verdict into the exam service, then the page as the tablet gets it.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from edge_agent.exam.service import ExamService
from edge_agent.pipeline.recordings import process_capture
from edge_agent.web import WebContext, build_app
from edge_agent.web.accounts import Accounts
from edge_agent.web.i18n import CATALOGUES
from edge_agent.web.render import templates
from edge_agent.web.sessions import SessionBook
from stetho_signal import TriageThresholds
from stetho_sim.synth import synthesize
from tests.edge_agent.exam.test_service import RATE, Harness
from tests.edge_agent.web.test_page_security import PIN, Clock, sign_in


async def _play(service: ExamService, scenario: str, seconds: float) -> None:
    """Feed steth-1's segmenter; analyse what it completes on a thread, as the daemon does."""
    slot = service.slots["steth-1"]
    assert slot.segmenter is not None
    audio = synthesize(scenario, seconds, RATE, seed=2).samples
    for start in range(0, len(audio), RATE // 10):
        for capture in slot.segmenter.feed(audio[start : start + RATE // 10], start / RATE):
            ctx = service.context_for("steth-1", capture.recording_id)
            assert ctx is not None
            done = await asyncio.to_thread(process_capture, capture, ctx, TriageThresholds())
            await service.recorded(done)


def _page(tmp: Path, lang: str, scenario: str) -> str:
    # Set-up that hashes and compiles runs before the loop (the agent does it at start).
    env = templates()
    accounts = Accounts(tmp / "web.sqlite3")
    accounts.add("nurse-a", "Marie", PIN)

    async def main() -> str:
        service = Harness(tmp).service
        service.attach("steth-1", RATE)
        exam = await service.open_exam("res-1", "nurse-a", "cough", "custom", ("mitral", "aortic"))
        await service.record(exam.exam_id, "mitral", "steth-1", "nurse-a")
        await _play(service, scenario, 4.5)
        ctx = WebContext(service, accounts, SessionBook(3600), env, lambda: [], False,
                         clock=Clock())  # fmt: skip
        try:
            async with TestClient(TestServer(build_app(ctx))) as client:
                await client.get(f"/lang/{lang}")
                assert await sign_in(client) == 303
                return await (await client.get(f"/exams/{exam.exam_id}")).text()
        finally:
            service.store.close()

    try:
        return asyncio.run(main()).replace("&#39;", "'")
    finally:
        accounts.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(
    ("scenario", "key"),
    [("mains-hum", "advice.mains_hum"), ("low-gain", "advice.faint")],  # a charger; low volume
)
def test_a_notice_is_one_line_of_advice_and_the_site_is_done(
    tmp_path: Path, lang: str, scenario: str, key: str
) -> None:
    page = _page(tmp_path, lang, scenario)
    words = CATALOGUES[lang]
    notices = re.search(r'<ul class="notices" id="notices">(.*?)</ul>', page, re.S)
    assert notices is not None, page
    assert notices.group(1) == f'<li class="advice" data-advice="{key}">{words[key]}</li>'
    assert words["exam.verdict_ok"] in page and words["exam.verdict_bad"] not in page
    assert 'id="record" data-site="aortic"' in page and 'id="rerecord"' not in page
    assert "dBFS" not in page and " Hz" not in page  # no jargon for her


def test_the_words_a_nurse_reads(tmp_path: Path) -> None:
    page = _page(tmp_path, "fr", "mains-hum")
    assert (
        "Bourdonnement électrique capté puis retiré : la prochaine fois, tenez le stéthoscope "
        "et son câble à l'écart des chargeurs, moteurs de lit et appareils branchés, ou "
        "débranchez un chargeur qui peut attendre."
    ) in page
    assert "Hz" not in page.split('id="notices"')[1].split("</ul>")[0]  # no jargon for her


def test_no_hum_no_advice(tmp_path: Path) -> None:
    page = _page(tmp_path, "en", "normal")
    assert 'id="notices"' not in page and "Electrical hum" not in page
    assert 'id="record" data-site="aortic"' in page
