"""A step the browser tests share: click an element of a page that may replace it live."""

from __future__ import annotations

from typing import Any


def clicked(driver: Any, selector: str) -> bool:
    """Find the first element matching the CSS ``selector`` and click it; False when there is
    none yet, or when a live update replaced it between the find and the click (a stale
    element). Poll it in a wait: the element is then found again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, selector)
    if not found:
        return False
    try:
        found[0].click()
    except StaleElementReferenceException:
        return False
    return True
