"""Steps the browser tests share on pages that replace their elements live: click an element,
read elements' attributes or texts. Each finds and acts in one step, so a live update cannot
leave a stale element between the two; and Debian's Chromium, kept for the test session."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# How often a browser test looks again for what it waits on: one look is a round trip of a few
# ms; at 0.1 s each wait overran what it waited for by 50 ms on average, dozens a test.
POLL_S = 0.05
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

# One script finds and reads: a `data-*` name is read as an attribute, any other name as the
# element's property (innerText, value, ...).
_READ = """
const [selector, fields] = arguments;
return [...document.querySelectorAll(selector)].map(e => fields.map(
    f => f.startsWith('data-') ? e.getAttribute(f) : e[f]));
"""


def clicked(driver: Any, selector: str) -> bool:
    """Find the first element matching the CSS ``selector`` and click it; False when there is
    none yet, or when a live update replaced it between the find and the click (a stale
    element). Poll it in a wait: the element is then found again."""
    return _on_first(driver, selector, lambda element: element.click())


def picked(driver: Any, selector: str, value: str) -> bool:
    """Choose ``value`` in the first ``<select>`` matching ``selector``, as `clicked` clicks:
    False when it is not there yet or was replaced meanwhile (poll it in a wait)."""
    from selenium.webdriver.support.ui import Select

    return _on_first(driver, selector, lambda element: Select(element).select_by_value(value))


def _on_first(driver: Any, selector: str, act: Callable[[Any], object]) -> bool:
    """``act`` on the first element matching ``selector``; False when there is none or it went
    stale meanwhile."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, selector)
    if not found:
        return False
    try:
        act(found[0])
    except StaleElementReferenceException:
        return False
    return True


def read(driver: Any, selector: str, *fields: str) -> list[tuple[str, ...]]:
    """For each element matching the CSS ``selector``, its ``fields`` (``data-*`` attributes or
    properties such as ``innerText``), read in one script; empty when there is none yet."""
    rows = driver.execute_script(_READ, selector, list(fields)) or []
    return [tuple("" if v is None else str(v) for v in row) for row in rows]


TOUCH_PX = 44  # the least height and width to touch: Apple's HIG and WCAG 2.5.5's target size

# Each visible control shorter or narrower than the given size, described; a radio button or
# a box counts by its label. A chart's points (links inside an SVG) are left out: the page
# lists the same links as text.
_SMALL = """
const small = [];
for (const e of document.querySelectorAll('a, button, input, select, textarea, summary')) {
  const box = (e.type === 'radio' || e.type === 'checkbox') ? e.closest('label') : e;
  const r = box.getBoundingClientRect();
  if (e.type === 'hidden' || e.closest('svg') || (r.width === 0 && r.height === 0)) continue;
  if (Math.min(r.width, r.height) < arguments[0])
    small.push(`${e.tagName} ${e.innerText || e.id} ${r.width}x${r.height}`);
}
return small;
"""


def too_small_to_touch(driver: Any, least_px: float = TOUCH_PX) -> list[str]:
    """The visible controls of the page shown that are shorter or narrower than ``least_px``,
    described."""
    return list(driver.execute_script(_SMALL, least_px))


def sideways(driver: Any) -> tuple[int, int]:
    """The page's width and the window's: a page wider than its window scrolls sideways."""
    wide, shown = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];"
    )
    return int(wide), int(shown)


# Chromium kept for the session: starting one and quitting it took 2.4-4 s at load 9 (0.2-0.4 s
# to hand one out again), and 17 browser tests each started one or two. A browser handed out
# again has one new blank tab, no cookie, an empty cache and the size asked; each test's server
# listens on its own port, so nothing else of the test before is seen.
_IDLE: dict[tuple[str, ...], list[Any]] = {}
_KEYS: dict[int, tuple[str, ...]] = {}  # id of a browser handed out -> its pool
_PROFILES: list[str] = []
_KEPT_PIDS: set[int] = set()  # the kept browsers' drivers, which outlive the test that started one


def take_chromium(
    flags: tuple[str, ...], size: tuple[int, int], prefs: dict[str, str] | None = None
) -> Any:
    """A headless Debian Chromium started with ``flags`` (a private profile is added), at
    ``size``: one kept from an earlier test with the same flags and prefs, made clean, or a new
    one. Hand it back with `give_back`; `quit_shared_chromium` ends them all."""
    key = (*flags, *(f"{k}={v}" for k, v in sorted((prefs or {}).items())))
    idle = _IDLE.setdefault(key, [])
    driver = None
    while idle and driver is None:
        driver = _cleaned(idle.pop(), size)
    if driver is None:
        driver = _start(flags, size, prefs or {})
    _KEYS[id(driver)] = key
    return driver


def give_back(driver: Any) -> None:
    """Return a browser from `take_chromium` to the pool (or quit it, should it have died)."""
    key = _KEYS.pop(id(driver))
    try:
        # The test's tabs are closed, not left for about:blank: a page merely navigated away
        # from kept a console's live request open, and the console's stop then waited 20 s.
        tabs = driver.window_handles
        driver.switch_to.new_window("tab")
        blank = driver.current_window_handle
        for tab in tabs:
            driver.switch_to.window(tab)
            driver.close()
        driver.switch_to.window(blank)
    except Exception:  # a browser that died is not handed out again
        _quit(driver)
    else:
        _IDLE[key].append(driver)


@contextmanager
def shared_chromium(
    flags: tuple[str, ...], size: tuple[int, int], prefs: dict[str, str] | None = None
) -> Iterator[Any]:
    """`take_chromium` for the block, given back after it."""
    driver = take_chromium(flags, size, prefs)
    try:
        yield driver
    finally:
        give_back(driver)


def quit_shared_chromium() -> None:
    """Quit every kept browser and remove their profiles (at the end of the test session)."""
    for idle in _IDLE.values():
        while idle:
            _quit(idle.pop())
    while _PROFILES:
        shutil.rmtree(_PROFILES.pop(), ignore_errors=True)


def _start(flags: tuple[str, ...], size: tuple[int, int], prefs: dict[str, str]) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    _PROFILES.append(tempfile.mkdtemp(prefix="stetho-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*flags, f"--user-data-dir={_PROFILES[-1]}", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    _KEPT_PIDS.add(driver.service.process.pid)
    driver.set_page_load_timeout(30)
    return driver


def kept_for_the_session(pid: int) -> bool:
    """Whether ``pid`` is a kept browser's driver: started by a test, meant to outlive it."""
    return pid in _KEPT_PIDS


def _cleaned(driver: Any, size: tuple[int, int]) -> Any:
    """``driver`` (one blank tab, `give_back`) with no cookie, its cache emptied, the window at
    ``size`` and selenium's default timeouts; None (and quit) when it no longer answers."""
    try:
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        driver.set_window_size(*size)
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(30)  # selenium's default, should a test have set another
        left = driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
        tabs = driver.window_handles
    except Exception:  # selenium raises many kinds for a browser that died
        _quit(driver)
        return None
    assert not left and len(tabs) == 1, f"a shared browser kept {left} and {len(tabs)} tabs"
    return driver


def _quit(driver: Any) -> None:
    with contextlib.suppress(Exception):
        _KEPT_PIDS.discard(driver.service.process.pid)
    with contextlib.suppress(Exception):
        driver.quit()
