"""What the builder is given, field by field: each value carried over, each refusal whole.

The record must hold what the recording said (a threshold, a partial capture, a failed
analysis) and nothing the hub could not stand behind; a value refused is named in one sentence.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid5

import pytest

from edge_agent.wire import messages
from stetho_hub.fhir import InvalidInputError, load_saved
from stetho_hub.fhir.example import example_exam
from stetho_hub.fhir.from_saved import (
    SOFTWARE_NAME,
    audio_url,
    exam_from_message,
    measurements,
    recording_record,
    software,
)
from stetho_hub.fhir.records import (
    AudioFile,
    Disposition,
    Finding,
    FindingKind,
    Measurements,
    RateFlag,
    RecordingRecord,
    Software,
)

RID = UUID("6f1c2d3e-4a5b-4c6d-8e7f-001122334455")
T0 = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def _flag(code: str, value: float | None, threshold: float | None) -> messages.Flag:
    return messages.Flag(code=code, reason=f"{code} sentence", value=value, threshold=threshold)


def _analysis(
    flags: list[messages.Flag], heart: bool = True, lung: bool = True
) -> messages.Analysis:
    return messages.Analysis(
        sample_rate_hz=4000.0,
        duration_s=12.0,
        kind="heart",
        quality=messages.Quality(score=0.8, acceptable=True, problems=[]),
        heart=messages.HeartFindings(
            rate_bpm=120.0, s1_s=[], s2_s=[], irregular=True, murmur_suspected=False
        )
        if heart
        else None,
        lung=messages.LungFindings(
            respiratory_rate_bpm=31.0,
            wheeze=None,
            wheeze_intervals_s=[],
            crackles=True,
            crackle_times_s=[],
        )
        if lung
        else None,
        triage=messages.Triage(level="review", flags=flags),
    )


def _message(**changes: object) -> messages.RecordingMessage:
    fields: dict[str, object] = {
        "recording_id": RID,
        "site": "oak-hill",
        "agent": "pi-1",
        "device": "steth-1",
        "resident": "res-0042",
        "auscultation_site": "mitral",
        "kind": "lung",
        "started_at": T0,
        "ended_at": T0 + timedelta(seconds=12),
        "sample_rate_hz": 4000,
        "n_samples": 48000,
        "partial": True,
        "gaps": [
            messages.Gap(start_s=1.0, duration_s=0.25),
            messages.Gap(start_s=5.0, duration_s=0.5),
        ],
        "audio": messages.AudioRef(
            topic="t", content_type="audio/x-flac", size_bytes=777, pcm_sha256="0" * 64
        ),
        "analysis": None,
        "analysis_error": "too short to analyse",
    }
    return messages.RecordingMessage(**(fields | changes))  # type: ignore[arg-type]


def test_every_finding_rate_flag_and_note_of_the_analysis_is_carried_over() -> None:
    flags = [
        _flag("heart_murmur", 0.4, 0.6),
        _flag("heart_rate_high", 120.0, 100.0),
        _flag("respiratory_rate_high", 31.0, 25.0),
        _flag("heart_possible_half_rate", 120.0, None),
        _flag("lung_crackles", 7.0, 3.0),
        _flag("heart_s2_unmeasured", None, None),
        _flag("lung_wheeze_rated", None, None),  # neither a rate flag nor a note
    ]
    assert measurements(_analysis(flags)) == Measurements(
        quality_score=0.8,
        quality_acceptable=True,
        triage_level="review",
        heart_rate_bpm=120.0,
        respiratory_rate_bpm=31.0,
        rate_flags=(
            RateFlag("heart_rate_high", "heart_rate_high sentence", 100.0),
            RateFlag("respiratory_rate_high", "respiratory_rate_high sentence", 25.0),
            RateFlag("heart_possible_half_rate", "heart_possible_half_rate sentence", None),
        ),
        findings=(
            Finding(FindingKind.MURMUR, False, 0.4, 0.6, "heart_murmur sentence"),
            Finding(FindingKind.IRREGULAR, True),
            Finding(FindingKind.WHEEZE, None),
            Finding(FindingKind.CRACKLES, True, 7.0, 3.0, "lung_crackles sentence"),
        ),
        unmeasured=("heart_s2_unmeasured sentence",),
    )


def test_a_lung_analysis_alone_has_no_heart_rate_and_a_heart_one_no_breathing_rate() -> None:
    lung = measurements(_analysis([], heart=False))
    assert (lung.heart_rate_bpm, lung.respiratory_rate_bpm) == (None, 31.0)
    assert [f.kind for f in lung.findings] == [FindingKind.WHEEZE, FindingKind.CRACKLES]
    heart = measurements(_analysis([], lung=False))
    assert (heart.heart_rate_bpm, heart.respiratory_rate_bpm) == (120.0, None)
    assert (heart.rate_flags, heart.unmeasured) == ((), ())


def test_a_recording_keeps_its_audio_partial_capture_gaps_and_failed_analysis() -> None:
    msg = _message()
    assert recording_record(msg, None, "https://hub/a.flac") == RecordingRecord(
        recording_id=RID,
        device="steth-1",
        auscultation_site="mitral",
        kind="lung",
        started_at=T0,
        ended_at=T0 + timedelta(seconds=12),
        audio=AudioFile(777, None, "https://hub/a.flac", "audio/x-flac"),
        measurements=None,
        analysis_error="too short to analyse",
        partial=True,
        gaps_s=0.75,
    )
    flac = b"fLaC" + b"\x00" * 20
    audio = recording_record(msg, flac, None).audio
    assert (audio.size_bytes, audio.sha1) == (24, hashlib.sha1(flac).digest())  # noqa: S324


def test_a_saved_recording_is_its_own_exam_under_a_stable_derived_id() -> None:
    exam = exam_from_message(_message(), None, "https://hub.example/audio/")
    assert exam.exam_id == uuid5(RID, "exam")  # the same file sends the same exam again
    assert exam.recordings[0].audio.url == f"https://hub.example/audio/{RID}.flac"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        (None, None),
        ("", None),
        ("https://hub.example/X", f"https://hub.example/X/{RID}.flac"),
        ("https://hub.example/X//", f"https://hub.example/X/{RID}.flac"),
        ("https://hub/a/{recording_id}/audio", f"https://hub/a/{RID}/audio"),
    ],
)
def test_the_audio_url_is_a_template_or_a_folder(base: str | None, url: str | None) -> None:
    assert audio_url(base, str(RID)) == url


def test_the_software_is_this_installations_version_or_said_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert software() == Software(SOFTWARE_NAME, importlib.metadata.version("stetho-edge"))

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert software() == Software(SOFTWARE_NAME, "unknown")


def test_a_saved_file_at_the_size_bound_is_read_and_one_error_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.recording.json"
    path.write_bytes(b" " * 1_000_000)  # at the bound: read, and refused as no recording
    with pytest.raises(InvalidInputError) as refused:
        load_saved(path)
    assert str(refused.value).startswith("x.recording.json is not a saved stetho.recording (1 ")
    path.write_bytes(messages.to_json(_message()).replace(b'"pi-1"', b"5"))
    with pytest.raises(InvalidInputError) as refused:
        load_saved(path)
    assert str(refused.value) == (
        "x.recording.json is not a saved stetho.recording (1 errors, first: "
        "Input should be a valid string)"
    )


def test_a_flac_beside_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    path = tmp_path / f"{RID}.recording.json"
    path.write_bytes(messages.to_json(_message()))
    (tmp_path / f"{RID}.flac").mkdir()
    with pytest.raises(InvalidInputError) as refused:
        load_saved(path)
    assert str(refused.value) == f"cannot read {tmp_path / f'{RID}.flac'}: Is a directory"


def test_a_flac_beside_that_is_not_its_own_says_to_save_again(tmp_path: Path) -> None:
    path = tmp_path / f"{RID}.recording.json"
    path.write_bytes(messages.to_json(_message()))
    (tmp_path / f"{RID}.flac").write_bytes(b"x" * 10)
    with pytest.raises(InvalidInputError) as refused:
        load_saved(path)
    assert str(refused.value) == (
        f"{RID}.flac is not the audio {RID}.recording.json names (audio_size_mismatch): "
        "save the recording again"
    )


def _refusal(build: Callable[..., object], *args: object, **kw: object) -> str:
    with pytest.raises(InvalidInputError) as refused:
        build(*args, **kw)
    return str(refused.value)


def test_the_audio_file_takes_an_empty_file_and_refuses_what_cannot_be() -> None:
    assert AudioFile(0, None, None).size_bytes == 0
    assert _refusal(AudioFile, -1, None, None) == "audio size must be >= 0, not -1"
    assert _refusal(AudioFile, 1, b"a" * 40, None) == (
        "audio sha1 must be the 20-byte digest, not its text form"
    )


def test_a_disposition_names_its_doctor_in_1_to_80_characters_with_a_zone() -> None:
    assert Disposition("d" * 80, T0, "Seen.").by == "d" * 80
    for by in ("", "d" * 81):
        assert _refusal(Disposition, by, T0, "Seen.") == "disposition.by must be 1-80 characters"
    assert _refusal(Disposition, "dr-1", T0, " \n") == "a disposition needs its text"
    naive = T0.replace(tzinfo=None)
    assert _refusal(Disposition, "dr-1", naive, "Seen.") == "decided_at must carry a time zone"


def test_a_quality_score_from_0_to_1_and_a_hum_above_0_hz_are_taken() -> None:
    for score in (0.0, 1.0):
        assert Measurements(score, True, "routine").quality_score == score
    assert _refusal(Measurements, 1.5, True, "routine") == (
        "quality score must be in [0, 1], not 1.5"
    )
    assert Measurements(0.5, True, "routine", mains_hum_hz=(0.5,)).mains_hum_hz == (0.5,)


def test_a_recording_refuses_a_bad_device_a_naive_time_and_an_end_before_its_start() -> None:
    base = example_exam().recordings[0]
    same = dataclasses.replace(base, ended_at=base.started_at)  # an empty recording: taken
    assert same.duration_s == 0.0
    assert _refusal(dataclasses.replace, base, device="Steth 1") == (
        "device must be a slug like 'oak-hill-3', not 'Steth 1'"
    )
    for name in ("started_at", "ended_at"):
        naive = getattr(base, name).replace(tzinfo=None)
        assert _refusal(dataclasses.replace, base, **{name: naive}) == (
            f"{name} must carry a time zone"
        )
    early = base.started_at - timedelta(seconds=1)
    assert _refusal(dataclasses.replace, base, ended_at=early) == (
        f"recording {base.recording_id} ends before it starts"
    )


def test_an_exam_refuses_a_bad_site_a_naive_time_and_a_recording_listed_twice() -> None:
    exam = example_exam()
    assert _refusal(dataclasses.replace, exam, site="Oak Hill") == (
        "site must be a slug like 'oak-hill-3', not 'Oak Hill'"
    )
    for name in ("started_at", "closed_at"):
        naive = getattr(exam, name).replace(tzinfo=None)
        assert _refusal(dataclasses.replace, exam, **{name: naive}) == (
            f"{name} must carry a time zone"
        )
    twice = exam.recordings[:1] * 2
    assert _refusal(dataclasses.replace, exam, recordings=twice) == (
        f"exam {exam.exam_id} lists a recording twice"
    )
