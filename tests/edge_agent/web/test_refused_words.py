"""The exam layer's refusals, each named for the nurses' page and worded in French there."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.exam import Exam, ExamState, check_age_band, resolve_protocol
from edge_agent.exam._db import open_private_db, translated
from edge_agent.exam.errors import (
    CsvProblem,
    DeviceUnavailableError,
    ExamError,
    ExamStorageError,
    RecordingTooLongError,
    ResidentImportError,
    ResidentNotHereError,
)
from edge_agent.exam.model import MAX_REASON, recording_length
from edge_agent.exam.protocols import KNOWN_SITES, check_site
from edge_agent.exam.residents import MAX_LABEL, Resident, check_ref, parse_residents_csv
from edge_agent.exam.store import ExamStore
from edge_agent.web.i18n import CATALOGUES, refused


def _exam(**kw: object) -> Exam:
    args: dict[str, object] = dict(
        exam_id=uuid.UUID(int=7, version=4), resident="res-1", staff="nurse-a", reason="",
        protocol="heart-4", sites=resolve_protocol("heart-4"), opened_at=1000.0)  # fmt: skip
    args.update(kw)
    return Exam(**args)  # type: ignore[arg-type]


def _finished() -> Exam:
    exam = _exam()
    exam.move(ExamState.ABANDONED, 1001.0)
    return exam


CASES: dict[str, Callable[[], object]] = {
    "no_site": lambda: resolve_protocol("custom", ()),
    "reason_too_long": lambda: _exam(reason="x" * (MAX_REASON + 1)),
    "nothing_recorded": lambda: _exam().move(ExamState.DONE, 1001.0),
    "exam_moved": lambda: _finished().move(ExamState.RECORDING, 1002.0),
    "exam_finished": lambda: _finished().check_recordable("aortic"),
    "no_label": lambda: Resident("res-1", " "),
    "label_too_long": lambda: Resident("res-1", "x" * (MAX_LABEL + 1)),
    "bad_ref": lambda: check_ref("Mme D"),
    # Met only by a form no page of ours sends (the page's lists hold only known values).
    "unknown_site": lambda: check_site("elbow"),
    "site_not_in_exam": lambda: _exam().check_recordable("trachea"),
    "unknown_protocol": lambda: resolve_protocol("lungs"),
    "too_many_sites": lambda: resolve_protocol("custom", KNOWN_SITES * 2),
    "repeated_site": lambda: resolve_protocol("custom", ("aortic", "aortic")),
    "age_band": lambda: check_age_band("7"),
    "bad_duration": lambda: recording_length("ten"),
}


@pytest.mark.parametrize("words", sorted(CASES))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_each_refusal_a_nurse_can_meet_is_worded_in_her_language(words: str, lang: str) -> None:
    # English was the code's own sentence (exam ids, repr quotes, the list of codes) before.
    with pytest.raises(ExamError) as caught:
        CASES[words]()
    exc = caught.value
    assert exc.words == words
    catalogue = CATALOGUES[lang]
    said = refused(exc.words, exc.values, str(exc), lang)
    assert said == catalogue[f"refused.{words}"].format(
        **{k: catalogue.get(f"exam.state.{v}", v) for k, v in exc.values.items()}
    )
    assert "{" not in said and said != str(exc)


def test_a_finished_exam_is_named_as_the_page_names_its_state() -> None:
    with pytest.raises(ExamError) as caught:
        _finished().check_recordable("aortic")
    said = refused(caught.value.words, caught.value.values, str(caught.value), "fr")
    assert said == "Cet examen est abandonné : commencez-en un nouveau."
    english = refused(caught.value.words, caught.value.values, str(caught.value), "en")
    assert english == "This exam is abandoned: start a new one."


def test_every_csv_problem_has_french_words() -> None:
    text = "ref,label\nRes 1,a\nres-2,\nres-3,a\nres-3,b\nres-4,a,b\nres-5," + "x" * 81 + "\n"
    with pytest.raises(ResidentImportError) as caught:
        parse_residents_csv(text)
    for problem in caught.value.worded:
        assert f"refused.{problem.words}" in CATALOGUES["fr"], problem
    for text in ("a,b\n", "ref,label\n" + 'res-1,"' + "x" * 200_000):
        with pytest.raises(ResidentImportError) as caught:
            parse_residents_csv(text)
        assert all(f"refused.{p.words}" in CATALOGUES["fr"] for p in caught.value.worded)


def test_storage_failures_are_worded_for_the_it_contact() -> None:
    with pytest.raises(ExamStorageError) as caught, translated("saving exam x"):
        raise sqlite3.OperationalError("disk I/O error")
    exc = caught.value
    assert str(exc) == "saving exam x: disk I/O error"  # the log and the CLI keep the cause
    # Named as the page's other sentences name that person (was "contact informatique").
    assert "prévenez le référent informatique" in refused(exc.words, exc.values, str(exc), "fr")
    assert not any("contact informatique" in v for v in CATALOGUES["fr"].values())


def test_a_refusal_without_words_or_unknown_words_stays_the_code_s_english() -> None:
    assert refused(None, {}, "plain English", "fr") == "plain English"
    assert refused("not_in_the_catalogue", {}, "plain English", "fr") == "plain English"


def _french(problems: list[CsvProblem]) -> list[str]:
    return [refused(p.words, p.values, p.text, "fr") for p in problems]


def test_each_csv_problem_reads_in_french_with_its_line_and_numbers() -> None:
    text = "ref,label\nRes 1,a\nres-2,\nres-3,a\nres-3,b\nres-4,a,b\nres-5," + "x" * 81 + "\n"
    with pytest.raises(ResidentImportError) as caught:
        parse_residents_csv(text)
    assert _french(caught.value.worded) == [
        "Ligne 2 : la référence doit faire 1 à 63 lettres minuscules, chiffres et tirets.",
        "Ligne 3 : le libellé est vide.",
        "Ligne 5 : la référence figure déjà ligne 4.",
        "Ligne 6 : il faut 2 champs (ref,label), la ligne en compte 3.",
        "Ligne 7 : le libellé dépasse 80 caractères.",
    ]


@pytest.mark.parametrize(
    ("text", "french"),
    [
        # One field (a line of only a reference): was "2 champs attendus (ref,label), 1 trouvés".
        ("ref,label\nres-1\n", "Ligne 2 : il faut 2 champs (ref,label), la ligne en compte 1."),
        ("ref,name\n", "Ligne 1 : la première ligne doit être l'en-tête « ref,label »."),
        ("x" * (1024 * 1024 + 1), "Le fichier dépasse 1024 Kio."),
        (
            "ref,label\n" + "".join(f"r-{i},a\n" for i in range(20_001)),
            "Plus de 20000 résidents : découpez le fichier.",
        ),
        (
            'ref,label\nres-1,a\nres-2,"' + "x" * 200_000,
            "Ligne 3 : un champ dépasse 128 Kio : cherchez un guillemet resté ouvert.",
        ),
        (
            'ref,label\nres-1,"Room 1\nres-2,Room 2\n',
            "Ligne 2 : un guillemet s'ouvre ici sans se fermer sur la ligne : "
            "fermez-le ou retirez-le.",
        ),
    ],
    ids=["one field", "header", "too large", "too many", "open quote", "short open quote"],
)
def test_a_whole_file_s_problem_reads_in_french(text: str, french: str) -> None:
    with pytest.raises(ResidentImportError) as caught:
        parse_residents_csv(text)
    assert _french(caught.value.worded) == [french]


@pytest.mark.parametrize(
    ("make", "french"),
    [
        (lambda: _exam(sites=()), "Choisissez au moins un site d'auscultation."),
        (
            lambda: _exam(reason="x" * (MAX_REASON + 1)),
            f"Le motif est limité à {MAX_REASON} caractères.",
        ),
        (
            lambda: _finished().move(ExamState.RECORDING, 1002.0),
            "Cet examen est abandonné : rechargez la page.",
        ),
        (
            lambda: Resident("res-1", "x" * (MAX_LABEL + 1)),
            f"Un libellé a au plus {MAX_LABEL} caractères.",
        ),
        (
            lambda: resolve_protocol("custom", KNOWN_SITES * 2),
            # Named as the protocol's button names it (was « Points de mon choix »).
            "Un examen « Points au choix » a au plus 24 points.",
        ),
        (
            lambda: check_ref("Mme D"),
            "« Mme D » n'est pas une référence de résident : 1 à 63 lettres minuscules, chiffres "
            "et tirets (un code opaque comme res-0042, jamais un nom).",
        ),
    ],
    ids=["no site", "reason", "moved", "label", "too many", "ref"],
)
def test_a_refusal_reads_in_french_with_its_numbers(
    make: Callable[[], object], french: str
) -> None:
    with pytest.raises(ExamError) as caught:
        make()
    assert refused(caught.value.words, caught.value.values, str(caught.value), "fr") == french


def test_an_exam_database_that_cannot_open_is_worded_for_the_it_contact(tmp_path: Path) -> None:
    with pytest.raises(ExamStorageError) as caught:
        open_private_db(tmp_path, "")  # a folder, not a database file
    assert caught.value.words == "storage"


def test_the_errors_keep_what_the_page_names(tmp_path: Path) -> None:
    assert DeviceUnavailableError("steth-2", "not connected").device == "steth-2"
    store = ExamStore(tmp_path / "exams.db")
    with pytest.raises(ResidentNotHereError) as caught:
        store.resident("res-9")  # a doctor's request for a resident never imported here
    store.close()
    assert caught.value.ref == "res-9"


@pytest.mark.parametrize(("lang", "said"), [("fr", "durerait 22,5 secondes"),
                                            ("en", "would last 22.5 seconds")])  # fmt: skip
def test_a_recording_length_is_said_with_the_readers_decimal_mark(lang: str, said: str) -> None:
    # Before: "durerait 22.5 secondes", the English point in a French sentence (a doctor's
    # request or exam.duration_s may ask for 22.5 s).
    exc = RecordingTooLongError("steth-1", 22.5, 20, 1_000_000)
    assert said in refused(exc.words, exc.values, str(exc), lang)
    whole = RecordingTooLongError("steth-1", 30.0, 20, 1_000_000)
    assert "30 secon" in refused(whole.words, whole.values, str(whole), lang)
