"""Turn TLS failures into sentences a care-home operator can act on.

OpenSSL reports "certificate verify failed: unable to get local issuer certificate"; the
operator needs "the broker's certificate is not signed by the CA in /etc/stetho-edge/ca.crt".
We classify on the structured fields Python's ssl module exposes (``verify_code``, the
X509_V_ERR_* number from x509_vfy.h, and ``reason``, OpenSSL's error mnemonic), never on
message text.

With TLS 1.3 a client finishes its handshake before the broker checks the client's
certificate, so a broker that rejects us shows up as an alert or a closed connection on
the first read after connecting, not as a failed connect.
"""

from __future__ import annotations

import enum
import os
import ssl
from dataclasses import dataclass

from stetho_common.tls_files import CONFIG_NAMES, OPTION_NAMES

__all__ = [
    "COMMAND_OPTIONS",
    "CONFIG_KEYS",
    "TlsFiles",
    "TlsProblem",
    "TlsWords",
    "classify_tls_error",
    "describe_tls_error",
    "describe_tls_problem",
]

StrPath = str | os.PathLike[str]


class TlsProblem(enum.Enum):
    """What went wrong, grouped by what the operator must fix."""

    BROKER_CERT_UNTRUSTED = "broker certificate not signed by our CA"
    BROKER_CERT_EXPIRED = "broker certificate expired"
    BROKER_CERT_NOT_YET_VALID = "broker certificate not yet valid (clock?)"
    BROKER_NAME_MISMATCH = "broker certificate issued for another name"
    BROKER_CERT_REJECTED = "broker certificate rejected for another reason"
    CLIENT_CERT_REQUIRED = "broker requires a client certificate"
    HANDSHAKE_REFUSED = "broker refused the TLS handshake"
    CLIENT_CERT_UNTRUSTED = "broker does not trust our certificate"
    CLIENT_CERT_EXPIRED = "broker says our certificate expired"
    CLIENT_CERT_REVOKED = "broker says our certificate is revoked"
    CLOSED_DURING_HANDSHAKE = "broker closed the connection during TLS set-up"
    NOT_TLS = "the port does not speak TLS"
    PROTOCOL_VERSION = "no TLS version in common"
    KEY_MISMATCH = "private key does not match certificate"
    BAD_FILE = "a certificate or key file is unreadable"
    OTHER = "other TLS error"

    @property
    def may_clear_by_itself(self) -> bool:
        """True when retrying later can succeed without the operator doing anything.

        A Pi that boots before NTP has set its clock sees a "not yet valid" certificate
        until the time is synchronised; a connection closed mid-handshake can be a network
        drop or a broker restart. Everything else needs a person to change a file, so a
        caller should retry those two at its slowest pace and report the rest at once.
        """
        return self in {TlsProblem.BROKER_CERT_NOT_YET_VALID, TlsProblem.CLOSED_DURING_HANDSHAKE}


# X509_V_ERR_* codes (OpenSSL include/openssl/x509_vfy.h).
_UNTRUSTED_CODES = frozenset({2, 7, 18, 19, 20, 21, 24})
_EXPIRED, _NOT_YET_VALID, _REVOKED = 10, 9, 23
_HOSTNAME_MISMATCH, _IP_MISMATCH = 62, 64

# OpenSSL reason mnemonics for alerts the broker sends us, and for local set-up errors.
_REASONS: dict[str, TlsProblem] = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": TlsProblem.CLIENT_CERT_REQUIRED,
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": TlsProblem.CLIENT_CERT_REQUIRED,
    "SSLV3_ALERT_HANDSHAKE_FAILURE": TlsProblem.HANDSHAKE_REFUSED,
    "TLSV1_ALERT_UNKNOWN_CA": TlsProblem.CLIENT_CERT_UNTRUSTED,
    "SSLV3_ALERT_BAD_CERTIFICATE": TlsProblem.CLIENT_CERT_UNTRUSTED,
    "TLSV1_ALERT_DECRYPT_ERROR": TlsProblem.CLIENT_CERT_UNTRUSTED,
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": TlsProblem.CLIENT_CERT_EXPIRED,
    "SSLV3_ALERT_CERTIFICATE_REVOKED": TlsProblem.CLIENT_CERT_REVOKED,
    "WRONG_VERSION_NUMBER": TlsProblem.NOT_TLS,
    "PACKET_LENGTH_TOO_LONG": TlsProblem.NOT_TLS,
    "RECORD_LAYER_FAILURE": TlsProblem.NOT_TLS,
    "UNSUPPORTED_PROTOCOL": TlsProblem.PROTOCOL_VERSION,
    "TLSV1_ALERT_PROTOCOL_VERSION": TlsProblem.PROTOCOL_VERSION,
    "KEY_VALUES_MISMATCH": TlsProblem.KEY_MISMATCH,
    "NO_CERTIFICATE_OR_CRL_FOUND": TlsProblem.BAD_FILE,
    "PEM_LIB": TlsProblem.BAD_FILE,
    "NO_START_LINE": TlsProblem.BAD_FILE,
    "CA_MD_TOO_WEAK": TlsProblem.BAD_FILE,
    "EE_KEY_TOO_SMALL": TlsProblem.BAD_FILE,
}

