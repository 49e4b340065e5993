"""Text that came from the file system, made fit for UTF-8 (a font, a Vorbis comment, JSON)."""

from __future__ import annotations

__all__ = ["without_surrogates"]


def without_surrogates(text: str) -> str:
    """`text` with each byte that was not UTF-8 shown as U+FFFD.

    A file name that is not UTF-8 (Latin-1 off a USB stick) reaches Python with surrogates
    (PEP 383, `surrogateescape`), which a font cannot draw and a Vorbis comment (UTF-8 only)
    cannot hold.
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
