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


def test_names_are_lower_case_words_as_lists_show_them() -> None:
    # They follow a comma or a dot in lists; mutmut does not reach this table, so it is read here.
    for code, names in FLAG_NAMES.items():
        for name in names:
            assert name == name.strip() and name[0].islower(), (code, name)
            assert all(c.isalpha() or c in " ,'-" for c in name), (code, name)


def test_a_rate_is_named_by_its_organ_and_side() -> None:
    # A low rate named high, or a heart rate named a breathing one, would mislead the doctor.
    organ = {"heart": "fréquence cardiaque", "respiratory": "fréquence respiratoire"}
    sides = {"very_low": "très basse", "very_high": "très élevée", "low": "basse", "high": "élevée"}
    for code, (_, french) in FLAG_NAMES.items():
        kind, rate, rest = code.partition("_rate_")
        if not rate:
            continue
        side = next(s for s in sides if rest == s or rest.startswith(f"{s}_"))
        assert french.startswith(f"{organ[kind]} {sides[side]}"), (code, french)
        assert ("non confirmée" in french) == rest.endswith("_unconfirmed"), code
        assert ("pendant l'auscultation" in french) == rest.endswith("_during_auscultation"), code
