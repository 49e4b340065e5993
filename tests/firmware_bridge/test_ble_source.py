"""BleSource through the real BleakClient/BleakScanner with the simulator backend."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from firmware_bridge.errors import (
    ConfigurationError,
    DeviceNotFoundError,
    LinkLostError,
)
from firmware_bridge.sources import (
    AudioBlock,
    BleSource,
    EventKind,
    LinkFaults,
    PeripheralConfig,
    SimulatedAir,
    SimulatedStethoscope,
    parse_sim_device,
    simulated_backends,
)


def make_source(
    peripheral: SimulatedStethoscope, *, air: SimulatedAir | None = None, **kwargs: object
) -> BleSource:
    client, scanner = simulated_backends(air or SimulatedAir(peripheral))
    options: dict[str, object] = {"backoff_base_s": 0.01, "stall_timeout_s": 2.0}
    options.update(kwargs)
    return BleSource(
        peripheral.config.address,
        client_backend=client,
        scanner_backend=scanner,
        **options,  # type: ignore[arg-type]
    )


async def collect(source: BleSource, seconds: float) -> list[AudioBlock]:
    blocks: list[AudioBlock] = []
    async with source:
        async for block in source:
            blocks.append(block)
            if block.end_sample >= seconds * block.sample_rate_hz:
                break
    return blocks


def test_stream_matches_the_synthesiser_sample_for_sample() -> None:
    from stetho_sim.synth import StethoscopeSynth

    peripheral = SimulatedStethoscope("murmur", seed=4, speed=100.0)
    blocks = asyncio.run(collect(make_source(peripheral), 2.0))
    received = np.concatenate([b.samples for b in blocks])
    expected = StethoscopeSynth("murmur", 4000, seed=4).read(received.size)
    # PCM16 quantisation only: within one LSB of 16 bits.
    assert np.max(np.abs(received - expected)) <= 1.0 / 32767 + 1e-6


def test_disconnect_reconnects_and_marks_the_outage_as_a_gap() -> None:
    peripheral = SimulatedStethoscope(
        "normal", seed=1, speed=50.0, faults=LinkFaults(disconnect_after_s=1.0)
    )
    source = make_source(peripheral)
    blocks = asyncio.run(collect(source, 4.0))
    gaps = [g for b in blocks for g in b.gaps]
    assert peripheral.connections >= 2 and source.reconnects >= 1
    assert gaps, "the outage must be marked"
    assert blocks[-1].end_sample == sum(b.samples.size for b in blocks)  # timing kept
    kinds = []
    while not source.events.empty():
        kinds.append(source.events.get_nowait().kind)
    assert EventKind.LINK_LOST in kinds and EventKind.LINK_RESTORED in kinds


def test_le_connection_abort_is_retried_with_backoff() -> None:
    peripheral = SimulatedStethoscope("normal", speed=100.0)
    air = SimulatedAir(peripheral, connect_failures=2)
    blocks = asyncio.run(collect(make_source(peripheral, air=air), 0.5))
    assert blocks and air.connect_failures == 0


def test_giving_up_after_max_attempts_raises_link_lost() -> None:
    peripheral = SimulatedStethoscope("normal", speed=100.0)
    air = SimulatedAir(peripheral, connect_failures=5)
    with pytest.raises(LinkLostError, match="le-connection-abort-by-local"):
        asyncio.run(collect(make_source(peripheral, air=air, max_attempts=2), 0.5))


def test_absent_device_is_not_found() -> None:
    absent = SimulatedStethoscope("normal", config=PeripheralConfig(address="5E:7A:00:00:00:99"))
    other = SimulatedStethoscope("normal")
    source = make_source(absent, air=SimulatedAir(other), scan_timeout_s=0.2, max_attempts=1)
    with pytest.raises(DeviceNotFoundError):
        asyncio.run(collect(source, 0.5))


def test_loss_and_reordering_keep_timing_and_report_gaps() -> None:
    faults = LinkFaults(loss_percent=5.0, reorder_percent=5.0)
    peripheral = SimulatedStethoscope("normal", seed=2, speed=100.0, faults=faults)
    source = make_source(peripheral)
    blocks = asyncio.run(collect(source, 10.0))
    gaps = [g for b in blocks for g in b.gaps]
    assert gaps
    assert blocks[-1].end_sample == sum(b.samples.size for b in blocks)
    assert source.reassembler.stats.reordered > 0
    assert source.reassembler.stats.lost_samples == sum(g.length for g in gaps)


def test_button_presses_and_battery_become_events() -> None:
    config = PeripheralConfig(button_presses_s=(0.5, 1.0))
    peripheral = SimulatedStethoscope("normal", speed=50.0, config=config)
    source = make_source(peripheral)
    asyncio.run(collect(source, 2.0))
    events = []
    while not source.events.empty():
        events.append(source.events.get_nowait())
    assert sum(e.kind is EventKind.BUTTON_PRESSED for e in events) == 2
    assert any(e.kind is EventKind.BATTERY and e.value == 87 for e in events)
    assert source.battery_percent == 87


def test_garbage_notifications_are_counted_not_raised() -> None:
    peripheral = SimulatedStethoscope("normal", speed=50.0)
    source = make_source(peripheral)

    async def run() -> list[AudioBlock]:
        blocks: list[AudioBlock] = []
        async with source:
            notify = source._enqueuer("audio")
            for junk in (b"", b"\x01", b"\x02" * 40, bytes(600)):
                notify(None, bytearray(junk))
            async for block in source:
                blocks.append(block)
                if len(blocks) > 3:
                    break
        return blocks

    assert asyncio.run(run())
    assert source.link_stats()["malformed"] == 4


def test_sim_device_specs() -> None:
    assert parse_sim_device("sim:murmur") == ("murmur", None)
    scenario, faults = parse_sim_device("sim:lossy")
    assert scenario == "normal" and faults is not None and faults.loss_percent == 5.0
    assert parse_sim_device("sim:wheeze+flaky")[0] == "wheeze"
    with pytest.raises(ConfigurationError):
        parse_sim_device("sim:nope")


def test_clipping_and_contact_changes_become_events() -> None:
    def kinds(scenario: str, seconds: float) -> list[tuple[EventKind, object]]:
        source = make_source(SimulatedStethoscope(scenario, speed=100.0))
        asyncio.run(collect(source, seconds))
        found = []
        while not source.events.empty():
            event = source.events.get_nowait()
            found.append((event.kind, event.value))
        return found

    assert (EventKind.CLIPPING, True) in kinds("clipping", 2.0)
    contact = [v for k, v in kinds("poor-contact", 12.0) if k is EventKind.CONTACT_CHANGED]
    assert False in contact and True in contact


def test_source_sets_the_sample_rate_before_starting() -> None:
    peripheral = SimulatedStethoscope("normal", speed=100.0, sample_rate_hz=4000)
    source = make_source(peripheral, sample_rate_hz=8000)
    blocks = asyncio.run(collect(source, 1.0))
    assert peripheral.sample_rate_hz == 8000
    assert {b.sample_rate_hz for b in blocks} == {8000}
    stats = source.link_stats()
    assert stats["frames"] > 0 and stats["wrong_rate"] == 0 and stats["malformed"] == 0


def test_a_failed_setup_releases_the_connection_before_retrying() -> None:
    peripheral = SimulatedStethoscope("normal", speed=100.0)
    original = peripheral.write
    rejected = []

    def reject_first_start(uuid: str, data: bytes) -> None:
        if data[:1] == b"\x01" and not rejected:
            rejected.append(data)
            peripheral._notify(uuid, bytes([0x80, 0x01, 0x04]))  # OPERATION_FAILED
            return
        original(uuid, data)

    peripheral.write = reject_first_start  # type: ignore[method-assign]
    blocks = asyncio.run(collect(make_source(peripheral), 0.5))
    assert blocks and rejected and peripheral.connections == 2