# load_cert_chain on a file that is not PEM raises "[SSL] PEM lib" with no reason
# mnemonic, only the packed code ERR_R_PEM_LIB (9 in OpenSSL 1.1, 0x80009 in 3.x).
_PEM_LIB_ERRNOS = frozenset({9, 0x80009})


_TABLE = "broker."  # the agent's config file keeps its broker's settings in [broker]


@dataclass(frozen=True)
class TlsWords:
    """How a message names the TLS settings to fix: the agent's config keys by default, or the
    options of a command (a doctor who typed --ca-file has no broker.ca_file to point). The
    files' names are stetho_common.tls_files's, which the config and options checks use."""

    ca: str = _TABLE + CONFIG_NAMES.ca
    cert: str = _TABLE + CONFIG_NAMES.cert
    key: str = _TABLE + CONFIG_NAMES.key
    host: str = _TABLE + "host"
    who: str = "this agent"


CONFIG_KEYS = TlsWords()
COMMAND_OPTIONS = TlsWords(OPTION_NAMES.ca, OPTION_NAMES.cert, OPTION_NAMES.key,
                           "the host in --broker", "this command")  # fmt: skip


@dataclass(frozen=True)
class TlsFiles:
    """Where the agent's TLS material lives, to name the right file in a message."""

    ca_file: StrPath | None = None
    cert_file: StrPath | None = None
    key_file: StrPath | None = None
    words: TlsWords = CONFIG_KEYS


# One sentence per problem: what is wrong, then what to check. Fields: {ca} {cert} {key}
# {where} {detail}, and the TlsWords: {ca_key} {cert_key} {key_key} {host_key} {who}.
_MESSAGES: dict[TlsProblem, str] = {
    TlsProblem.BROKER_CERT_UNTRUSTED: (
        "the broker's certificate is not signed by {ca}; get the hospital's CA certificate "
        "and point {ca_key} at it"
    ),
    TlsProblem.BROKER_CERT_EXPIRED: (
        "the broker's certificate has expired (or this device's clock is wrong); the "
        "hospital must renew the certificate of {where}"
    ),
    TlsProblem.BROKER_CERT_NOT_YET_VALID: (
        "the broker's certificate is not valid yet: this device's clock is probably wrong "
        "(a Raspberry Pi has no battery clock; check `timedatectl` and NTP)"
    ),
    TlsProblem.BROKER_NAME_MISMATCH: (
        "the broker's certificate is not issued for {where}; set {host_key} to the name "
        "the certificate carries, or ask the hospital for a certificate with this name"
    ),
    TlsProblem.BROKER_CERT_REJECTED: "the broker's certificate was rejected: {detail}",
    TlsProblem.CLIENT_CERT_REQUIRED: (
        "the broker requires a client certificate: set {cert_key} and {key_key}"
    ),
    TlsProblem.HANDSHAKE_REFUSED: (
        "{where} refused the TLS handshake: most often {who} sent no client "
        "certificate (set {cert_key} and {key_key}) or {cert} is not signed "
        "by the broker's CA"
    ),
    TlsProblem.CLIENT_CERT_UNTRUSTED: (
        "the broker does not accept {cert}: it is not signed by a CA the broker trusts"
    ),
    TlsProblem.CLIENT_CERT_EXPIRED: "the broker says {cert} has expired; request a new one",
    TlsProblem.CLIENT_CERT_REVOKED: "the broker says {cert} is revoked; request a new one",
    TlsProblem.CLOSED_DURING_HANDSHAKE: (
        "{where} closed the connection during TLS set-up: it rejected {cert} (not signed "
        "by the broker's CA, revoked, or not sent), or this port is not its TLS listener "
        "(TLS is usually 8883, plain MQTT 1883); the broker's log says which"
    ),
    TlsProblem.NOT_TLS: (
        "{where} does not speak TLS on this port: use its TLS port (usually 8883), not "
        "plain MQTT (1883)"
    ),
    TlsProblem.PROTOCOL_VERSION: (
        "{who} and {where} have no TLS version in common (stetho-edge needs TLS 1.2+)"
    ),
    TlsProblem.KEY_MISMATCH: "the key in {key} does not belong to {the_cert}",
    TlsProblem.BAD_FILE: (
        "a TLS file cannot be used ({detail}); check that {ca_key}{ca_given}, "
        "{cert_key} and {key_key} are readable PEM files"
    ),
    TlsProblem.OTHER: "TLS error with {where}: {detail}",
}


