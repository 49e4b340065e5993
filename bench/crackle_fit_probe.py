"""The damped-sinusoid fit under the lung bench's conditions: ``python -m bench.crackle_fit_probe``.

A probe, not part of ``make eval`` (about a minute). The sixth round fitted each crackle
detection with a damped sinusoid (:func:`bench._eval_lung_round6.damped_fits`); on the shipped
detections (heart and slow-wave gates applied) ">= 3 detections fitted at R2 >= 0.55-0.6"
clears two false flags, but was seen to lose true flags under room noise and mains hum. This
probe replays every recording under every condition of :mod:`bench.lung_conditions` and fits
the detections in the band the analysis itself reads: after its mains filter
(``stetho_signal._mains``), in the 150-1800 Hz band at the detector's interpolated 8 kHz.

Per detection: the best fit's R2 (same model, grid and span as the sixth round's), the peak,
the band's RMS over 25 to 3 ms before it, and a robust level (1.4826 x the median magnitude
over +-50 ms, +-5 ms left out). Per recording, 40 local maxima of the band picked at random
are fitted too: what breath sound and noise alone fit. Rule families (each flags a recording
from its detections), scored fitted and leave-one-patient-out on the unchanged recordings
(:func:`bench._eval_lung_round5.family_scores`, the shipped count rule a member), and for
each member the true flags it loses under each condition (against the shipped flag there):

- ``plain``: >= 3 detections fitted at R2 >= r.
- ``noise_corrected``: R2 with the background's share taken out: a damped sinusoid under
  white noise of power s2 per sample leaves (L - 2) s2 of the segment's energy E unexplained,
  so the model's own misfit is E (1 - R2) - (L - 2) s2, over E - L s2 of signal; s from the
  25 ms before the detection.
- ``abstain_low_snr``: a detection fitted under r counts only where it stands s times or more
  over the robust level (the fit judges where the noise lets it).
- ``two_ringing``: >= 3 detections, at least 2 of them fitted at R2 >= r.
- ``median``: >= 3 detections whose median R2 is r or more.

``two_ringing`` at R2 0.6 ships since the twentieth round (``stetho_signal._ringing``), so
the detections reaching this probe are the ones it keeps; the figures of that round's
section in docs/accuracy.md were taken before it.

The conditions are replayed as the bench heard them in that round, its noise added over the
AKG files' leading digital zeros (which hides the recorder's silence from
``PreparedAudio.signal_span_s`` and lets the step into the signal through as a transient);
``--silent-zeros`` also replays the conditions that add sound (room noise, hum, a heart) with
those zeros kept at zero, as bench.lung_conditions hears them since. ``--draws N`` adds N
other draws of each room noise (the bench's pink noise seeded by another name): a member that
keeps a flag by a hair on the bench's one draw may lose it on another.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench import lung_conditions as lc
from bench._eval_lung_round5 import family_scores
from bench._eval_lung_round6 import FIT_SPAN_S
from stetho_signal import analyze
from stetho_signal._audio import ANALYSIS_RATE_HZ, prepare
from stetho_signal._ringing import ringing_r2
from stetho_signal.analysis import without_mains_hum
from stetho_signal.crackles import _CRACKLE_UPSAMPLE, crackle_band
from stetho_signal.lung import lung_band

FINE_HZ = ANALYSIS_RATE_HZ * _CRACKLE_UPSAMPLE
_FLAG_COUNT = 3  # TriageThresholds.crackles_min_count
_PRE_S = (0.025, 0.003)  # the background before a detection
_AROUND_S, _GAP_S = 0.05, 0.005  # the robust level around it
_RANDOM_PEAKS = 40
_NOISES = ("room_noise_20db", "room_noise_10db")
_ADDED = (*_NOISES, "mains_hum", "heart_half", "heart_equal")

Detection = dict[str, float]
Rule = Callable[[Sequence[Detection]], bool]


def fits(fine: NDArray[np.float64], times_s: NDArray[np.float64]) -> list[Detection]:
    """Each detection's best damped-sinusoid R2 (the shipped :func:`ringing_r2`), peak and
    background levels (module notes)."""
    before, after = round(FIT_SPAN_S[0] * FINE_HZ), round(FIT_SPAN_S[1] * FINE_HZ)
    out = []
    for t, r2 in zip(times_s, ringing_r2(fine, FINE_HZ, tuple(times_s)), strict=True):
        i = round(float(t) * FINE_HZ)
        k = i - 8 + int(np.argmax(np.abs(fine[max(i - 8, 0) : i + 8])))
        segment = fine[max(k - before, 0) : k + after]
        energy = max(float(segment @ segment), 1e-30) if segment.size == before + after else 1e-30
        pre = fine[max(k - round(_PRE_S[0] * FINE_HZ), 0) : max(k - round(_PRE_S[1] * FINE_HZ), 0)]
        w, g = round(_AROUND_S * FINE_HZ), round(_GAP_S * FINE_HZ)
        around = np.concatenate([fine[max(k - w, 0) : max(k - g, 0)], fine[k + g : k + w]])
        out.append({
            "r2": float(r2), "energy": energy, "length": float(before + after),
            "peak": float(abs(fine[k])),
            "pre_rms": float(np.sqrt(np.mean(np.square(pre)))) if pre.size else 1e-12,
            "robust": 1.4826 * float(np.median(np.abs(around))) if around.size else 1e-12,
        })  # fmt: skip
    return out


def band_as_analysed(y: NDArray[np.float64], rate: float) -> NDArray[np.float64]:
    """The lung band at 8 kHz as ``stetho_signal.analyze`` reads it: mains hum taken out."""
    _, spectrum, _ = without_mains_hum(prepare(y, rate).samples)
    fine, _ = crackle_band(lung_band(spectrum), ANALYSIS_RATE_HZ)
    return fine.astype(np.float64)


def noise_corrected(d: Detection) -> float:
    """R2 with the background's expected share taken out (module notes)."""
    s2 = d["pre_rms"] ** 2
    misfit = d["energy"] * (1.0 - d["r2"]) - (d["length"] - 2.0) * s2
    signal = d["energy"] - d["length"] * s2
    return 1.0 - max(misfit, 0.0) / signal if signal > 0 else 0.0


