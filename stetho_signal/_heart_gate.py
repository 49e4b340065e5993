"""Crackle candidates that are a heart sound's own onset: gated at the labelled S1 and S2."""

from __future__ import annotations

import itertools

import numpy as np

from stetho_signal.heart import HeartResult

__all__ = [
    "CLEAR_HEARTBEAT",
    "HEART_SOUND_REACH_S",
    "LABELLED_SOUND_REACH_S",
    "REGULAR_NRMSSD",
    "away_from_heartbeat",
    "heartbeat_reach_s",
]

# A heartbeat the heart analysis finds clearly (autocorrelation at the beat period at least the
# quality gate's "clearly periodic" 0.3) is audible in the lung recording: its S1 and S2 are
# labelled. Their sharp onsets pass the crackle detector's waveform tests (healthy children's
# chests: 10-43 "crackles" a recording, nearly all within 30 ms of an S1 or S2).
CLEAR_HEARTBEAT = 0.3
# A regular one (normalised RMSSD under the triage's 0.1) has every label borne out by the beat
# period. A sound lasts 80-140 ms and S2 splits into two components up to ~60 ms apart on
# inspiration: transients within 0.1 s of a labelled S1 or S2 centre belong to it.
REGULAR_NRMSSD = 0.1
HEART_SOUND_REACH_S = 0.1
# An irregular one (atrial fibrillation, ectopic beats; on the lung bench, a second heart played
# under a chest that has its own) still has its sounds labelled where the segmentation found
# them, one by one: only the sound itself is claimed, half its length (Springer's priors, S1
# 122 +- 22 ms, S2 94 +- 22 ms: 47-61 ms), the 60 ms the lung's other heart-sound gates use.
# Thirteenth-round lung bench, heart under the breath: 0.04-0.06 s gave the same flags, 0.03
# kept one added flag more, 0.08 hid one annotated flag more (docs/accuracy.md, fourteenth
# round, heart sounds at lung sites).
LABELLED_SOUND_REACH_S = 0.06


def heartbeat_reach_s(heart: HeartResult) -> float | None:
    """How far (s) from a labelled S1 or S2 centre a transient belongs to that sound.

    Parameters
    ----------
    heart : HeartResult
        The heart analysis of the lung recording.

    Returns
    -------
    reach : float or None
        :data:`HEART_SOUND_REACH_S` for a clear, regular heartbeat,
        :data:`LABELLED_SOUND_REACH_S` for a clear one whose regularity is not borne out
        (irregular, or too few intervals to tell), None when no heartbeat is clear (no gate).
    """
    if not (heart.heartbeat_found and heart.periodicity >= CLEAR_HEARTBEAT):
        return None
    regular = heart.rr_nrmssd is not None and heart.rr_nrmssd < REGULAR_NRMSSD
    return HEART_SOUND_REACH_S if regular else LABELLED_SOUND_REACH_S


def away_from_heartbeat(times_s: tuple[float, ...], heart: HeartResult) -> tuple[float, ...]:
    """The transients at ``times_s`` (s) further than :func:`heartbeat_reach_s` from every
    labelled S1 and S2 of ``heart``; all of them when no heartbeat is clear or none is labelled.
    """
    reach = heartbeat_reach_s(heart)
    sounds = np.concatenate([heart.s1_s, heart.s2_s])
    if reach is None or sounds.size == 0:
        return times_s
    near = np.abs(np.asarray(times_s)[:, None] - sounds[None, :]) <= reach
    return tuple(itertools.compress(times_s, ~near.any(axis=1)))
