"""The exam screen's stethoscope picker in real Chromium, at the tablet's size, against a real
agent and broker: a stethoscope another exam holds is listed with why, and cannot be chosen,
by touch, by the keyboard or by a script; with every one held, the page says what to do, and
offers one again as soon as it is free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.web.i18n import CATALOGUES
from stetho_testkit.browser import read
from tests.edge_agent.web.agent_proc import STAFF, STAFF_2, running_agent
from tests.edge_agent.web.browser import chromium
from tests.edge_agent.web.test_browser_faults import _open_exam, _pick, _text
from tests.edge_agent.web.test_browser_walk import _click, _css, _shot, _wait

pytestmark = [pytest.mark.broker, pytest.mark.browser]


def _options(d: Any) -> dict[str, tuple[bool, str]]:
    """Each stethoscope the picker lists: whether it is disabled, and its words."""
    rows = read(d, "#device option", "value", "disabled", "innerText")
    return {value: (disabled == "True", text) for value, disabled, text in rows}


def _keyboard_cannot_reach(d: Any, device: str) -> None:
    """Up, down, Home and End on the focused picker never land on `device`."""
    from selenium.webdriver.common.keys import Keys

    picker = _css(d, "#device")[0]
    for key in (Keys.HOME, Keys.ARROW_UP, Keys.ARROW_DOWN, Keys.END, Keys.ARROW_UP):
        picker.send_keys(key)
        value = d.execute_script("return document.getElementById('device').value")
        assert value != device, key


def _done(d: Any, site: str) -> None:
    _wait(d, lambda d: _css(d, f'#summary tr:not(.pending)[data-site="{site}"]'), site)


def test_a_held_stethoscope_cannot_be_chosen_and_all_held_is_said(
    tmp_path: Path, broker: LocalBroker
) -> None:
    # Before: "In use by Marie" beside steth-1, yet chosen, and refused after Record.
    with (
        running_agent(tmp_path, broker.port) as base,
        chromium() as a,
        chromium() as b,
    ):
        _open_exam(a, base, STAFF, "res-0042")
        _pick(a, "steth-1")
        _click(a, '#record[data-site="aortic"]')
        _done(a, "aortic")  # Marie's exam now holds steth-1 until it is finished
        _open_exam(b, base, STAFF_2, "res-0043")
        options = _options(b)
        disabled, words = options["steth-1"]
        assert disabled and words.endswith(" · In use by Marie"), options
        assert options["steth-2"][0] is False
        assert b.execute_script("return document.getElementById('device').value") == "steth-2"
        colour = b.execute_script(
            "return getComputedStyle(document.querySelector('#device option[disabled]')).color"
        )
        assert colour == "rgb(85, 85, 85)"  # readable grey, not the browser's faint one
        _keyboard_cannot_reach(b, "steth-1")
        with pytest.raises(NotImplementedError):  # selenium's word for a disabled option
            _pick(b, "steth-1")
        assert not _css(b, "#all-held")

        _pick(a, "steth-2")  # Marie's exam takes the other one too
        _click(a, '#record[data-site="pulmonic"]')
        _done(a, "pulmonic")
        b.refresh()
        _wait(b, lambda d: _css(d, "#all-held"), "every stethoscope held: not said")
        assert all(disabled for disabled, _ in _options(b).values()), _options(b)
        assert list(_options(b)) == ["", "steth-1", "steth-2"]
        assert b.execute_script("return document.getElementById('device').value") == ""
        assert _text(b, "#device option:checked") == "No stethoscope free"  # not a blank box
        _shot(b, tmp_path, "all-held")
        said = CATALOGUES["en"]["exam.all_held"]
        assert _text(b, "#all-held") == said
        assert _css(b, '#device[aria-describedby="all-held"]')
        _click(b, '#record[data-site="aortic"]')
        assert _wait(b, lambda d: _text(d, "#page-error"), "Record said nothing") == said
        assert not _css(b, "#recording-now")
        _click(b, "#lang-fr")
        _wait(b, lambda d: _text(d, "#all-held") == CATALOGUES["fr"]["exam.all_held"], "no French")
        assert _text(b, "#device option:checked") == "Aucun stéthoscope libre"
        disabled, words = _options(b)["steth-1"]
        assert disabled and words.endswith(" · Utilisé par Marie"), words

        _click(a, "#close")  # Marie finishes her exam: both come free
        _wait(a, lambda d: _css(d, '#panel-inner[data-state="done"]'), "A's exam not closed")
        _wait(b, lambda d: not _css(d, "#all-held"), "the page did not offer them again")
        offered = _options(b)
        assert offered == {k: (False, v[1]) for k, v in offered.items()}, offered
        assert b.execute_script("return document.getElementById('device').value") == "steth-1"
        assert "Aucun" not in str(offered)  # still in French, without the placeholder
