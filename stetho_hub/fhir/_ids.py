"""Deterministic identities: the same exam always yields the same identifiers and fullUrls.

That is what makes a resend harmless: every entry is a conditional create (or update) on an
identifier derived from the recording or exam UUID, so the server finds what it already has.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID, uuid5

from stetho_hub.fhir.codes import URI_SYSTEM


def is_identifier_system(value: str) -> bool:
    """An absolute URI, as FHIR's Identifier.system must be (`{site}` may stand in it)."""
    return value.startswith(("https://", "http://", "urn:")) and " " not in value


# Fixed namespace for UUIDv5 identities that have no UUID of their own (devices, patients).
NAMESPACE = UUID("5d0f3a52-0c1e-4a8e-9a55-6f1f7f3c2b10")


@dataclasses.dataclass(frozen=True)
class Identity:
    """A resource's business identifier and the fullUrl it has inside the Bundle."""

    resource_type: str
    system: str
    value: str
    full_url: str

    def identifier(self) -> dict[str, str]:
        return {"system": self.system, "value": self.value}

    def reference(self) -> dict[str, Any]:
        return {"reference": self.full_url, "type": self.resource_type}

    def search(self) -> str:
        """The search that finds this resource again: `identifier=system|value`."""
        return f"identifier={self.system}|{self.value}"


def uuid_identity(resource_type: str, uuid: UUID) -> Identity:
    urn = f"urn:uuid:{uuid}"
    return Identity(resource_type, URI_SYSTEM, urn, urn)


def media(recording_id: UUID) -> Identity:
    """A recording's Media: its own entry and the report's link to it name the same resource."""
    return uuid_identity("Media", recording_id)


def derived(resource_type: str, parent: UUID, role: str) -> Identity:
    """An identity for the `role` resource of a recording or exam (e.g. its heart rate)."""
    return uuid_identity(resource_type, uuid5(parent, role))


def named(resource_type: str, name: str) -> Identity:
    """An identity for something known by name only (a stethoscope, a software version)."""
    return uuid_identity(resource_type, uuid5(NAMESPACE, f"{resource_type}/{name}"))


def patient(system: str, resident: str) -> Identity:
    """The resident, by the care home's identifier system and the opaque reference."""
    full_url = f"urn:uuid:{uuid5(NAMESPACE, f'Patient/{system}|{resident}')}"
    return Identity("Patient", system, resident, full_url)
