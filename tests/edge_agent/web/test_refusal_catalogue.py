"""One path for the nurse page's refusals: every refusal the exam layer can raise names its
words, and both catalogues word them with the same placeholders the error carries."""

from __future__ import annotations

import ast
import os
import string
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.errors import AgentError, ConfigError
from edge_agent.exam import errors
from edge_agent.exam.errors import (
    DeviceBusyError,
    DeviceHeldByOwnExamError,
    DeviceUnavailableError,
    ExamError,
    RecordingTooLongError,
    RequestAnsweredError,
    ResidentNotHereError,
    UnknownExamError,
)
from edge_agent.web import errors as web_errors
from edge_agent.web.app import said
from edge_agent.web.i18n import CATALOGUES

EXAM_SOURCES = Path(errors.__file__).parent
WEB_SOURCES = EXAM_SOURCES.parent / "web"
REFUSALS = {name for module in (errors, web_errors) for name, kind in vars(module).items()
            if isinstance(kind, type) and issubclass(kind, AgentError)}  # fmt: skip

# The six met at the bedside, each with the English and French the page has always shown (the
# French length now with its decimal comma: "90.5 secondes" before); made inside the test, so
# that mutation testing sees which test builds each.
BEDSIDE: list[tuple[Callable[[], ExamError], str, str, str]] = [
    (
        lambda: RecordingTooLongError("steth-1", 90.5, 60, 1_000_000),
        "too_long",
        "This recording was not started: the hospital's message server (its MQTT broker) "
        "accepts recordings of at most 60 seconds from this stethoscope, and this one would "
        "last 90.5 seconds. Please tell the care home's IT contact: the hospital must raise its "
        "broker's maximum packet size, or the exam length (exam.duration_s) must be shortened.",
        "Cet enregistrement n'a pas été lancé : le serveur de messages de l'hôpital (son broker "
        "MQTT) n'accepte de ce stéthoscope que des enregistrements de 60 secondes au plus, et "
        "celui-ci durerait 90,5 secondes. Prévenez le référent informatique de l'établissement "
        ": l'hôpital doit augmenter la taille maximale des paquets de son broker, ou la durée "
        "d'examen (exam.duration_s) doit être raccourcie.",
    ),
    (
        lambda: DeviceBusyError("steth-1", "nurse-a"),
        "device_busy",
        "Stethoscope steth-1 is in use by nurse-a: wait, or choose another.",
        "Le stéthoscope steth-1 est utilisé par nurse-a : attendez, ou choisissez-en un autre.",
    ),
    (
        lambda: DeviceBusyError("steth-1", "another exam", named=False),
        "device_in_use",
        "Stethoscope steth-1 is in use: wait, or choose another.",
        "Le stéthoscope steth-1 est déjà utilisé : attendez, ou choisissez-en un autre.",
    ),
    (
        lambda: DeviceUnavailableError("steth-2", "stethoscope steth-2 is not connected"),
        "device_off",
        "Stethoscope steth-2 is not connected: check that it is on and charged, or choose another.",
        "Le stéthoscope steth-2 n'est pas connecté : vérifiez qu'il est allumé et chargé, ou "
        "choisissez-en un autre.",
    ),
    (
        lambda: UnknownExamError(f"no exam {uuid.UUID(int=7, version=4)} on this Pi"),
        "unknown_exam",
        "This exam is finished, or not on this Pi: open the resident's page to start a new one.",
        "Cet examen est terminé, ou n'est pas sur ce Pi : ouvrez la page du résident pour en "
        "commencer un nouveau.",
    ),
    (
        lambda: ResidentNotHereError("res-9"),
        "unknown_resident",
        "No resident has the reference res-9 on this Pi: add them on the Residents page, with "
        "the reference the hospital uses.",
        "Aucun résident n'a la référence res-9 sur ce Pi : ajoutez-le dans la page Résidents, "
        "avec la référence qu'utilise l'hôpital.",
    ),
    (
        lambda: RequestAnsweredError("this request was already answered"),
        "request_answered",
        "Another nurse has already accepted or dismissed this request.",
        "Une autre infirmière a déjà accepté ou ignoré cette demande.",
    ),
    (
        lambda: DeviceHeldByOwnExamError("steth-1", "exam-7", "res-0042"),
        "device_own_exam",
        "Stethoscope steth-1 is held by your other exam, of res-0042: finish or abandon that "
        "exam first, then record here.",
        "Le stéthoscope steth-1 est pris par votre autre examen, de res-0042 : terminez ou "
        "abandonnez d'abord cet examen, puis enregistrez ici.",
    ),
]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(("make", "words", "english", "french"), BEDSIDE,
                         ids=[b[1] for b in BEDSIDE])  # fmt: skip
