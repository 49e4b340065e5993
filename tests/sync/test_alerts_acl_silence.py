"""What a doctor's `stetho alerts` can know when the broker's ACL does not let her read a site:
with Mosquitto, nothing. It grants the subscription (SUBACK reason 0, MQTT 5 as 3.1.1) and
drops each message the ACL forbids, so no SUBACK reason code can say "refused" and the command
documents the silence instead (its --help, docs/mqtt.md §7). If this test fails, Mosquitto
refuses now: `stetho alerts` can then read the SUBACK's reason codes and say which site."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.settings import broker_from_url, broker_settings
from stetho_common.waits import within
from stetho_doctor.client import alert_subscriptions, connect

ACL = """\
user doctor.bob
topic read stetho/v1/oakhill/alerts
user agent.oakhill
topic write stetho/v1/oakhill/alerts
user agent.riverside
topic write stetho/v1/riverside/alerts
"""


@pytest.mark.broker
def test_mosquitto_grants_a_subscription_its_acl_denies_and_drops_the_messages(
    tmp_path: Path,
) -> None:
    (tmp_path / "acl").write_text(ACL)
    broker = LocalBroker(tmp_path / "mosquitto", extra_config=f"acl_file {tmp_path / 'acl'}")
    broker.start()

    def publish(site: str) -> None:
        args = ["mosquitto_pub", "-p", str(broker.port), "-u", f"agent.{site}", "-q", "1",
                "-t", f"stetho/v1/{site}/alerts", "-m", site]  # fmt: skip
        subprocess.run(args, check=True, timeout=10)

    async def main() -> tuple[str, list[str]]:
        doctor = broker_from_url(broker.url, username="doctor.bob")
        subscriptions = (*alert_subscriptions("riverside", False),
                         *alert_subscriptions("oakhill", False))  # fmt: skip
        connection = await connect(broker_settings(doctor, None, subscriptions=subscriptions))
        try:
            for site in ("riverside", "oakhill"):
                await asyncio.to_thread(publish, site)
            got = []
            while (message := await within(1.0, connection.messages.get())) is not None:
                got.append(message.payload.decode())
            return connection.refused_subscriptions, got
        finally:
            await connection.disconnect()

    try:
        refused, got = asyncio.run(main())
    finally:
        broker.kill()
    assert refused == ""  # riverside's alerts were granted, not refused (SUBACK reason 0)
    assert got == ["oakhill"]  # ... and riverside's alert was dropped without a word
