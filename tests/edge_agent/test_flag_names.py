"""Each triage flag has a short name in English and French for lists (earlier exams, timeline)."""

from __future__ import annotations

from edge_agent.wire.flag_names import FLAG_NAMES, flag_name
from edge_agent.wire.flag_words import FLAG_CODES


def test_every_flag_with_a_sentence_has_a_short_name_in_both_languages() -> None:
    # FLAG_CODES holds every code the analysis emits (test_flag_words checks it on the source).
    assert set(FLAG_NAMES) == FLAG_CODES
    for code, (english, french) in FLAG_NAMES.items():
        assert english and french and english != french, code
        assert "_" not in english + french, code  # a name, not the code


def test_names_are_distinct_within_each_language() -> None:
    for k in (0, 1):
        names = [pair[k] for pair in FLAG_NAMES.values()]
        assert len(set(names)) == len(names)


def test_the_reader_language_picks_the_name() -> None:
    assert flag_name("heart_murmur", "en") == "murmur"
    assert flag_name("heart_murmur", "fr") == "souffle"
    assert flag_name("lung_crackles", "fr") == "crépitants"


def test_a_code_from_a_newer_agent_is_shown_as_it_came() -> None:
    assert flag_name("heart_gallop", "fr") == "heart_gallop"
