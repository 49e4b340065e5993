"""The page's language and words, function by function: the browser's choice read as RFC 9110
says (q-values, regions, spaces), a refusal worded in the nurse's language, a missing word.

Direct and fast: the tests under mutation of `edge_agent/web/i18n.py`'s functions (its
catalogues are pinned by test_refusal_catalogue.py and test_page_words.py).
"""

from __future__ import annotations

import pytest

from edge_agent.web.i18n import CATALOGUES, Translator, pick_language, refused, translator


@pytest.mark.parametrize(
    ("accept", "chosen", "picked"),
    [
        ("fr", "en", "en"),  # the switch wins over the browser
        ("en", "fr", "fr"),
        ("fr", "de", "fr"),  # a switch to a language the page lacks is ignored
        ("fr", None, "fr"),
        (None, None, "en"),
        ("", None, "en"),
        ("de, it", None, "en"),  # nothing the page has
        ("de, fr", None, "fr"),  # the first the page has, past a space after the comma
        ("de,fr", None, "fr"),
        ("  fr  ", None, "fr"),
        ("FR", None, "fr"),  # tags are case-insensitive
        ("fr-CA", None, "fr"),  # a region reads as its language
        ("de-DE, fr-BE;q=0.8, en;q=0.5", None, "fr"),
        ("en;q=0.5, fr", None, "fr"),  # no q is 1
        ("en;q=0.5, fr;q=0.9", None, "fr"),  # by q, not by order
        ("fr;q=0.9, en;q=0.5", None, "fr"),
        ("en; q=0.5, fr;q=0.9", None, "fr"),  # a space before q=
        ("fr;q=0.5 , en;q=0.7", None, "en"),
        ("en;q=1.5, fr", None, "en"),  # out of range, but larger than the 1 of no q
        ("fr;q=1, en;q=0.5", None, "fr"),  # q written without a decimal point
        ("fr;q=abc, en;q=0.1", None, "en"),  # an unreadable q counts as 0
        ("fr;q=0, de", None, "en"),  # q=0: French refused, so the default
        ("fr;q=0.0, en;q=0", None, "en"),
        ("en;q=0, fr;q=0.001", None, "fr"),
        ("fr;level=1, en;q=0.5", None, "fr"),  # a parameter that is not q: q is 1
        ("en, fr", None, "en"),  # equal q: the first listed
        ("fr, en", None, "fr"),
    ],
)
def test_the_language_picked(accept: str | None, chosen: str | None, picked: str) -> None:
    assert pick_language(accept, chosen) == picked


def test_a_refusal_is_worded_in_the_readers_language_with_its_values() -> None:
    values = {"state": "done"}
    assert (
        refused("exam_moved", values, "english", "en") == "This exam is finished: reload the page."
    )
    assert (
        refused("exam_moved", values, "english", "fr")
        == "Cet examen est terminé : rechargez la page."
    )
    # A state the catalogue does not name is said as it came.
    assert (
        refused("exam_moved", {"state": "lost"}, "x", "en") == "This exam is lost: reload the page."
    )
    # Another value named like a state is not looked up: only `state` is.
    words = refused("device_in_use", {"device": "done"}, "x", "en")
    assert words == "Stethoscope done is in use: wait, or choose another."


def test_a_float_is_written_as_g_writes_it_with_the_readers_decimal_mark() -> None:
    assert (
        refused("reason_too_long", {"max": 2.5}, "x", "fr")
        == "Le motif est limité à 2,5 caractères."
    )
    assert refused("reason_too_long", {"max": 2.5}, "x", "en") == (
        "The reason can have at most 2.5 characters: shorten it."
    )
    assert refused("reason_too_long", {"max": 1e8}, "x", "en").startswith(
        "The reason can have at most 1e+08 "
    )
    assert (
        refused("reason_too_long", {"max": 7}, "x", "fr") == "Le motif est limité à 7 caractères."
    )
    # Only a float: a whole number is written whole, however large (`:g` would say 1.23457e+06).
    said = refused("csv_repeat", {"line": 1234567, "first": 2}, "x", "en")
    assert said == "Line 1234567: this reference is already on line 2."


def test_a_refusal_without_words_or_unknown_words_keeps_its_english_message() -> None:
    assert refused(None, {}, "The english message.", "fr") == "The english message."
    assert refused("", {}, "The english message.", "fr") == "The english message."
    assert (
        refused("no_such_words", {"x": 1}, "The english message.", "fr") == "The english message."
    )


def test_an_unknown_language_reads_english() -> None:
    assert (
        refused("exam_moved", {"state": "done"}, "x", "de")
        == "This exam is finished: reload the page."
    )
    assert translator("de")("signin.title") == "Sign in"


def test_the_translator_gives_the_languages_word_its_values_and_falls_back() -> None:
    fr, en = translator("fr"), translator("en")
    assert fr("signin.title") == CATALOGUES["fr"]["signin.title"] != en("signin.title")
    assert fr("signin.throttled", seconds=30) == "Trop d'essais. Réessayez dans 30 secondes."
    assert en("signin.throttled", seconds=30) == "Too many attempts. Try again in 30 seconds."
    # Without values the text is left as written, braces and all.
    assert en("signin.throttled") == "Too many attempts. Try again in {seconds} seconds."
    assert en("no.such.key") == "no.such.key"
    assert fr("no.such.key") == "no.such.key"


def test_a_word_missing_or_empty_in_a_catalogue_falls_back_to_english() -> None:
    assert Translator({})("signin.title") == "Sign in"
    assert Translator({"signin.title": ""})("signin.title") == "Sign in"
    assert Translator({"signin.title": "Connexion"})("signin.title") == "Connexion"
