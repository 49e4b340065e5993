"""The one rule for a set of TLS files: they need TLS, and a client certificate needs its key.

The agent's config file and the doctor's options state it in their own words (``tls = true``
and ``ca_file``; an mqtts:// URL and ``--ca-file``): the caller hands its names in.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONFIG_NAMES", "OPTION_NAMES", "TlsFileNames", "tls_files_problem"]


@dataclass(frozen=True)
class TlsFileNames:
    """How a caller names TLS itself and its three files."""

    tls: str
    ca: str
    cert: str
    key: str


CONFIG_NAMES = TlsFileNames("tls = true", "ca_file", "cert_file", "key_file")
OPTION_NAMES = TlsFileNames("an mqtts:// URL", "--ca-file", "--cert-file", "--key-file")


def tls_files_problem(
    names: TlsFileNames, *, tls: bool, ca_file: object, cert_file: object, key_file: object
) -> str | None:
    """What is wrong with these TLS files as a set, said after "expected"; None if nothing.

    A file left out is None. The sentence reads "tls = true with ca_file (...)" or
    "cert_file and key_file together (...)" in the caller's names.
    """
    named = ((names.ca, ca_file), (names.cert, cert_file), (names.key, key_file))
    given = [name for name, value in named if value is not None]
    if given and not tls:  # a CA set and TLS forgotten: everything would go in clear
        return (
            f"{names.tls} with {', '.join(given)} (without it they are unused and the link to "
            "the broker is not encrypted)"
        )
    if (cert_file is None) != (key_file is None):  # paho would fail at connect: "PEM lib"
        return f"{names.cert} and {names.key} together (a client certificate needs its key)"
    return None
