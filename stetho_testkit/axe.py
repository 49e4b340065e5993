"""axe-core, the standard accessibility engine, run in the page a browser test shows.

The engine is the axe.min.js that selenium-axe-python bundles (axe-core 4.9.1, MPL-2.0; a dev
dependency): no browser or script is fetched at run time.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (landmarks, heading order, a
# table's headers): what the pages promise.
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")

# Resolves to [results, error]; an error is reported, never swallowed.
_RUN = """
const [tags, done] = arguments;
axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
  .then(r => done([r.violations.map(v => ({id: v.id, impact: v.impact,
      nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))})),
    null]), e => done([null, String(e)]));
"""


def axe_source() -> str:
    """The bundled axe.min.js."""
    return (files("selenium_axe_python") / "axe-core" / "axe.min.js").read_text("utf-8")


def axe_in_every_page(driver: Any) -> None:
    """Load axe into every page the browser's tab opens from now on, before the page's own
    scripts run (a tab's own setting: `browser.give_back` closes the tab, and with it this).

    Sent once: `violations` otherwise sends its 540 kB per page through selenium and
    chromedriver, half of axe's time in the console's audit (2.5 of 5.2 s over 28 pages).
    """
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": axe_source()})


def violations(
    driver: Any, page: str, skip: tuple[tuple[str, str], ...] = (), source: str | None = None
) -> list[str]:
    """axe's WCAG 2.0/2.1 A and AA violations on the page shown, one line each: rule id,
    impact, target selector, ``page``. ``skip`` lists (rule id, target selector) pairs that
    cannot apply, each for that one element only."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(source or axe_source())
    found, error = driver.execute_async_script(_RUN, list(TAGS))
    if error:
        raise AssertionError(f"{page}: axe failed: {error}")
    lines = []
    for rule in found:
        for node in rule["nodes"]:
            if (rule["id"], node["target"]) in skip:
                continue
            summary = " ".join(node["summary"].split())[:160]
            lines.append(f"{rule['id']} ({rule['impact']}) {node['target']} on {page}: {summary}")
    return lines
