"""The quality problems a recording can have, by code, in the words the doctor reads: a module of
its own, so that naming them (the nurses' advice in `edge_agent.exam.verdict`, which `stetho exam`
and `stetho staff` load) does not load NumPy."""

from __future__ import annotations

__all__ = ["PROBLEM_TEXT"]

PROBLEM_TEXT = {
    "clipping": "clipping: lower the gain",
    "no_signal": "stethoscope not in contact: no sound recorded, check contact and that it is on",
    "noise": "too noisy: keep the chest piece still on bare skin and quiet the room",
    "no_heartbeat": "no clear heartbeat: stethoscope not in contact or off the heart, move it",
    "handling": "stethoscope slipping or not in firm contact: hold the chest piece still and "
    "firmly on bare skin",
    "breath_unheard": "breathing barely heard over the background: ask for slow deep breaths "
    "through the open mouth and quiet the room",
    "background_noise": "background noise loud enough to hide crackles: quiet the room (door "
    "shut, television, radio and talk off) and record again",
}
