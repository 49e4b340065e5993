"""Every TLS problem's sentence word for word, for the agent's config keys and for a doctor's
command options, and each structured field that picks the problem. No broker here:
tests/deploy/test_tls_errors.py has the real failures."""

from __future__ import annotations

import ssl

import pytest

from edge_agent.transport.tls_errors import (
    COMMAND_OPTIONS,
    CONFIG_KEYS,
    TlsFiles,
    TlsProblem,
    TlsWords,
    classify_tls_error,
    describe_tls_error,
    describe_tls_problem,
)
from stetho_common.tls_files import CONFIG_NAMES, OPTION_NAMES

FILES = TlsFiles(
    "/etc/stetho-edge/ca.crt", "/etc/stetho-edge/agent.crt", "/etc/stetho-edge/agent.key"
)

# (problem, with the agent's files, host and a detail "why"; for a command given no files)
SENTENCES = [
    (
        TlsProblem.BROKER_CERT_UNTRUSTED,
        (
            "the broker's certificate is not signed by the CA in /etc/stetho-edge/ca.crt; get the "
            "hospital's CA certificate and point broker.ca_file at it"
        ),
        (
            "the broker's certificate is not signed by the CA this command trusts (--ca-file); get "
            "the hospital's CA certificate and point --ca-file at it"
        ),
    ),
    (
        TlsProblem.BROKER_CERT_EXPIRED,
        (
            "the broker's certificate has expired (or this device's clock is wrong); the hospital "
            "must renew the certificate of hub.example"
        ),
        (
            "the broker's certificate has expired (or this device's clock is wrong); the hospital "
            "must renew the certificate of the broker"
        ),
    ),
    (
        TlsProblem.BROKER_CERT_NOT_YET_VALID,
        (
            "the broker's certificate is not valid yet: this device's clock is probably wrong (a "
            "Raspberry Pi has no battery clock; check `timedatectl` and NTP)"
        ),
        (
            "the broker's certificate is not valid yet: this device's clock is probably wrong (a "
            "Raspberry Pi has no battery clock; check `timedatectl` and NTP)"
        ),
    ),
    (
        TlsProblem.BROKER_NAME_MISMATCH,
        (
            "the broker's certificate is not issued for hub.example; set broker.host to the name "
            "the certificate carries, or ask the hospital for a certificate with this name"
        ),
        (
            "the broker's certificate is not issued for the broker; set the host in --broker to "
            "the name the certificate carries, or ask the hospital for a certificate with this "
            "name"
        ),
    ),
    (
        TlsProblem.BROKER_CERT_REJECTED,
        "the broker's certificate was rejected: why",
        "the broker's certificate was rejected: broker certificate rejected for another reason",
    ),
    (
        TlsProblem.CLIENT_CERT_REQUIRED,
        "the broker requires a client certificate: set broker.cert_file and broker.key_file",
        "the broker requires a client certificate: set --cert-file and --key-file",
    ),
    (
        TlsProblem.HANDSHAKE_REFUSED,
        (
            "hub.example refused the TLS handshake: most often this agent sent no client "
            "certificate (set broker.cert_file and broker.key_file) or /etc/stetho-edge/agent.crt "
            "is not signed by the broker's CA"
        ),
        (
            "the broker refused the TLS handshake: most often this command sent no client "
            "certificate (set --cert-file and --key-file) or this command's certificate "
            "(--cert-file) is not signed by the broker's CA"
        ),
    ),
    (
        TlsProblem.CLIENT_CERT_UNTRUSTED,
        (
            "the broker does not accept /etc/stetho-edge/agent.crt: it is not signed by a CA the "
            "broker trusts"
        ),
        (
            "the broker does not accept this command's certificate (--cert-file): it is not signed "
            "by a CA the broker trusts"
        ),
    ),
    (
        TlsProblem.CLIENT_CERT_EXPIRED,
        "the broker says /etc/stetho-edge/agent.crt has expired; request a new one",
        ("the broker says this command's certificate (--cert-file) has expired; request a new one"),
    ),
    (
        TlsProblem.CLIENT_CERT_REVOKED,
        "the broker says /etc/stetho-edge/agent.crt is revoked; request a new one",
        ("the broker says this command's certificate (--cert-file) is revoked; request a new one"),
    ),
    (
        TlsProblem.CLOSED_DURING_HANDSHAKE,
        (
            "hub.example closed the connection during TLS set-up: it rejected "
            "/etc/stetho-edge/agent.crt (not signed by the broker's CA, revoked, or not sent), or "
            "this port is not its TLS listener (TLS is usually 8883, plain MQTT 1883); the "
            "broker's log says which"
        ),
        (
            "the broker closed the connection during TLS set-up: it rejected this command's "
            "certificate (--cert-file) (not signed by the broker's CA, revoked, or not sent), or "
            "this port is not its TLS listener (TLS is usually 8883, plain MQTT 1883); the "
            "broker's log says which"
        ),
    ),
    (
        TlsProblem.NOT_TLS,
        (
            "hub.example does not speak TLS on this port: use its TLS port (usually 8883), not "
            "plain MQTT (1883)"
        ),
        (
            "the broker does not speak TLS on this port: use its TLS port (usually 8883), not "
            "plain MQTT (1883)"
        ),
    ),
    (
        TlsProblem.PROTOCOL_VERSION,
        "this agent and hub.example have no TLS version in common (stetho-edge needs TLS 1.2+)",
        ("this command and the broker have no TLS version in common (stetho-edge needs TLS 1.2+)"),
    ),
    (
        TlsProblem.KEY_MISMATCH,
        (
            "the key in /etc/stetho-edge/agent.key does not belong to the certificate "
            "/etc/stetho-edge/agent.crt"
        ),
        ("the key in --key-file does not belong to this command's certificate (--cert-file)"),
    ),
    (
        TlsProblem.BAD_FILE,
        (
            "a TLS file cannot be used (why); check that broker.ca_file (the CA in "
            "/etc/stetho-edge/ca.crt), broker.cert_file and broker.key_file are readable PEM files"
        ),
        (
            "a TLS file cannot be used (a certificate or key file is unreadable); check that "
            "--ca-file, --cert-file and --key-file are readable PEM files"
        ),
    ),
    (
        TlsProblem.OTHER,
        "TLS error with hub.example: why",
        "TLS error with the broker: other TLS error",
    ),
]