def test_a_bedside_refusal_names_its_words_and_reads_as_before(
    make: Callable[[], ExamError], words: str, english: str, french: str
) -> None:
    exc = make()
    assert exc.words == words
    assert said(exc, "en") == english
    assert said(exc, "fr") == french
    for lang in ("en", "fr"):
        text = CATALOGUES[lang][f"refused.{words}"]
        assert _placeholders(text) == set(exc.values), (lang, words)


def test_the_code_s_english_stays_what_the_cli_and_the_log_show() -> None:
    messages = [str(make()) for make, *_ in BEDSIDE]
    assert messages[1] == "stethoscope steth-1 is in use by nurse-a"
    assert messages[2] == "stethoscope steth-1 is in use by another exam"
    assert messages[3] == "stethoscope steth-2 is not connected"
    assert messages[4] == f"no exam {uuid.UUID(int=7, version=4)} on this Pi"
    assert messages[5] == "no resident 'res-9' on this Pi: add or import it first"
    assert messages[6] == "this request was already answered"
    assert messages[0].startswith("not started: the hospital's broker takes recordings of at ")


def test_the_page_s_old_error_keys_for_refusals_are_gone() -> None:
    for lang, catalogue in CATALOGUES.items():
        for _, words, _, _ in BEDSIDE:
            assert f"error.{words}" not in catalogue, (lang, words)
        assert "error.device_in_use" not in catalogue and "error.device_off" not in catalogue


def test_a_refusal_outside_the_exam_layer_stays_the_code_s_english() -> None:
    wrong = ConfigError("agent.toml", ["[web] port is not a number"])
    assert said(wrong, "fr") == str(wrong)
    assert said(AgentError("plain"), "fr") == "plain"


def _constant_words(node: ast.expr | None) -> set[str]:
    """The words a call passes: a literal, or either side of a literal `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _constant_words(node.body) | _constant_words(node.orelse)
    return set()


def _words_in_source() -> set[str]:
    """Every `words` a raise site names: the second argument (or words=) of an exam or page error or
    of an error's own super().__init__, a CsvProblem's second, and the second item of a CSV
    row's problem tuple."""
    found: set[str] = set()
    sources = [*EXAM_SOURCES.glob("*.py"), *WEB_SOURCES.glob("*.py")]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name in REFUSALS or name in ("CsvProblem", "super().__init__"):
                    second = node.args[1] if len(node.args) > 1 else None
                    found |= _constant_words(second)
                    for kw in node.keywords:
                        found |= _constant_words(kw.value) if kw.arg == "words" else set()
            # residents._row_problem returns (text, words, values)
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
                found |= _constant_words(node.value.elts[1]) if len(node.value.elts) == 3 else set()
    return found


@pytest.mark.skipif(
    os.environ.get("STETHO_MUTATE") == "1",
    reason="reads the sources: mutmut's instrumented copies hold every mutant's strings",
)
def test_every_words_a_refusal_can_carry_is_in_both_catalogues_alike() -> None:
    words = _words_in_source()
    assert {"no_site", "csv_fields", "storage", "device_in_use", "unknown_exam"} <= words
    for lang, catalogue in CATALOGUES.items():
        missing = sorted(w for w in words if f"refused.{w}" not in catalogue)
        assert not missing, lang
        for key in (k for k in catalogue if k.startswith("refused.")):
            assert key[len("refused.") :] in words, f"{lang} {key}: no refusal carries these words"


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    # Before: English had only the bedside refusals (the old test checked English against
    # French one way only), so 31 refusals reached an English tablet as the code's own words.
    fr, en = CATALOGUES["fr"], CATALOGUES["en"]
    assert sorted(set(fr) ^ set(en)) == []
    assert [k for k in en if _placeholders(en[k]) != _placeholders(fr[k])] == []


@pytest.mark.parametrize(
    ("make", "english"),
    [
        (lambda: errors.ExamStateError("x", "still_recording"),
         "A recording is in progress: wait for it to end, or stop it first."),
        (lambda: errors.RecordingLengthError("ten", 5, 60),
         "A recording lasts 5 to 60 seconds: “ten” is not such a number of seconds."),
        (lambda: web_errors.PairingError("x", "pairing_busy", who="Ana B.", address="AA:BB"),
         "Ana B. is already pairing AA:BB: wait until it ends, or cancel it on its page."),
    ],
)  # fmt: skip
def test_an_english_tablet_reads_a_nurse_s_sentence_not_the_code_s(
    make: Callable[[], AgentError], english: str
) -> None:
    assert said(make(), "en") == english


def test_a_custom_exam_is_named_in_its_refusals_as_its_button_names_it() -> None:
    for lang, catalogue in CATALOGUES.items():
        button = catalogue["protocol.custom"]
        for key in ("refused.too_many_sites", "refused.repeated_site"):
            assert button in catalogue[key], (lang, key)
