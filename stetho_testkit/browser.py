"""Steps the browser tests share on pages that replace their elements live: click an element,
read elements' attributes or texts. Each finds and acts in one step, so a live update cannot
leave a stale element between the two."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