def test_every_problem_has_its_sentence() -> None:
    assert [p for p, _, _ in SENTENCES] == list(TlsProblem)


@pytest.mark.parametrize(("problem", "agent", "command"), SENTENCES)
def test_each_sentence_names_what_to_fix(problem: TlsProblem, agent: str, command: str) -> None:
    assert describe_tls_problem(problem, FILES, "hub.example", "why") == agent
    assert describe_tls_problem(problem, TlsFiles(words=COMMAND_OPTIONS)) == command


def test_without_files_the_agents_keys_and_the_problem_itself_are_named() -> None:
    assert describe_tls_problem(TlsProblem.BAD_FILE) == (
        "a TLS file cannot be used (a certificate or key file is unreadable); check that "
        "broker.ca_file, broker.cert_file and broker.key_file are readable PEM files"
    )
    assert describe_tls_problem(TlsProblem.OTHER, None, None, "") == (
        "TLS error with the broker: other TLS error"
    )


def test_the_words_of_the_agent_and_of_a_command() -> None:
    assert (
        TlsWords(
            "broker.ca_file", "broker.cert_file", "broker.key_file", "broker.host", "this agent"
        )
        == CONFIG_KEYS
    )
    assert TlsFiles().words == CONFIG_KEYS
    assert (
        TlsWords("--ca-file", "--cert-file", "--key-file", "the host in --broker", "this command")
        == COMMAND_OPTIONS
    )


def test_the_words_name_the_files_as_the_config_and_options_checks_do() -> None:
    # One table of the TLS files' names (stetho_common.tls_files): a message about a broken
    # file and the check of the set of files must name the same key or option.
    for names, words, table in ((CONFIG_NAMES, CONFIG_KEYS, "broker."),
                                (OPTION_NAMES, COMMAND_OPTIONS, "")):  # fmt: skip
        assert (words.ca, words.cert, words.key) == tuple(
            table + name for name in (names.ca, names.cert, names.key)
        )


def _ssl_error(reason: str | None, errno: int = 1, text: str = "x") -> ssl.SSLError:
    exc = ssl.SSLError(errno, text)
    if reason is not None:
        exc.reason = reason  # as OpenSSL's errors carry it; a bare SSLError has none
    return exc


REASONS = {
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
    "SOMETHING_NEW": TlsProblem.OTHER,  # a mnemonic we do not know
    "ssl3_alert_handshake_failure": TlsProblem.OTHER,  # mnemonics are matched exactly
}


