"""The doctor's commands against a real agent process and a real Mosquitto."""

import asyncio
import contextlib
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import soundfile as sf

from edge_agent.errors import ConfigError
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.mqtt import ReceivedMessage
from edge_agent.transport.settings import broker_from_url, broker_settings
from edge_agent.wire import messages
from stetho_doctor import client
from stetho_doctor.client import AlertSaver
from stetho_testkit.agent_harness import (
    AGENT,
    SITE,
    AgentProcess,
    check_audio_matches,
    validate,
    write_config,
)
from stetho_testkit.poll import wait_until

STETHO = [sys.executable, "-m", "stetho_cli"]


def stetho(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STETHO, *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )


@pytest.mark.broker
def test_alerts_save_ack_and_listen(broker: LocalBroker, tmp_path: Path) -> None:
    state = tmp_path / "state"
    agent = AgentProcess(write_config(tmp_path / "a.toml", broker.port, state), tmp_path / "a.log")
    agent.start()
    try:
        saved = tmp_path / "saved"
        followed = stetho(
            "alerts", "--broker", broker.url, "--site", SITE, "--json", "--count", "3",
            "--save", str(saved),
        )  # fmt: skip
        assert followed.returncode == 0, followed.stderr
        alerts = [validate("alert", line.encode()) for line in followed.stdout.splitlines()]
        assert len(alerts) == 3
        # The first alert may have raced the subscription; the later ones come with their audio.
        for alert in alerts[1:]:
            rid = alert["recording_id"]
            flac = saved / f"{rid}.flac"
            assert subprocess.run(["flac", "-t", "-s", str(flac)], check=False).returncode == 0
            metadata = validate("recording", (saved / f"{rid}.recording.json").read_bytes())
            check_audio_matches(metadata, flac.read_bytes())

        alert_id = str(alerts[-1]["alert_id"])
        acked = stetho(
            "ack", alert_id, "--site", SITE, "--broker", broker.url, "--by", "dr-test",
            "--note", "heard, will call",
        )  # fmt: skip
        assert acked.returncode == 0, acked.stderr
        assert f"acknowledged {alert_id}: agent {AGENT} at {SITE} took it" in acked.stderr
        wait_until(
            lambda: f"event=alert_acknowledged alert={alert_id} by=dr-test" in agent.output(),
            20,
            every_s=0.1,
        )
        never = str(uuid.uuid4())  # refused and counted by the agent: said to the doctor too
        refused = stetho("ack", never, "--site", SITE, "--broker", broker.url)
        assert refused.returncode == 1, refused.stderr
        assert f"{AGENT} raised no such alert" in " ".join(refused.stderr.split())

        def retained_status_shows_ack() -> bool:
            topic = f"stetho/v1/{SITE}/{AGENT}/status"
            args = ["mosquitto_sub", "-p", str(broker.port), "-t", topic, "-C", "1", "-W", "5"]
            got = subprocess.run(args, capture_output=True, check=False, timeout=10).stdout
            acks = validate("status", got)["detail"]["acknowledged"]  # type: ignore[index]
            return any(a["alert_id"] == alert_id for a in acks)

        wait_until(retained_status_shows_ack, 20, every_s=0.1)

        wav = tmp_path / "live.wav"
        heard = stetho(
            "listen", "--device", "steth-a", "--site", SITE, "--broker", broker.url,
            "--out", str(wav), "--seconds", "2",
        )  # fmt: skip
        assert heard.returncode == 0, heard.stderr
        info = sf.info(str(wav))
        assert info.samplerate == 4000 and info.frames > 4000
        wait_until(lambda: "event=live_stopped device=steth-a" in agent.output(), 20, every_s=0.1)
        assert "event=live_started device=steth-a by=" in agent.output()
    finally:
        assert agent.stop() == 0, agent.output()[-3000:]
    # status.json, as the agent wrote it when it stopped (its 5 s refresh is not waited for).
    acks = json.loads((state / "status.json").read_text())["acknowledgements"]
    assert any(a["alert_id"] == alert_id and a["by"] == "dr-test" for a in acks), acks


def test_ack_rejects_a_non_uuid_and_alerts_needs_a_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no doctor.toml there
    bad = stetho("ack", "not-an-id", "--site", SITE, "--broker", "mqtt://127.0.0.1:1")
    assert bad.returncode == 2 and "not an alert id" in bad.stderr
    neither = stetho("alerts", "--json")
    assert neither.returncode == 1 and "give --broker URL or --config FILE" in neither.stderr


def _alert(rid: uuid.UUID) -> messages.AlertMessage:
    return messages.AlertMessage(
        alert_id=uuid.uuid4(), recording_id=rid, site=SITE, agent="a", device="d",
        resident="r", auscultation_site="mitral", kind="heart", recorded_at=datetime.now(tz=UTC),
        level="urgent", flags=[], audio_topic="x", recording_topic="y",
    )  # fmt: skip


