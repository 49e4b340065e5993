"""FHIR export errors, grouped by what the caller does next.

- `InvalidInputError`: drop the input (a saved file that is not a recording, an exam that
  cannot be mapped); the caller counts and logs it.
- `BundleInvalidError`: a resource we built failed validation: a bug on our side; stop and
  report, never send it.
- `SendRetryError`: the FHIR server is unreachable, overloaded or refused us for a reason
  that may pass (TLS, auth, 5xx, 429): keep the Bundle queued and retry with backoff.
- `SendRejectedError`: the server refused the Bundle itself (4xx): retrying the same bytes
  will not help; keep it visible as failing until someone acts.
- `FhirConfigError`: settings that can never work (plain HTTP, a missing certificate); stop.
"""

from __future__ import annotations


class FhirError(Exception):
    """Root of every error this package raises."""


class InvalidInputError(FhirError):
    """The input cannot become a Bundle; the caller drops it."""


class BundleInvalidError(FhirError):
    """A resource we built does not validate against the R4B models (our bug)."""


class FhirConfigError(FhirError):
    """The FHIR export settings cannot work as given."""


class SendRetryError(FhirError):
    """Sending failed for a reason that may pass; retry later."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SendRejectedError(FhirError):
    """The server refused this Bundle; the same bytes will be refused again."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def hub_extra_missing(exc: ModuleNotFoundError) -> ModuleNotFoundError:
    """The error for a module of the `hub` extra that is not installed (as on a Pi): it says
    how to get it. Raised where the Bundle builder or the sender loads, so that a hub that
    does not export to FHIR never needs the extra's FHIR half."""
    return ModuleNotFoundError(
        f"stetho_hub.fhir needs the 'hub' extra ({exc.name} is missing): "
        "pip install 'stetho-edge[hub]'",
        name=exc.name,
    )
