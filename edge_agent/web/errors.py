"""Errors of the page, typed by what the handler does next."""

from __future__ import annotations

from typing import ClassVar

from edge_agent.errors import AgentError
from stetho_common import Response


class WebError(AgentError):
    """Root of the page's errors: the request is refused and the page says why (`words`, as
    the exam errors', name the sentence in the nurse's language)."""

    response: ClassVar[Response] = Response.DROP

    def __init__(self, message: str, words: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.words = words
        self.values = values


class SignInError(WebError):
    """Wrong staff id or secret: show the sign-in again, saying nothing about which was wrong."""


class ThrottledError(SignInError):
    """Too many failed sign-ins: refuse for `retry_after_s` seconds."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"too many attempts: try again in {retry_after_s:.0f} s")


class FormError(WebError):
    """A field or query value the page's own forms and scripts never send (a hand-made
    request): refused with a sentence, never a server error."""


class AccountError(WebError):
    """A staff account cannot be created as asked (bad id, weak secret)."""


class PairingError(WebError):
    """Scanning or pairing failed (radio off, stethoscope not found or refusing): the page
    says why and the nurse tries again."""