def test_alert_saver_matches_audio_by_recording_id_in_either_order(tmp_path: Path) -> None:
    saver = AlertSaver(tmp_path)
    early, late, unrelated = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    props = lambda rid: (("recording_id", str(rid)),)  # noqa: E731
    audio = "stetho/v1/s/d/recordings/audio"
    saver.offer(ReceivedMessage(audio, b"fLaC-early", False, None, props(early)))
    saver.offer(ReceivedMessage(audio, b"fLaC-other", False, None, props(unrelated)))
    saver.alert(_alert(early), b"{}")
    saver.alert(_alert(late), b"{}")
    saver.offer(ReceivedMessage(audio, b"fLaC-late", False, None, props(late)))
    saver.offer(ReceivedMessage(audio, b"bad", False, None, (("recording_id", "../x"),)))
    assert (tmp_path / f"{early}.flac").read_bytes() == b"fLaC-early"
    assert (tmp_path / f"{late}.flac").read_bytes() == b"fLaC-late"
    assert not (tmp_path / f"{unrelated}.flac").exists()
    assert not list(tmp_path.glob("*.part"))


def test_broker_urls(tmp_path: Path) -> None:
    plain = broker_settings(broker_from_url("mqtt://h"), None)
    assert (plain.port, plain.tls, plain.clean_start, plain.session_expiry_s) == (
        1883, False, True, 0,
    )  # fmt: skip
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    secure = broker_settings(broker_from_url("mqtts://u:p%40ss@h", ca_file=ca), "dr-lee")
    assert (secure.port, secure.tls, secure.clean_start, secure.ca_file) == (
        8883, True, False, str(ca),
    )  # fmt: skip
    assert (secure.username, secure.password, secure.client_id) == ("u", "p@ss", "dr-lee")
    assert broker_from_url("127.0.0.1:1884").port == 1884  # as people type it
    with pytest.raises(ConfigError, match="mqtt://host:1883"):
        broker_from_url("http://h")
    with pytest.raises(ConfigError, match="ca_file"):
        broker_from_url("mqtts://h", ca_file=tmp_path / "missing.pem")


@pytest.mark.broker
def test_listen_without_an_agent_says_so(broker: LocalBroker, tmp_path: Path) -> None:
    heard = stetho(
        "listen", "--device", "steth-a", "--site", SITE, "--broker", broker.url,
        "--out", str(tmp_path / "x.wav"), "--seconds", "1",
    )  # fmt: skip
    assert heard.returncode == 1 and "no live audio from steth-a" in heard.stderr


@pytest.mark.broker
def test_doctor_tools_use_the_configs_password_file(tmp_path: Path) -> None:
    """`--config` brings the agent's broker password, as the daemon reads it (a bug once)."""
    passwords = tmp_path / "mosquitto.passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "doctor", "s3cret"], check=True)
    locked = LocalBroker(
        tmp_path / "mq", extra_config=f"allow_anonymous false\npassword_file {passwords}"
    )
    locked.start()
    try:
        secret = tmp_path / "broker.secret"
        secret.write_text("s3cret\n")
        secret.chmod(0o600)
        config = write_config(tmp_path / "a.toml", locked.port, tmp_path / "state")
        text = config.read_text().replace(
            "keepalive_s = 5\n",
            f'keepalive_s = 5\nusername = "doctor"\npassword_file = "{secret}"\n',
        )
        config.write_text(text)
        alert = str(uuid.uuid4())
        acked = stetho("ack", alert, "--site", SITE, "--config", str(config))
        assert acked.returncode == 0, acked.stderr
        config.write_text(text.replace(f'password_file = "{secret}"\n', ""))
        refused = stetho("ack", alert, "--site", SITE, "--config", str(config), timeout_s=30)
        assert refused.returncode == 1 and "not authorized" in refused.stderr.lower(), (
            refused.stderr
        )
    finally:
        locked.kill()


@pytest.mark.broker
def test_doctor_tools_explain_mistakes_and_read_their_own_config(
    broker: LocalBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    alert = str(uuid.uuid4())
    nothing = stetho("alerts", "--json", "--count", "1")
    assert nothing.returncode == 1 and "doctor.toml" in nothing.stderr
    wrong = stetho("alerts", "--broker", "http://h")
    assert wrong.returncode == 2 and "mqtt://host:1883" in wrong.stderr
    missing = stetho("ack", alert, "--site", SITE, "--config", str(tmp_path / "none.toml"))
    assert missing.returncode == 2 and "cannot read the file" in missing.stderr
    for run in (nothing, wrong, missing):
        assert "Traceback" not in run.stderr
    own = tmp_path / ".config" / "stetho" / "doctor.toml"
    own.parent.mkdir(parents=True)
    own.write_text(f'[broker]\nhost = "127.0.0.1"\nport = {broker.port}\n')
    acked = stetho("ack", alert, "--site", SITE)
    assert acked.returncode == 0, acked.stderr


def test_stopping_a_follower_leaves_no_task_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    # A doctor's `stetho alerts` stopped while it waits: the message getter it started must go
    # with it (`make demo` logged "Task was destroyed but it is pending" at exit).
    connection = SimpleNamespace(messages=None, closed=None, disconnect=None)

    async def connect(_settings: object) -> SimpleNamespace:
        connection.messages, connection.closed = asyncio.Queue(), asyncio.Event()
        connection.disconnect = lambda: asyncio.sleep(0)
        return connection

    monkeypatch.setattr(client, "connect", connect)

    async def follow_then_stop() -> list[asyncio.Task[object]]:
        async def follow() -> None:
            async for _ in client.received(None):  # type: ignore[arg-type]
                pass

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.1)  # connected, and waiting for a message
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)  # a cancelled task finishes on the next turn
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert asyncio.run(follow_then_stop()) == []
