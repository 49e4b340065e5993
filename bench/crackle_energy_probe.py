"""Does a detection carry a crackle's energy over the breath? The twenty-ninth round's probe.

The detector asks one sample of a transient to stand 6x over the band's RMS (0.1 s around it,
the transient included, never under half the recording's median level). What a listener
hears, and what a crackle adds to the sound, is energy over the transient's length: CORSA's
crackle lasts under 20 ms. A crackle is an added sound; one sample of the breath noise's own
tail that happens to reach 6x is not, and over 20 ms it carries about the breath's energy.

For each detection every other gate leaves (the bound itself lifted for the run): the band's
mean square over the 20 ms centred on it, against the breath noise around it (the median of
the 10 ms blocks' mean squares within 0.25 s either side, the 20 ms and a 10 ms margin each
side left out; a median, so that other transients near it do not raise it), in dB:
``stetho_signal._over_breath.energy_over_breath_db``. The pre-registered rule (docs/accuracy.md,
twenty-ninth round; it ships): a detection under 3 dB (the 20 ms holding less than twice the
breath's energy, i.e. the transient adding less than the breath itself) does not count; a flag
needs 3 that do. Other bounds are printed as the measure's reach, not as rules.

    python -m bench.crackle_energy_probe --data DIR [--json FILE]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench import _probe
from bench._eval_lung import crackle_recordings
from stetho_signal import _over_breath
from stetho_signal._over_breath import LEAST_ENERGY_DB, energy_over_breath_db

RULE_DB = LEAST_ENERGY_DB  # pre-registered: the transient adds at least the breath's energy
REACH_DB = (0.0, 1.5, 3.0, 4.5, 6.0, 10.0)
_FLAG_COUNT = 3  # TriageThresholds.crackles_min_count


def left(ratios_db: list[float], bound_db: float) -> int:
    """Detections that count under ``bound_db`` (an unmeasurable one counts, as shipped)."""
    return sum(not (r < bound_db) for r in ratios_db)


def member(bound_db: float) -> str:
    return f"energy >= {bound_db:.1f} dB"


def probe(data_dir: Path) -> dict[str, Any]:
    """Each recording's ratios, and the shipped rule against the pre-registered one."""
    recordings = []
    # The detections every other gate leaves: the rule itself ships in `analyze_lung`.
    _over_breath.LEAST_ENERGY_DB = -np.inf
    try:
        measured = list(crackle_recordings(data_dir))
    finally:
        _over_breath.LEAST_ENERGY_DB = LEAST_ENERGY_DB
    for record, _, fine, fine_hz in measured:
        ratios = [energy_over_breath_db(fine, fine_hz, t) for t in record["crackle_times_s"]]
        recordings.append(
            {
                "file": Path(record["file"]).name,
                "patient": record["patient"],
                "crackles": record["crackle_cycles"] > 0,
                "shipped": len(ratios),
                "energy_db": [round(r, 2) for r in ratios],
                "left": {member(b): left(ratios, b) for b in REACH_DB},
            }
        )
    truth = [r["crackles"] for r in recordings]
    patients = [r["patient"] for r in recordings]
    shipped = [r["shipped"] >= _FLAG_COUNT for r in recordings]

    def flags(bound_db: float) -> list[bool]:
        return [r["left"][member(bound_db)] >= _FLAG_COUNT for r in recordings]

    return {
        "recordings": recordings,
        **_probe.rule_and_reach(truth, patients, shipped, flags, member, RULE_DB, REACH_DB),
    }


def _kind(r: dict[str, Any]) -> str:
    return _probe.flag_kind(r["crackles"], r["shipped"] >= _FLAG_COUNT)


def _quartiles(values: list[float]) -> str:
    if not values:
        return "-"
    q = np.percentile(values, [25, 50, 75])
    return f"{q[0]:.1f} / {q[1]:.1f} / {q[2]:.1f}"


def main(argv: list[str] | None = None) -> int:
    args = _probe.arguments(__doc__, "crackle_energy_probe").parse_args(argv)
    if not _probe.has_manifest(args.data):
        return 2
    results = probe(args.data)
    rows = sorted(results["recordings"], key=lambda r: (r["patient"], r["file"]))
    print("per patient: recording, annotated crackles, detections, energy over the breath (dB)")
    for r in rows:
        ratios = ", ".join(f"{v:.1f}" for v in r["energy_db"])
        print(
            f"{r['patient']:>4} {r['file'][:26]:<26} {'crackles' if r['crackles'] else 'none':<8} "
            f"{r['shipped']:3d} -> {r['left'][member(RULE_DB)]:3d}  [{ratios}]"
        )
    print("quartiles of the ratio (dB), by kind of recording:")
    for kind in ("true flag", "false flag", "no flag"):
        values = [v for r in rows if _kind(r) == kind for v in r["energy_db"] if np.isfinite(v)]
        print(f"  {kind:<10} {len(values):3d} detections: {_quartiles(values)}")
    _probe.print_rule_and_reach(results, "bound", width=24)
    _probe.save(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