@pytest.mark.parametrize(("reason", "problem"), REASONS.items())
def test_each_openssl_reason_names_its_problem(reason: str, problem: TlsProblem) -> None:
    assert classify_tls_error(_ssl_error(reason)) is problem


@pytest.mark.parametrize(
    ("errno", "problem"),
    [(9, TlsProblem.BAD_FILE), (0x80009, TlsProblem.BAD_FILE), (1, TlsProblem.OTHER),
     (8, TlsProblem.OTHER)],
)  # fmt: skip
def test_an_error_without_a_reason_is_a_bad_file_only_for_pem_lib(
    errno: int, problem: TlsProblem
) -> None:
    assert classify_tls_error(_ssl_error(None, errno, "PEM lib")) is problem


def _verification(code: int, message: str = "") -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_code, exc.verify_message = code, message
    return exc


@pytest.mark.parametrize(
    ("codes", "problem"),
    [
        ((2, 7, 18, 19, 20, 21, 24), TlsProblem.BROKER_CERT_UNTRUSTED),
        ((10,), TlsProblem.BROKER_CERT_EXPIRED),
        ((9,), TlsProblem.BROKER_CERT_NOT_YET_VALID),
        ((62, 64), TlsProblem.BROKER_NAME_MISMATCH),
        ((0, 1, 3, 8, 11, 22, 23, 63, 65), TlsProblem.BROKER_CERT_REJECTED),
    ],
)
def test_each_verification_code_names_its_problem(
    codes: tuple[int, ...], problem: TlsProblem
) -> None:
    for code in codes:
        assert classify_tls_error(_verification(code)) is problem, code


@pytest.mark.parametrize(
    ("exc", "problem"),
    [
        (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
         TlsProblem.CLOSED_DURING_HANDSHAKE),
        (ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed"),
         TlsProblem.CLOSED_DURING_HANDSHAKE),
        (ConnectionResetError(104, "Connection reset by peer"), TlsProblem.CLOSED_DURING_HANDSHAKE),
        (BrokenPipeError(32, "Broken pipe"), TlsProblem.CLOSED_DURING_HANDSHAKE),
        (FileNotFoundError(2, "No such file or directory", "/x/ca.crt"), TlsProblem.BAD_FILE),
        (PermissionError(13, "Permission denied", "/x/agent.key"), TlsProblem.BAD_FILE),
        (IsADirectoryError(21, "Is a directory", "/x"), TlsProblem.BAD_FILE),
        (ConnectionRefusedError(111, "Connection refused"), None),
        (TimeoutError("timed out"), None),
        (OSError(101, "Network is unreachable"), None),
        (ValueError("x"), None),
    ],
)  # fmt: skip
def test_closes_and_files_are_tls_problems_other_errors_are_not(
    exc: BaseException, problem: TlsProblem | None
) -> None:
    assert classify_tls_error(exc) is problem


def test_the_detail_is_the_verification_message_when_there_is_one() -> None:
    said = describe_tls_error(_verification(23, "certificate revoked"))
    assert said == "the broker's certificate was rejected: certificate revoked"
    # No message: the exception's own text.
    said = describe_tls_error(_verification(23))
    assert said == "the broker's certificate was rejected: certificate verify failed"


def test_the_detail_of_a_file_error_names_the_file() -> None:
    missing = FileNotFoundError(2, "No such file or directory", "/x/ca.crt")
    assert describe_tls_error(missing).startswith(
        "a TLS file cannot be used (No such file or directory: /x/ca.crt); "
    )
    bare = FileNotFoundError(None, None, "/x/ca.crt")  # no strerror: the exception itself
    assert describe_tls_error(bare).startswith(f"a TLS file cannot be used ({bare}: /x/ca.crt); ")
    nameless = FileNotFoundError(2, "No such file or directory")  # no file named
    assert describe_tls_error(nameless).startswith(
        "a TLS file cannot be used ([Errno 2] No such file or directory); "
    )


def test_an_error_without_text_is_named_by_its_type() -> None:
    assert describe_tls_error(_ssl_error(None, 9, "")).startswith(
        "a TLS file cannot be used (SSLError); "
    )
    assert describe_tls_error(PermissionError()).startswith(
        "a TLS file cannot be used (PermissionError); "
    )
    assert describe_tls_error(_ssl_error(None, 1, "")) == "TLS error with the broker: SSLError"
