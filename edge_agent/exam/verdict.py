"""From an analysis to what the nurse at the bedside reads: short, actionable, translatable.

The analysis names problems for the doctor (stetho_signal.PROBLEM_TEXT); the nurse
needs the one thing to do next. Each verdict is a message key that the page translates.
A notice (mains hum, taken out by the analysis; a faint sound, analysed all the same; a wheeze
heard while someone spoke) is advice too, but never a reason to record again: the site is
done when the recording is acceptable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from edge_agent.wire import messages
from stetho_signal import PROBLEM_TEXT

_CODE_OF_TEXT: Final = {text: code for code, text in PROBLEM_TEXT.items()}
LINK_DROP_S: Final = 0.1  # a gap this long is a dropped link, not a few lost notifications
# The order is the order a nurse fixes things in: contact first, then gain, then the room.
NURSE_ADVICE: Final[dict[str, str]] = {
    "no_signal": "advice.too_quiet",
    "handling": "advice.slipping",
    "no_heartbeat": "advice.no_heartbeat",
    "clipping": "advice.clipping",
    "breath_unheard": "advice.breath_unheard",
    "background_noise": "advice.background_noise",
    "noise": "advice.noise",
    "disconnected": "advice.disconnected",
    "analysis_failed": "advice.analysis_failed",
    # Notices: last, and they leave the verdict as it was.
    "faint": "advice.faint",
    "mains_hum": "advice.mains_hum",
    "voice": "advice.voice",
}


@dataclass(frozen=True)
class Verdict:
    acceptable: bool
    codes: tuple[str, ...]  # problem codes, most urgent first, then notices (faint, ..., voice)

    @property
    def advice_keys(self) -> tuple[str, ...]:
        return tuple(NURSE_ADVICE[c] for c in self.codes if c in NURSE_ADVICE)


def problem_codes(analysis: messages.Analysis) -> tuple[str, ...]:
    """The analysis's problem codes; a text we do not know keeps a generic code."""
    return tuple(_CODE_OF_TEXT.get(text, "noise") for text in analysis.quality.problems)


def verdict_of(recording: messages.RecordingMessage) -> Verdict:
    """Whether the site is done, and why not, from the recording as published."""
    codes: list[str] = []
    if recording.partial or _link_dropped(recording):  # not the nurse's doing
        codes.append("disconnected")
    if recording.analysis is None:
        codes.append("analysis_failed")
    else:
        codes.extend(problem_codes(recording.analysis))
        quality = recording.analysis.quality
        if quality.faint_level_dbfs is not None:  # analysed: raise the gain, nothing to redo
            codes.append("faint")
        if quality.mains_hum_hz:  # taken out: something to fix, not to redo
            codes.append("mains_hum")
        if _wheeze_while_talking(recording.analysis):  # the doctor checks it: nothing to redo
            codes.append("voice")
    ordered = tuple(sorted(dict.fromkeys(codes), key=_rank))
    acceptable = (
        recording.analysis is not None
        and recording.analysis.quality.acceptable
        and "disconnected" not in ordered
    )
    return Verdict(acceptable, ordered)


def _wheeze_while_talking(analysis: messages.Analysis) -> bool:
    """A wheeze flag that says speech was heard (`voice_sounds`): the voice may be the wheeze."""
    return any(
        f.code == "lung_wheeze" and "voice_sounds" in f.details for f in analysis.triage.flags
    )


def _link_dropped(recording: messages.RecordingMessage) -> bool:
    """A gap longer than a few lost notifications (each carries ~30 ms of sound): the link
    dropped and came back mid-recording, so a stretch of the sound is missing."""
    return any(g.duration_s >= LINK_DROP_S for g in recording.gaps)


def _rank(code: str) -> int:
    order = list(NURSE_ADVICE)
    return order.index(code) if code in order else len(order)


def findings_of(analysis: messages.Analysis | None) -> dict[str, object]:
    """The few findings the page shows per site (rates, flags, triage level).

    Flags keep their code and numbers, so the page words them in the nurse's language
    (edge_agent.wire.flag_words); findings saved before kept the codes alone.
    """
    if analysis is None:
        return {}
    flags = [f.model_dump() for f in analysis.triage.flags]
    out: dict[str, object] = {"level": analysis.triage.level, "flags": flags}
    if analysis.heart is not None:
        out["rate_bpm"] = analysis.heart.rate_bpm
        out["irregular"] = analysis.heart.irregular
        out["murmur_suspected"] = analysis.heart.murmur_suspected
    if analysis.lung is not None:
        out["respiratory_rate_bpm"] = analysis.lung.respiratory_rate_bpm
        out["wheeze"] = analysis.lung.wheeze
        out["crackles"] = analysis.lung.crackles
    return out
