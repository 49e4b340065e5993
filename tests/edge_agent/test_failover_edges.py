"""Broker failover order at its edges: when a host is left, where the rotation goes next."""

import pytest

from edge_agent.transport.failover import SWITCH_AFTER, HostRotation

A, B, C = ("a", 1), ("b", 2), ("c", 3)


def test_no_broker_at_all_is_refused() -> None:
    with pytest.raises(ValueError) as refused:
        HostRotation(())
    assert str(refused.value) == "at least one broker endpoint"


def test_a_new_rotation_starts_on_the_first_host_with_no_failures() -> None:
    hosts = HostRotation((A, B))
    assert (hosts.current, hosts.on_primary, hosts.failures) == (A, True, 0)
    assert hosts.switch_after == SWITCH_AFTER == 3


def test_the_third_failure_in_a_row_moves_on_and_starts_counting_again() -> None:
    hosts = HostRotation((A, B, C))
    assert [hosts.failed() for _ in range(2)] == [False, False]
    assert (hosts.current, hosts.failures) == (A, 2)
    assert hosts.failed() is True
    assert (hosts.current, hosts.failures, hosts.on_primary) == (B, 0, False)


def test_three_hosts_are_tried_in_order_and_wrap_to_the_first() -> None:
    hosts = HostRotation((A, B, C), switch_after=1)
    seen = []
    for _ in range(4):
        assert hosts.failed() is True
        seen.append(hosts.current)
    assert seen == [B, C, A, B]


def test_a_link_that_held_clears_the_count() -> None:
    hosts = HostRotation((A, B))
    hosts.failed()
    hosts.failed()
    hosts.held()
    assert hosts.failures == 0
    assert [hosts.failed() for _ in range(3)] == [False, False, True]
    assert hosts.current == B


def test_a_single_host_is_never_left_however_often_it_fails() -> None:
    hosts = HostRotation((A,), switch_after=1)
    assert [hosts.failed() for _ in range(5)] == [False] * 5
    assert (hosts.current, hosts.failures) == (A, 5)


def test_back_to_primary_returns_to_the_first_host_with_a_clean_count() -> None:
    hosts = HostRotation((A, B, C), switch_after=1)
    hosts.failed()
    hosts.failed()
    assert hosts.current == C
    hosts.switch_after = 3
    hosts.failed()
    hosts.back_to_primary()
    assert (hosts.current, hosts.on_primary, hosts.failures) == (A, True, 0)
