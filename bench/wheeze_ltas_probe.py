"""Does a wheeze that recurs over the breaths build a peak in the long-term spectrum?

The twenty-ninth round's probe (``python -m bench.wheeze_ltas_probe --data DIR``, a few
seconds, not in ``make eval``). The shipped search (``stetho_signal.wheezes``) asks each 64 ms
frame for a tone 9 dB over its neighbours held 100 ms; about half the wheezy ICBHI recordings
hold no such run, their tones being faint in every frame. A wheeze is made by one airway
fluttering at a pitch set by its wall and the flow (Grotberg and Gavriely, J Appl Physiol
1989), and it recurs breath after breath at about that pitch (Pasterkamp, Kraman and
Wodicka, Am J Respir Crit Care Med 1997): averaged over the recording, its bins gain power that
breath noise, broad and random from frame to frame, does not.

The measure, per recording, on the samples ``analyze`` searches (analysis rate, mains hum
taken out): the frames of the wheeze search's spectrogram (64 ms Hann, 32 ms hop, 15.6 Hz
bins), each frame's 100-1000 Hz power divided by its band total (so a loud click or heart
sound weighs as one frame; frames under 1 % of the median band total, a recorder's silence,
left out), averaged over the frames: a long-term average spectrum. Each bin of 100-1000 Hz
against the larger of two medians, of the bins 3-8 away below it and of those 3-8 away above
it (47-125 Hz), in dB, so that a band edge, where one side falls away, is no peak; the
recording's *peak* is the largest. Spectral flatness of the same average over the band is
printed beside it, as a reading, not a rule, and so is how steady the peak bin's share is
from frame to frame (its mean over its median: near 1 for a resonance heard in every frame,
large for a tone heard in bursts).

The pre-registered rule (docs/accuracy.md, twenty-ninth round): a recording is wheezy when
the shipped search flags it or its peak stands at least 3 dB over its neighbours. Other
bounds are printed as the measure's reach, with leave one patient out over them, not rules.

    python -m bench.wheeze_ltas_probe --data DIR [--json FILE]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench import _probe
from bench._eval_lung import _icbhi_files, annotated_cycles, read_audio
from bench._probe import per_patient  # still importable from here, as it was
from bench.wheeze_forensics import _Recording, analysed
from stetho_signal._audio import ANALYSIS_RATE_HZ
from stetho_signal._spectra import frame_power
from stetho_signal.triage import TriageThresholds
from stetho_signal.wheezes import WHEEZE_NPERSEG

BAND_HZ = (100.0, 1000.0)
NEAR_BINS = 2  # the peak's own skirt under a Hann window (and a slow glide)
FAR_BINS = 8  # 125 Hz: the neighbours a breath's broad spectrum shares
SILENT_SHARE = 0.01  # of the median frame's band power: a recorder's silence
RULE_DB = 3.0  # pre-registered: a bin's average power doubled
REACH_DB = (1.5, 2.0, 3.0, 4.0, 6.0)


def long_term_peak(x: NDArray[np.float64]) -> dict[str, float]:
    """The long-term average spectrum's largest peak over its neighbours (dB, Hz) and the
    spectral flatness of that average in ``BAND_HZ``."""
    freqs, _, power = frame_power(x, ANALYSIS_RATE_HZ, WHEEZE_NPERSEG, WHEEZE_NPERSEG // 2)
    band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    p = power.astype(np.float64)
    total = p[band].sum(axis=0)
    kept = total > SILENT_SHARE * np.median(total)
    ltas = (p[:, kept] / total[kept]).mean(axis=1)
    rows = np.flatnonzero(band)
    ratios = []
    for k in rows:
        below = np.median(ltas[max(k - FAR_BINS, 1) : k - NEAR_BINS])
        above = np.median(ltas[k + NEAR_BINS + 1 : k + FAR_BINS + 1])
        # Over both sides: at a band edge or a chest piece's roll-off one side falls away.
        ratios.append(ltas[k] / max(below, above))
    best = int(np.argmax(ratios))
    inside = ltas[rows]
    flatness = float(np.exp(np.mean(np.log(inside))) / np.mean(inside))
    # A reading, not a rule: is the peak bin's share steady (a resonance) or in bursts?
    share = p[rows[best], kept] / total[kept]
    return {
        "peak_db": round(float(10.0 * np.log10(ratios[best])), 2),
        "peak_hz": round(float(freqs[rows[best]]), 1),
        "flatness": round(flatness, 3),
        "peak_mean_over_median": round(float(share.mean() / np.median(share)), 2),
    }


def member(bound_db: float) -> str:
    return f"shipped or peak >= {bound_db:.1f} dB"


def probe(data_dir: Path) -> dict[str, Any]:
    """Each recording's peak, and the shipped search against the pre-registered rule."""
    duration = TriageThresholds().wheeze_min_duration_s
    recordings = []
    for wav, _ in _icbhi_files(data_dir):
        cycles = annotated_cycles(wav)
        raw, fs = read_audio(wav)
        x = analysed(raw, fs)
        rec = _Recording(x, duration)
        recordings.append(
            {
                "file": wav.stem,
                "patient": wav.stem.split("_")[0],
                "wheezes": bool((cycles[:, 3] > 0).any()),
                "flagged": bool(rec.found),
                **long_term_peak(x),
            }
        )
    truth = [r["wheezes"] for r in recordings]
    patients = [r["patient"] for r in recordings]
    shipped = [r["flagged"] for r in recordings]

    def flags(bound_db: float) -> list[bool]:
        return [r["flagged"] or r["peak_db"] >= bound_db for r in recordings]

    return {
        "recordings": recordings,
        "per_patient": {
            "shipped": per_patient(truth, patients, shipped),
            member(RULE_DB): per_patient(truth, patients, flags(RULE_DB)),
        },
        **_probe.rule_and_reach(truth, patients, shipped, flags, member, RULE_DB, REACH_DB),
    }


def main(argv: list[str] | None = None) -> int:
    args = _probe.arguments(__doc__, "wheeze_ltas_probe").parse_args(argv)
    if not _probe.has_manifest(args.data):
        return 2
    results = probe(args.data)
    rows = sorted(results["recordings"], key=lambda r: (r["patient"], r["file"]))
    print(
        "per patient: recording, annotated, shipped flag, long-term peak (dB, Hz), flatness,"
        " the peak bin's share mean/median"
    )
    for r in rows:
        print(
            f"{r['patient']:>4} {r['file'][:26]:<26} {'wheezes' if r['wheezes'] else 'none':<8} "
            f"{'flag' if r['flagged'] else '-':<5} {r['peak_db']:5.2f} dB {r['peak_hz']:7.1f} Hz"
            f"  flatness {r['flatness']:.3f}  mean/median {r['peak_mean_over_median']:5.2f}"
        )
    for kind in (True, False):
        values = sorted(r["peak_db"] for r in rows if r["wheezes"] is kind)
        print(f"peaks, {'wheezy' if kind else 'wheeze-free'}: {values}")
    _probe.print_rule_and_reach(results, "bound", width=28)
    _probe.print_per_patient(results["per_patient"], width=28)
    _probe.save(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
