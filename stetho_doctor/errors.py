"""The doctor's tools' own error, apart from their MQTT client (`client`): a command refusing an
argument says so without loading the broker's client."""

from __future__ import annotations

from edge_agent.errors import AgentError

__all__ = ["DoctorToolError"]


class DoctorToolError(AgentError):
    """A doctor tool cannot do what was asked (bad URL, broker refused, nothing received)."""
