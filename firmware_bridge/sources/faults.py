"""Link faults the simulated stethoscope can inject, as a validated value object."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LinkFaults"]


@dataclass(frozen=True)
class LinkFaults:
    """What goes wrong on the simulated radio link.

    Attributes
    ----------
    loss_percent : float
        Share of audio notifications dropped, 0-100.
    disconnect_after_s : float or None
        Drop the connection after this many seconds of streaming (stream time), once per
        connection; the device stays connectable so the source reconnects.
    reorder_percent : float
        Share of notifications delivered one place late (swapped with the next one), 0-100.
    """

    loss_percent: float = 0.0
    disconnect_after_s: float | None = None
    reorder_percent: float = 0.0

    def __post_init__(self) -> None:
        for name in ("loss_percent", "reorder_percent"):
            value = getattr(self, name)
            if not 0.0 <= value <= 100.0:
                raise ValueError(f"{name} must be within 0-100, got {value}")
        if self.disconnect_after_s is not None and self.disconnect_after_s <= 0:
            raise ValueError("disconnect_after_s must be positive")
