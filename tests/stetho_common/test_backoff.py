"""The one reconnect policy, for every link: tested without sleeping."""

import random

import pytest

from edge_agent.errors import ConfigError, ConnectError, PublishError
from firmware_bridge.errors import (
    AdapterUnavailableError,
    BluetoothPermissionError,
    ConfigurationError,
    DeviceNotFoundError,
    LinkLostError,
    MalformedFrameError,
    PairingRejectedError,
)
from stetho_common import MAX_DELAY_S, Response, next_delay, persistent_delay, response_to


def test_delay_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt in range(40):
        delay = next_delay(attempt, LinkLostError("x"), rng=rng)
        assert delay is not None
        ceiling = min(MAX_DELAY_S, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_base_and_cap_set_the_range() -> None:
    rng = random.Random(2)
    delays = [next_delay(a, LinkLostError("x"), base_s=0.5, cap_s=10.0, rng=rng) for a in range(8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert delay is not None
        assert ceiling / 2 <= delay <= ceiling


def test_refusals_that_repeat_wait_exactly_the_cap() -> None:
    refused = ConnectError.of("not authorised", retryable=False)
    assert next_delay(0, refused) == MAX_DELAY_S
    assert next_delay(0, refused, cap_s=7.0) == 7.0
    assert ConnectError("timed out").response is Response.RETRY


@pytest.mark.parametrize(
    "error",
    [
        ConfigurationError("bad"),
        AdapterUnavailableError("no-adapter", "none"),
        BluetoothPermissionError("policy"),
        PairingRejectedError("no"),
        ConfigError("agent.toml", ["site: missing"]),
    ],
)
def test_a_wrong_set_up_gives_up_at_once(error: Exception) -> None:
    assert next_delay(0, error) is None


@pytest.mark.parametrize(
    ("error", "response"),
    [
        (DeviceNotFoundError("gone"), Response.RETRY),
        (LinkLostError("x"), Response.RETRY),
        (PublishError("lost"), Response.RETRY),
        (MalformedFrameError("short"), Response.DROP),
        (OSError("foreign"), Response.RETRY),
    ],
)
def test_every_error_says_what_the_caller_does_next(error: Exception, response: Response) -> None:
    assert response_to(error) is response


def test_negative_attempt_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="attempt"):
        next_delay(-1, LinkLostError("x"))


def test_a_loop_that_never_gives_up_waits_the_longest_on_a_fatal_error() -> None:
    assert persistent_delay(0, ConfigError("x.toml", ["bad"])) == MAX_DELAY_S
    assert persistent_delay(0, ConfigError("x.toml", ["bad"]), cap_s=5.0) == 5.0
    same = persistent_delay(3, ConnectError("down"), rng=random.Random(7))
    assert same == next_delay(3, ConnectError("down"), rng=random.Random(7))
