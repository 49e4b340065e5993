"""The versioned MQTT topic tree (documented in docs/mqtt.md)."""

from __future__ import annotations

ROOT = "stetho/v1"


def agent_status(site: str, agent: str) -> str:
    return f"{ROOT}/{site}/{agent}/status"


def device_status(site: str, device: str) -> str:
    return f"{ROOT}/{site}/{device}/status"


def recording(site: str, device: str) -> str:
    return f"{ROOT}/{site}/{device}/recordings"


def recording_audio(site: str, device: str) -> str:
    return f"{ROOT}/{site}/{device}/recordings/audio"


def triage(site: str) -> str:
    return f"{ROOT}/{site}/triage"


def alerts(site: str) -> str:
    return f"{ROOT}/{site}/alerts"


def acks(site: str) -> str:
    return f"{ROOT}/{site}/acks"


def exams(site: str) -> str:
    return f"{ROOT}/{site}/exams"


def exam_answers(site: str) -> str:
    return f"{ROOT}/{site}/exams/answers"


def receipts(site: str) -> str:
    return f"{ROOT}/{site}/receipts"


def live(site: str, device: str) -> str:
    return f"{ROOT}/{site}/{device}/live"


def command(site: str, target: str) -> str:
    return f"{ROOT}/{site}/{target}/cmd"


ALL_SITES_ALERTS = f"{ROOT}/+/alerts"
