"""The analysis' pass bands, in Hz: a module of its own, so that a page that shows or plays a
band (the hub's console) does not load SciPy with the filters that use them.

Bands follow where the sound lives (see docs in ``DOMAIN.md``).
"""

HEART_BAND_HZ: tuple[float, float] = (25.0, 400.0)
"""S1/S2 (20-150 Hz) plus the murmur range up to a few hundred Hz."""

LUNG_BAND_HZ: tuple[float, float] = (100.0, 2000.0)
"""Breath sounds, wheezes (> 100 Hz) and crackles (energy up to 2 kHz); capped below Nyquist."""

BELL_BAND_HZ: tuple[float, float] = (20.0, 200.0)
"""Bell mode of an acoustic stethoscope: low-pitched sounds (S3/S4 at 20-70 Hz, rumbles)."""

DIAPHRAGM_BAND_HZ: tuple[float, float] = (100.0, 1000.0)
"""Diaphragm mode: the tensed membrane damps low frequencies (high-pitched murmurs, breath)."""

WIDE_BAND_HZ: tuple[float, float] = (20.0, 2000.0)
"""Wide (extended) mode: everything a 4 kHz recording can hold."""
