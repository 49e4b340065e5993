"""The sample rates the analysis takes, in Hz: a module of its own, so that checking a
config's rates does not load SciPy (a second of every `stetho` command on a Pi)."""

MIN_RATE_HZ = 2000.0
MAX_RATE_HZ = 48000.0
