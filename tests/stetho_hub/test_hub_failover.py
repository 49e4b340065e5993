"""The hub follows `[broker] hosts` as the agent does: two Mosquittos, the first one down;
the console's decisions take the next address too."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker, free_port
from edge_agent.transport.mqtt import MqttSettings
from stetho_hub.storage import DatabaseTarget
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import console_running
from stetho_testkit.hub.factory import make_recording
from stetho_testkit.hub.harness import HubProcess, WirePublisher, write_hub_config
from stetho_testkit.mqtt_client import MqttTestClient
from stetho_testkit.poll import wait_until

pytestmark = pytest.mark.broker
FAILBACK_S = 3


def _wait_archived(hub: HubProcess, rid: str, timeout_s: float = 30) -> None:
    wait_until(
        lambda: rid in hub.archived_ids(),
        timeout_s,
        every_s=0.1,
        what=f"{rid} archived",
        describe=lambda: hub.output()[-3000:],
    )


def test_the_hub_archives_through_the_second_broker_and_comes_back(tmp_path: Path) -> None:
    first, second = LocalBroker(tmp_path / "a"), LocalBroker(tmp_path / "b")
    second.start()  # the first stays down
    target = DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    config = write_hub_config(tmp_path / "hub.toml", first.port, target, tmp_path / "audio")
    hosts = f'hosts = ["127.0.0.1:{first.port}", "127.0.0.1:{second.port}"]'
    config.write_text(
        config.read_text().replace("keepalive_s = 30\n", f"keepalive_s = 30\n{hosts}\n"
                                   f"failback_s = {FAILBACK_S}\n")
    )  # fmt: skip
    hub = HubProcess(config, tmp_path / "hub.log")
    try:
        started = time.monotonic()
        hub.start()  # returns once connected: to the second, after three refused connects
        moved_s = time.monotonic() - started
        assert f"event=hub_connected broker=127.0.0.1:{second.port}" in hub.output()
        assert f"event=broker_failover from=127.0.0.1:{first.port}" in hub.output()
        via_second = make_recording(1, site="home-a")
        with WirePublisher(second.host, second.port) as agent:  # a care home failed over too
            agent.recording(via_second)
        _wait_archived(hub, via_second.recording_id)
        first.start()
        wait_until(  # failback after FAILBACK_S on the second broker
            lambda: f"event=hub_connected broker=127.0.0.1:{first.port}" in hub.output(),
            30,
            every_s=0.1,
            what="the hub back on the first broker",
            describe=lambda: hub.output()[-3000:],
        )
        via_first = make_recording(2, site="home-a")
        with WirePublisher(first.host, first.port) as agent:
            agent.recording(via_first)
        _wait_archived(hub, via_first.recording_id)
    finally:
        hub.kill()
        first.kill()
        second.kill()
    print(f"hub failover: on the second broker {moved_s:.1f} s after start; back to the first"
          f" after {FAILBACK_S} s there")  # fmt: skip
    assert "event=broker_failback" in hub.output()


def test_the_console_s_decisions_reach_the_care_home_through_the_second_broker(
    tmp_path: Path,
) -> None:
    second = LocalBroker(tmp_path / "b")
    second.start()
    publish = MqttSettings(
        "127.0.0.1", free_port(), "hub-console", failover=((second.host, second.port),)
    )  # the first address refuses: nothing listens there
    try:
        with (
            MqttTestClient(second.host, second.port, ["stetho/v1/home-a/acks"]) as care_home,
            console_running(tmp_path, publish) as hub,
        ):
            doctor = Browser(hub.url)
            assert doctor.sign_in("dr-a") == 303
            page = f"/recordings/{hub.home_a.recording_id}"
            form = {"csrf": doctor.csrf(page), "disposition": "gp-visit-24h", "note": ""}
            status, body, _h = doctor.post(f"{page}/decision", form)
            assert status == 303, body[:300]
            ack = json.loads(care_home.wait_for(lambda m: len(m) >= 1)[0].payload)
    finally:
        second.kill()
    assert (ack["disposition"], ack["by"]) == ("gp-visit-24h", "dr-a")