def families() -> dict[str, dict[str, Rule]]:
    """Each family's members, from the most lenient."""
    r_grid = (0.5, 0.55, 0.6, 0.65, 0.7)

    def count(ok: Callable[[Detection], bool]) -> Rule:
        return lambda dets: sum(ok(d) for d in dets) >= _FLAG_COUNT

    return {
        "plain": {f"R2 {r}": count(lambda d, r=r: d["r2"] >= r) for r in r_grid},
        "noise_corrected": {
            f"R2c {r}": count(lambda d, r=r: noise_corrected(d) >= r) for r in r_grid
        },
        "abstain_low_snr": {
            f"R2 {r} where over {s}x": count(
                lambda d, r=r, s=s: d["r2"] >= r or d["peak"] < s * d["robust"]
            )
            for r, s in itertools.product((0.55, 0.6, 0.65), (15.0, 12.0, 10.0, 8.0))
        },
        "two_ringing": {
            f"2 at R2 {r}": (
                lambda dets, r=r: len(dets) >= _FLAG_COUNT and sum(d["r2"] >= r for d in dets) >= 2
            )
            for r in r_grid
        },
        "median": {
            f"median R2 {r}": (
                lambda dets, r=r: (
                    len(dets) >= _FLAG_COUNT and float(np.median([d["r2"] for d in dets])) >= r
                )
            )
            for r in (0.55, 0.6, 0.62, 0.63, 0.65)
        },
    }


