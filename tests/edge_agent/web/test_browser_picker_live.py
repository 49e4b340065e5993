"""The exam screen's stethoscope picker kept current in real Chromium, on a desktop in English
and on a tablet held upright in French: a colleague takes a stethoscope, or every one, and
frees them, through the agent's own exam API; the open page marks and offers them again by
itself, without a reload, her choice and the picker's focus kept, and tells her when the
stethoscope she chose can no longer be used.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from edge_agent.exam.store import SOCKET_NAME, exam_dir
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.web.i18n import CATALOGUES
from stetho_testkit.poll import wait_until
from tests.edge_agent.web.agent_proc import STAFF, STAFF_2, running_agent
from tests.edge_agent.web.browser import chromium
from tests.edge_agent.web.test_browser_faults import _open_exam, _pick, _text
from tests.edge_agent.web.test_browser_picker import _keyboard_cannot_reach, _options
from tests.edge_agent.web.test_browser_tablet import UPRIGHT, _show
from tests.edge_agent.web.test_browser_walk import _wait

pytestmark = [pytest.mark.broker, pytest.mark.browser]
DESKTOP = (1366, 768)  # the widest the header test sizes the page to

_STATE = """
const p = document.getElementById('device');
return [p.value, document.activeElement === p, p.getAttribute('aria-describedby') || '',
        window.notReloaded === true];
"""


def _api(tmp: Path, path: str, body: dict[str, Any] | None = None) -> Any:
    """The colleague's request to the running agent's exam API (`stetho exam`'s socket)."""

    async def call() -> Any:
        socket = exam_dir(tmp / "state") / SOCKET_NAME
        async with (
            aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(socket))) as s,
            s.request("POST" if body else "GET", f"http://agent{path}", json=body) as r,
        ):
            return r.status, await r.json()

    return asyncio.run(call())


def _takes(tmp: Path, resident: str, device: str) -> str:
    """Paul opens an exam and records one second with `device`: his exam holds it."""
    status, exam = _api(tmp, "/api/exams", {"resident": resident, "staff": STAFF_2})
    assert status == 200, exam
    body = {"staff": STAFF_2, "device": device, "duration_s": 1}
    status, started = _api(tmp, f"/api/exams/{exam['exam_id']}/record", body)
    assert status == 200, started
    return str(exam["exam_id"])


def _frees(tmp: Path, exam_id: str) -> None:
    """Paul finishes his exam once its recording is done: the stethoscope is free."""
    answers: list[Any] = []

    def closed() -> bool:  # refused while the recording runs
        answers.append(_api(tmp, f"/api/exams/{exam_id}/close", {"staff": STAFF_2}))
        return answers[-1][0] == 200

    wait_until(closed, 20, every_s=0.1, what="the exam to close", describe=lambda: answers[-1])


def _state(d: Any) -> tuple[str, bool, str, bool]:
    value, focused, described, kept = d.execute_script(_STATE)
    return str(value), bool(focused), str(described), bool(kept)


def _opened(d: Any, base: str, size: tuple[int, int], device: str) -> None:
    """Marie's exam open, `device` chosen, the picker focused; a mark a reload would lose."""
    _open_exam(d, base, STAFF, "res-0042")
    _show(d, size)
    _pick(d, device)
    d.execute_script("window.notReloaded = true; document.getElementById('device').focus();")


def test_a_stethoscope_taken_then_freed_is_marked_live_on_a_desktop(
    tmp_path: Path, broker: LocalBroker
) -> None:
    # Before: the open page went on offering steth-1, taken by Paul, until she reloaded it,
    # and her Record was refused.
    words = CATALOGUES["en"]
    with running_agent(tmp_path, broker.port) as base, chromium() as a:
        _opened(a, base, DESKTOP, "steth-1")
        _wait(a, lambda d: _frames(d) > 0, "steth-1 not heard")
        held = _takes(tmp_path, "res-0043", "steth-1")
        _wait(a, lambda d: _options(d)["steth-1"][0], "steth-1 not marked held")
        heard = _frames(a)
        assert _options(a)["steth-1"][1].endswith(" · In use by Paul"), _options(a)
        assert _options(a)["steth-2"][0] is False
        assert _state(a) == ("steth-1", True, "picker-note", True)  # her choice, focus: kept
        said = words["exam.chosen_unusable"].format(stethoscope=_options(a)["steth-1"][1])
        assert _text(a, "#picker-note[role=alert]") == said
        assert not _css_any(a, "#all-held")
        time.sleep(0.3)  # up to 25 events a second while heard: none now (his resident)
        assert _frames(a) == heard

        _frees(tmp_path, held)
        _wait(a, lambda d: not _options(d)["steth-1"][0], "steth-1 not offered again")
        _wait(a, lambda d: _frames(d) > heard, "steth-1 not heard again")
        assert re.fullmatch(r"steth-1 · \d+\xa0%", _options(a)["steth-1"][1])  # no reason left
        assert _state(a) == ("steth-1", True, "", True)
        assert not _css_any(a, "#picker-note")


def test_every_stethoscope_taken_then_one_freed_live_on_a_tablet_in_french(
    tmp_path: Path, broker: LocalBroker
) -> None:
    # Before: with every stethoscope taken while her page was open, nothing changed on it;
    # the page re-marked them by itself only when it had been opened with all held.
    words = CATALOGUES["fr"]
    with running_agent(tmp_path, broker.port) as base, chromium("fr") as a:
        _opened(a, base, UPRIGHT, "steth-2")
        first = _takes(tmp_path, "res-0043", "steth-1")
        _takes(tmp_path, "res-0043", "steth-2")
        _wait(a, lambda d: _text(d, "#all-held") == words["exam.all_held"], "all held not said")
        options = _options(a)
        assert list(options) == ["", "steth-1", "steth-2"], options
        assert all(disabled for disabled, _ in options.values()), options
        assert options[""][1] == words["exam.none_free"]
        assert options["steth-2"][1].endswith(" · Utilisé par Paul"), options
        assert _state(a) == ("steth-2", True, "picker-note all-held", True)
        said = words["exam.chosen_unusable"].format(stethoscope=options["steth-2"][1])
        assert _text(a, "#picker-note") == said

        _frees(tmp_path, first)  # steth-1 free; steth-2, hers, still Paul's
        _wait(a, lambda d: not _css_any(d, "#all-held"), "the page did not offer one again")
        assert list(_options(a)) == ["steth-1", "steth-2"]
        assert _options(a)["steth-1"][0] is False and _options(a)["steth-2"][0] is True
        assert _state(a) == ("steth-2", True, "picker-note", True)
        _keyboard_cannot_reach(a, "steth-2")  # the keys move her to steth-1, never back
        assert _state(a) == ("steth-1", True, "", True) and not _css_any(a, "#picker-note")


def _frames(d: Any) -> int:
    return int(d.execute_script("return window.stethoLive.frames"))


def _css_any(d: Any, css: str) -> bool:
    return bool(d.execute_script("return document.querySelector(arguments[0]) !== null", css))
