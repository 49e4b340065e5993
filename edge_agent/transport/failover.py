"""Which broker to try next when `broker.hosts` lists several (issue 18): a pure rotation.

The agent stays on a host while it works. After `switch_after` failures in a row there (failed
connects or links that died young) it moves to the next host in the list, wrapping around; while
on any host but the first it goes back to the first every `failback_s` (the publisher ends the
link cleanly and starts over at the top of the list), so a care home returns to its home broker
once that broker is back. Tested without sockets; the publisher is the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.config import parse_endpoint

__all__ = ["Endpoint", "HostRotation", "parse_endpoint"]

Endpoint = tuple[str, int]
SWITCH_AFTER = 3


@dataclass
class HostRotation:
    endpoints: tuple[Endpoint, ...]
    switch_after: int = SWITCH_AFTER
    index: int = 0
    failures: int = 0

    def __post_init__(self) -> None:
        if not self.endpoints:
            raise ValueError("at least one broker endpoint")

    @property
    def current(self) -> Endpoint:
        return self.endpoints[self.index]

    @property
    def on_primary(self) -> bool:
        return self.index == 0

    def failed(self) -> bool:
        """Count a failure here; True when it moved to the next host."""
        self.failures += 1
        if self.failures < self.switch_after or len(self.endpoints) == 1:
            return False
        self.index = (self.index + 1) % len(self.endpoints)
        self.failures = 0
        return True

    def held(self) -> None:
        self.failures = 0

    def back_to_primary(self) -> None:
        self.index = 0
        self.failures = 0