def replay(data_dir: Path, silent_zeros: bool, draws: int = 0) -> list[dict[str, Any]]:
    """Every recording under every condition: the shipped flag and each detection's fit."""
    items, beats = lc.recordings(data_dir), lc.hearts(data_dir)
    rng = np.random.default_rng(0)
    rows = []
    for k, item in enumerate(items):
        x, fs = item["x"], item["fs"]
        sounds = lc.heartbeat(beats[k % len(beats)][1], x.size, fs)
        conditions = [(c, False, 0) for c in lc.CONDITIONS]
        if silent_zeros:
            conditions += [(c, True, 0) for c in _ADDED]
        conditions += [(c, False, k) for c in _NOISES for k in range(1, draws + 1)]
        for condition, zeros, draw in conditions:
            # The bench seeds its noise by the recording's name: another name, another draw.
            seeded = item["name"] + (f"#{draw}" if draw else "")
            # The replay of the round's figures fills the silence, as the bench then did.
            y, rate = lc.heard(condition, x, fs, seeded, sounds, keep_silence=zeros)
            result = analyze(y, rate, "lung")
            assert result.lung is not None
            fine = band_as_analysed(y, rate)
            times = np.asarray(result.lung.crackle_times_s)
            magnitude = np.abs(fine)
            edge = round(0.1 * FINE_HZ)
            maxima = np.flatnonzero(
                (magnitude[1:-1] > magnitude[:-2]) & (magnitude[1:-1] >= magnitude[2:])
            )[edge:-edge]
            picked = rng.choice(maxima, size=min(_RANDOM_PEAKS, maxima.size), replace=False)
            rows.append({
                "name": item["name"], "patient": item["name"].split("_")[0],
                "condition": condition
                + (" (silent zeros)" if zeros else "")
                + (f" (draw {draw})" if draw else ""),
                "crackles": bool(np.any(item["cycles"][:, 2] > 0)),
                "flagged": bool(result.findings.crackles), "times_s": times.tolist(),
                "detections": fits(fine, times), "random_peaks": fits(fine, (picked + 1) / FINE_HZ),
            })  # fmt: skip
    return rows


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each family fitted and held out, and each member's losses under every condition."""
    original = [r for r in rows if r["condition"] == "original"]
    truth = [r["crackles"] for r in original]
    patients = [r["patient"] for r in original]
    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    out: dict[str, Any] = {}
    for family, members in families().items():
        flags = {"shipped": [r["flagged"] for r in original]}
        flags |= {name: [rule(r["detections"]) for r in original] for name, rule in members.items()}
        scored = family_scores(truth, patients, flags)
        for name, rule in members.items():
            lost, cleared = {}, {}
            for condition in conditions:
                rs = [r for r in rows if r["condition"] == condition]
                gone = [r for r in rs if r["flagged"] and not rule(r["detections"])]
                if names := [r["name"] for r in gone if r["crackles"]]:
                    lost[condition] = names
                cleared[condition] = [r["name"] for r in gone if not r["crackles"]]
            scored["members"][name] |= {"true_flags_lost": lost, "false_flags_cleared": cleared}
        out[family] = scored
    return out


def noise_alone(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per condition, the random band maxima's R2 quartiles (what breath and noise fit)."""
    table = {}
    for condition in dict.fromkeys(r["condition"] for r in rows):
        r2 = [d["r2"] for r in rows if r["condition"] == condition for d in r["random_peaks"]]
        table[condition] = [round(float(v), 2) for v in np.percentile(r2, (25, 50, 75))]
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--json", type=Path, default=Path("bench/results/crackle_fit_probe.json"))
    parser.add_argument("--silent-zeros", action="store_true", help="see the module notes")
    parser.add_argument(
        "--draws", type=int, default=0, help="other draws of the room noise (module notes)"
    )
    args = parser.parse_args(argv)
    if not (args.data / "MANIFEST.csv").exists():
        print(f"no MANIFEST.csv under {args.data}", file=sys.stderr)
        return 2
    rows = replay(args.data, args.silent_zeros, args.draws)
    results = {"families": score(rows), "noise_alone_r2_quartiles": noise_alone(rows),
               "per_recording": rows}  # fmt: skip
    for family, scored in results["families"].items():
        fitted, held = scored["fitted"], scored["leave_one_patient_out"]
        print(f"{family}: fitted {fitted['rule']} {fitted['sensitivity']:.3f} / "
              f"{fitted['specificity']:.3f}, held out {held['sensitivity']:.3f} / "
              f"{held['specificity']:.3f}")  # fmt: skip
        for name, member in scored["members"].items():
            lost = member.get("true_flags_lost", {})
            print(f"  {name:<24} {member['sensitivity']:.3f} / {member['specificity']:.3f}"
                  f"  lost: {lost or 'none'}")  # fmt: skip
    print("noise alone, R2 quartiles:", results["noise_alone_r2_quartiles"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
