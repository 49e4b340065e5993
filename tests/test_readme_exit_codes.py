"""The README's exit-status sentence against the one table, `stetho_common.console.EXIT_CODES`."""

import re
from pathlib import Path

from stetho_common.console import EXIT_CODES

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_statuses() -> dict[int, str]:
    """Each status the README names, with its words (a range such as 10-16 gives each)."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    sentence = text.split("an exit status from one table")[1].split(". ")[0]
    said: dict[int, str] = {}
    for first, last, words in re.findall(r"\b(\d+)(?:-(\d+))? ([^,(]+)", sentence):
        for status in range(int(first), int(last or first) + 1):
            said[status] = words.strip()
    return said


def test_every_status_of_the_table_is_in_the_readme() -> None:
    assert set(readme_statuses()) == set(EXIT_CODES.values())


def test_the_readme_says_what_4_means() -> None:
    # It said "4 broker unreachable"; a doctor's command that cannot reach the broker exits 1,
    # and 4 is `stetho status` finding an agent that runs but cannot refresh its status.
    assert EXIT_CODES["stale"] == 4
    assert "status" in readme_statuses()[4]
