"""Synthetic heart and lung sounds and the simulator's scenarios.

Used by the simulated stethoscope (firmware_bridge's simulator backend), the tests, the benches
and the demo. `scenarios` is light; `synth` needs SciPy and is imported only where sound is
made; `sounds` (NumPy only) makes the phonocardiograms and breath sounds with known answers that
the signal tests and the heart sweeps check the analysis against.
"""
