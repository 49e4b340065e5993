"""Synthetic heart and lung sounds with known answers, for tests, benches and demos.

Pure NumPy: no I/O, no analysis. ``stetho_sim.sounds`` holds the generators.
"""

from stetho_sim.sounds import (
    FS_HZ,
    S3_DELAY_S,
    add_crackles,
    add_rumble,
    add_wheeze,
    beat_times,
    breathing,
    burst,
    median_rate_bpm,
    pcg,
    systole_s,
    voice,
)

__all__ = [
    "FS_HZ",
    "S3_DELAY_S",
    "add_crackles",
    "add_rumble",
    "add_wheeze",
    "beat_times",
    "breathing",
    "burst",
    "median_rate_bpm",
    "pcg",
    "systole_s",
    "voice",
]
