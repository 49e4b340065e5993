"""The nurse's verdict from a published recording: plain messages in, advice keys out.

Mains hum the analysis took out is advice (where the cable goes), never a reason to record
again: an acceptable recording with hum is still done, and a poor one is poor for its own
problems, with the hum's advice after theirs. A faint sound analysed all the same (a
stethoscope at low gain) is a notice the same way.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from edge_agent.exam.verdict import LINK_DROP_S, NURSE_ADVICE, findings_of, verdict_of
from edge_agent.web.i18n import CATALOGUES
from edge_agent.wire import messages
from stetho_signal.quality import PROBLEM_TEXT

AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _recording(
    acceptable: bool = True, problems: tuple[str, ...] = (), hum: tuple[float, ...] = (),
    gaps: tuple[float, ...] = (), faint: float | None = None,
    flags: tuple[messages.Flag, ...] = (), partial: bool = False, analysed: bool = True,
) -> messages.RecordingMessage:  # fmt: skip
    quality = messages.Quality(
        score=0.9 if acceptable else 0.2, acceptable=acceptable,
        problems=[PROBLEM_TEXT[p] for p in problems], mains_hum_hz=list(hum),
        faint_level_dbfs=faint,
    )  # fmt: skip
    analysis = messages.Analysis(
        sample_rate_hz=4000.0, duration_s=8.0, kind="heart", quality=quality, heart=None,
        lung=None,
        triage=messages.Triage(level="routine" if acceptable else "rerecord", flags=list(flags)),
    )  # fmt: skip
    return messages.RecordingMessage(
        recording_id=uuid.uuid4(), site="home-1", agent="pi", device="steth-1", resident="r-1",
        auscultation_site="mitral", kind="heart", started_at=AT, ended_at=AT, sample_rate_hz=4000,
        n_samples=32000, partial=partial,
        gaps=[messages.Gap(start_s=1.0, duration_s=g) for g in gaps],
        audio=messages.AudioRef(topic="t", content_type="audio/flac", size_bytes=1,
                                pcm_sha256="0" * 64),
        analysis=analysis if analysed else None,
    )  # fmt: skip


def test_hum_taken_out_is_advice_and_the_site_is_still_done() -> None:
    verdict = verdict_of(_recording(hum=(50.0,)))
    assert verdict.acceptable is True
    assert verdict.codes == ("mains_hum",)
    assert verdict.advice_keys == ("advice.mains_hum",)


def test_no_hum_no_advice() -> None:
    verdict = verdict_of(_recording())
    assert verdict.acceptable is True and verdict.codes == () and verdict.advice_keys == ()


@pytest.mark.parametrize("hum", [(), (50.0,), (50.0, 60.0)])
def test_a_poor_recording_is_poor_for_its_own_problems_hum_or_not(hum: tuple[float, ...]) -> None:
    verdict = verdict_of(_recording(False, ("noise", "no_signal"), hum, gaps=(0.5,)))
    assert verdict.acceptable is False
    expected = ("no_signal", "noise", "disconnected") + (("mains_hum",) if hum else ())
    assert verdict.codes == expected  # the hum's advice last: fix contact and room first


def test_a_faint_sound_is_advice_before_the_hum_and_the_site_is_done() -> None:
    verdict = verdict_of(_recording(hum=(50.0,), faint=-74.5))
    assert verdict.acceptable is True
    assert verdict.advice_keys == ("advice.faint", "advice.mains_hum")


def test_a_poor_faint_recording_is_poor_for_its_own_problems() -> None:
    verdict = verdict_of(_recording(False, ("noise",), faint=-70.0))
    assert verdict.acceptable is False and verdict.codes == ("noise", "faint")


def test_every_advice_reads_in_english_and_french() -> None:
    for key in NURSE_ADVICE.values():
        assert CATALOGUES["en"][key] and CATALOGUES["fr"][key], key
    assert "Electrical hum" in CATALOGUES["en"]["advice.mains_hum"]
    assert "Bourdonnement électrique" in CATALOGUES["fr"]["advice.mains_hum"]
    assert "volume (gain) up" in CATALOGUES["en"]["advice.faint"]
    assert "montez le volume" in CATALOGUES["fr"]["advice.faint"]


def test_breath_unheard_asks_for_deep_breaths_before_quiet() -> None:
    verdict = verdict_of(_recording(False, ("noise", "breath_unheard")))
    assert verdict.advice_keys == ("advice.breath_unheard", "advice.noise")
    assert "breathe slowly and deeply" in CATALOGUES["en"]["advice.breath_unheard"]
    assert "bouche ouverte" in CATALOGUES["fr"]["advice.breath_unheard"]


def test_background_noise_asks_for_a_quiet_room_after_deep_breaths() -> None:
    verdict = verdict_of(_recording(False, ("background_noise", "breath_unheard")))
    assert verdict.advice_keys == ("advice.breath_unheard", "advice.background_noise")
    assert "could hide crackles" in CATALOGUES["en"]["advice.background_noise"]
    assert "cacher des crépitants" in CATALOGUES["fr"]["advice.background_noise"]


def _wheeze(**details: float) -> messages.Flag:
    return messages.Flag(
        code="lung_wheeze", reason="Musical sound", value=0.2, threshold=0.1, details=details
    )


def test_a_wheeze_heard_while_someone_spoke_is_a_notice_and_the_site_is_done() -> None:
    verdict = verdict_of(_recording(flags=(_wheeze(frequency_hz=203.0, voice_sounds=9.0),)))
    assert verdict.acceptable and verdict.codes == ("voice",)
    assert verdict.advice_keys == ("advice.voice",)
    assert "stay silent" in CATALOGUES["en"]["advice.voice"]
    assert "se taire" in CATALOGUES["fr"]["advice.voice"]
    # After the hum's notice; a poor recording stays poor for its own problems.
    both = verdict_of(
        _recording(False, ("noise",), hum=(50.0,), flags=(_wheeze(voice_sounds=3.0),))
    )
    assert both.acceptable is False and both.codes == ("noise", "mains_hum", "voice")


def test_a_wheeze_without_speech_or_speech_without_a_wheeze_is_no_notice() -> None:
    assert verdict_of(_recording(flags=(_wheeze(frequency_hz=400.0),))).codes == ()
    crackles = messages.Flag(code="lung_crackles", reason="x", value=5.0, threshold=3.0, details={})
    assert verdict_of(_recording(flags=(crackles,))).codes == ()


def test_a_recording_cut_short_is_recorded_again_however_good_it_sounded() -> None:
    verdict = verdict_of(_recording(partial=True))
    assert verdict.acceptable is False and verdict.codes == ("disconnected",)
    assert verdict.advice_keys == ("advice.disconnected",)


def test_a_gap_of_a_dropped_link_is_a_disconnection_a_few_lost_notifications_are_not() -> None:
    assert verdict_of(_recording(gaps=(LINK_DROP_S,))).codes == ("disconnected",)
    assert not verdict_of(_recording(gaps=(LINK_DROP_S,))).acceptable
    assert verdict_of(_recording(gaps=(0.03, 0.06))) == verdict_of(_recording())


def test_a_recording_the_analysis_failed_on_is_recorded_again() -> None:
    verdict = verdict_of(_recording(analysed=False))
    assert verdict.acceptable is False and verdict.codes == ("analysis_failed",)
    assert verdict.advice_keys == ("advice.analysis_failed",)
    both = verdict_of(_recording(partial=True, analysed=False))
    assert both.codes == ("disconnected", "analysis_failed")


def test_a_problem_this_agent_does_not_know_still_asks_to_record_again() -> None:
    recording = _recording(False, ("no_signal",))
    assert recording.analysis is not None
    recording.analysis.quality.problems.append("a problem named by a newer analysis")
    verdict = verdict_of(recording)
    assert verdict.codes == ("no_signal", "noise")
    assert verdict.advice_keys == ("advice.too_quiet", "advice.noise")


def test_every_problem_the_analysis_names_has_advice_for_the_nurse() -> None:
    assert set(PROBLEM_TEXT) <= set(NURSE_ADVICE)


def test_the_page_keeps_rates_flags_and_level_per_site() -> None:
    wheeze = _wheeze(frequency_hz=400.0)
    analysis = messages.Analysis(
        sample_rate_hz=4000.0, duration_s=8.0, kind="lung",
        quality=messages.Quality(score=0.9, acceptable=True, problems=[]),
        heart=messages.HeartFindings(rate_bpm=88.0, s1_s=[0.1], s2_s=[0.4], irregular=False,
                                     murmur_suspected=True),
        lung=messages.LungFindings(respiratory_rate_bpm=24.0, wheeze=True,
                                   wheeze_intervals_s=[(1.0, 1.3)], crackles=False,
                                   crackle_times_s=[]),
        triage=messages.Triage(level="review", flags=[wheeze]),
    )  # fmt: skip
    assert findings_of(analysis) == {
        "level": "review", "flags": [wheeze.model_dump()],
        "rate_bpm": 88.0, "irregular": False, "murmur_suspected": True,
        "respiratory_rate_bpm": 24.0, "wheeze": True, "crackles": False,
    }  # fmt: skip
    heart_only = analysis.model_copy(update={"lung": None})
    heart_keys = {"level", "flags", "rate_bpm", "irregular", "murmur_suspected"}
    assert set(findings_of(heart_only)) == heart_keys
    lung_only = analysis.model_copy(update={"heart": None})
    lung_keys = {"level", "flags", "respiratory_rate_bpm", "wheeze", "crackles"}
    assert set(findings_of(lung_only)) == lung_keys
    assert findings_of(None) == {}
