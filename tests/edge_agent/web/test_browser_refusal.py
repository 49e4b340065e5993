"""A refusal at the bedside, in real Chromium on a tablet held upright, in French: the nurse
who left one exam open and taps Record in another reads, where she is looking, which exam
holds the stethoscope."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.browser import clicked
from tests.edge_agent.web.agent_proc import STAFF, running_agent
from tests.edge_agent.web.browser import chromium
from tests.edge_agent.web.test_browser_faults import _open_exam, _pick, _text
from tests.edge_agent.web.test_browser_tablet import UPRIGHT, _show
from tests.edge_agent.web.test_browser_walk import _click, _css, _wait

pytestmark = [pytest.mark.broker, pytest.mark.browser]

# Where the refusal's box lies in the window: its top and bottom, the window's height.
_PLACE = """
const r = document.getElementById('page-error').getBoundingClientRect();
return [r.top, r.bottom, window.innerHeight];
"""


def test_a_refusal_is_said_in_view_of_the_button_tapped(
    tmp_path: Path, broker: LocalBroker
) -> None:
    # Before: the refusal was put at the top of the exam, out of sight once she had scrolled
    # down to "Enregistrer", and it named herself: "est utilisé par Marie".
    with running_agent(tmp_path, broker.port) as base, chromium("fr") as d:
        _show(d, UPRIGHT)
        _open_exam(d, base, STAFF, "res-0042")
        first = d.current_window_handle
        # A second exam in another tab, opened while steth-1 was free: the list offers it.
        # (Opened after, it lists steth-1 as held and cannot choose it: test_browser_picker.)
        d.switch_to.new_window("tab")
        d.get(base + "/residents/res-0043")
        _click(d, "#start-exam")
        _wait(d, lambda d: _css(d, '#record[data-site="aortic"]'), "second exam")
        _pick(d, "steth-1")
        second = d.current_window_handle
        d.switch_to.window(first)
        _pick(d, "steth-1")
        _click(d, '#record[data-site="aortic"]')
        _wait(d, lambda d: _css(d, '#summary tr.done[data-site="aortic"]'), "first site")
        d.switch_to.window(second)  # the first exam left open: it keeps steth-1
        d.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
        assert d.execute_script("return window.scrollY") > 0  # the page is taller than the tablet
        _wait(d, lambda d: clicked(d, "#record"), "no Record")
        error = _wait(d, lambda d: _text(d, "#page-error"), "the refusal was not shown")
        assert "est pris par votre autre examen, de Room 12 · Mme D." in error, error
        assert "Marie" not in error
        top, bottom, height = d.execute_script(_PLACE)
        assert top >= 0 and bottom <= height, (top, bottom, height)
        assert _css(d, '#page-error[role="alert"]')  # read out by a screen reader too