def classify_tls_error(exc: BaseException) -> TlsProblem | None:
    """Return what kind of TLS problem ``exc`` is, or None if it is not one.

    Connection resets and EOFs count as CLOSED_DURING_HANDSHAKE: call this only for
    errors raised while connecting or before the broker's CONNACK.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _classify_verification(exc.verify_code)
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return TlsProblem.CLOSED_DURING_HANDSHAKE
    if isinstance(exc, ssl.SSLError):
        # typeshed says str, but OpenSSL errors without a mnemonic leave it None.
        reason: str | None = getattr(exc, "reason", None)
        if reason is None:
            return TlsProblem.BAD_FILE if exc.errno in _PEM_LIB_ERRNOS else TlsProblem.OTHER
        return _REASONS.get(reason, TlsProblem.OTHER)
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return TlsProblem.CLOSED_DURING_HANDSHAKE
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return TlsProblem.BAD_FILE
    return None


def _classify_verification(code: int) -> TlsProblem:
    if code in _UNTRUSTED_CODES:
        return TlsProblem.BROKER_CERT_UNTRUSTED
    by_code = {
        _EXPIRED: TlsProblem.BROKER_CERT_EXPIRED,
        _NOT_YET_VALID: TlsProblem.BROKER_CERT_NOT_YET_VALID,
        _HOSTNAME_MISMATCH: TlsProblem.BROKER_NAME_MISMATCH,
        _IP_MISMATCH: TlsProblem.BROKER_NAME_MISMATCH,
    }
    return by_code.get(code, TlsProblem.BROKER_CERT_REJECTED)


def describe_tls_error(
    exc: BaseException,
    files: TlsFiles | None = None,
    host: str | None = None,
) -> str:
    """Explain a TLS failure in one sentence that says what to check.

    Parameters
    ----------
    exc:
        The exception raised while connecting (by ``ssl``, a socket, or paho's
        ``connect``/``tls_set``).
    files:
        The configured CA, certificate and key paths, named in the message when known.
    host:
        The broker host name the agent connects to.

    Returns
    -------
    str
        For example ``"the broker's certificate is not signed by the CA in
        /etc/stetho-edge/ca.crt; ..."``. Errors that are not TLS problems get
        ``"connection failed: <exception>"``.
    """
    problem = classify_tls_error(exc)
    if problem is None:
        return f"connection failed: {type(exc).__name__}: {exc}"
    return describe_tls_problem(problem, files, host, _detail(exc))


def describe_tls_problem(
    problem: TlsProblem, files: TlsFiles | None = None, host: str | None = None, detail: str = ""
) -> str:
    """The sentence of `describe_tls_error` for a problem known without an exception: a TLS 1.3
    broker refusing our certificate only closes the link, and paho keeps the alert to itself."""
    f = files or TlsFiles()
    w = f.words
    return _MESSAGES[problem].format(
        ca=f"the CA in {f.ca_file}" if f.ca_file else f"the CA {w.who} trusts ({w.ca})",
        cert=f.cert_file or f"{w.who}'s certificate ({w.cert})",
        # A path is "the certificate <path>"; without one, "<who>'s certificate" says it already.
        the_cert=f"the certificate {f.cert_file}"
        if f.cert_file
        else f"{w.who}'s certificate ({w.cert})",
        ca_given=f" (the CA in {f.ca_file})" if f.ca_file else "",
        key=f.key_file or w.key,
        where=host or "the broker",
        detail=detail or problem.value,
        ca_key=w.ca,
        cert_key=w.cert,
        key_key=w.key,
        host_key=w.host,
        who=w.who,
    )


def _detail(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc) or type(exc).__name__
