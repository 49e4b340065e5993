"""Each configuration check on its own: it refuses what it must, with the exact message, and
accepts its edge. Every test here fails if its check is disabled."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from edge_agent.config import (
    PASSWORD_ENV,
    AgentConfig,
    BrokerConfig,
    ThresholdsConfig,
    _thresholds_model,
    _with_kind_from_site,
    describe_error,
    kind_at_site,
    load_broker,
    load_config,
    parse_config,
    parse_endpoint,
)
from edge_agent.errors import ConfigError
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.mqtt import MqttConnection
from edge_agent.transport.settings import broker_settings
from stetho_signal import TriageThresholds

DEVICE = {"id": "s1", "kind": "simulated", "resident": "res-1",
          "schedule": {"interval_s": 10, "duration_s": 5}}  # fmt: skip


def config(**top: Any) -> dict[str, Any]:
    return {"site": "home-1", "devices": [dict(DEVICE)], **top}


def problems(data: dict[str, Any], base_dir: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "agent.toml", base_dir)
    assert info.value.file == "agent.toml"
    return info.value.problems


# ---- files named in [broker] must exist --------------------------------------------------


@pytest.mark.parametrize("key", ["ca_file", "cert_file", "key_file", "password_file"])
def test_a_missing_broker_file_is_refused(tmp_path: Path, key: str) -> None:
    missing = tmp_path / "nowhere.pem"
    assert problems(config(broker={key: str(missing)})) == [
        f"broker.{key}: expected a readable file, but {missing} does not exist"
    ]


def test_a_folder_named_as_a_file_is_called_a_folder(tmp_path: Path) -> None:
    # It was said not to exist, which sends the reader looking for a typo in the path.
    assert problems(config(broker={"ca_file": str(tmp_path)})) == [
        f"broker.ca_file: expected a readable file, but {tmp_path} is a folder"
    ]


def test_a_file_device_whose_recording_is_missing_is_refused(tmp_path: Path) -> None:
    # Before: accepted; the agent then failed to open it and tried again every 60 s, for ever,
    # with the device shown offline and nothing in `stetho config check`.
    missing = tmp_path / "take.wav"
    for path in (str(missing), "take.wav"):  # relative: from the config file's folder
        device = {**DEVICE, "kind": "file", "path": path}
        assert problems({"site": "h", "devices": [device]}, tmp_path) == [
            f"devices[0].path: expected a readable file, but {missing} does not exist"
        ]
    folder = {**DEVICE, "kind": "file", "path": str(tmp_path)}
    (problem,) = problems({"site": "h", "devices": [folder]})
    assert problem.endswith(f"but {tmp_path} is a folder")


def write_wav(path: Path, rate_hz: int = 4000, fmt: str = "WAV") -> None:
    soundfile.write(path, np.zeros(rate_hz // 10, dtype=np.int16), rate_hz, format=fmt)


RATES = "a WAV or FLAC recording sampled at 2000 to 48000 Hz (the analysis's rates)"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is not a recording\n" * 100, "Format not recognised"),
        (b"", "Format not recognised"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "Error in WAV file. No 'data' chunk marker"),
    ],
    ids=["garbage", "empty", "cut-header"],
)
def test_a_file_device_whose_recording_is_not_audio_is_refused(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    # Before: accepted; `stetho run` then failed to open it and tried again every 60 s.
    (tmp_path / "take.wav").write_bytes(content)
    device = {**DEVICE, "kind": "file", "path": "take.wav"}
    assert problems({"site": "h", "devices": [device]}, tmp_path) == [
        f"devices[0].path: expected {RATES}, but {tmp_path / 'take.wav'} is not a WAV or FLAC "
        f"recording libsndfile reads ({reason})"
    ]


def test_a_file_device_whose_recording_holds_no_samples_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    soundfile.write(path, np.zeros(0, dtype=np.int16), 4000)
    device = {**DEVICE, "kind": "file", "path": str(path)}
    assert problems({"site": "h", "devices": [device]}) == [
        f"devices[0].path: expected {RATES}, but {path} holds no sound (a header with 0 samples)"
    ]


@pytest.mark.parametrize(("rate_hz", "fmt"), [(1000, "WAV"), (96000, "FLAC")])
def test_a_file_device_at_a_rate_the_analysis_cannot_take_is_refused(
    tmp_path: Path, rate_hz: int, fmt: str
) -> None:
    # Before: accepted; its recordings were made, and each analysis refused the rate.
    path = tmp_path / f"take.{fmt.lower()}"
    write_wav(path, rate_hz, fmt)
    device = {**DEVICE, "kind": "file", "path": str(path)}
    assert problems({"site": "h", "devices": [device]}) == [
        f"devices[0].path: expected {RATES}, but {path} is sampled at {rate_hz} Hz"
    ]


def test_a_file_device_at_the_edges_of_the_analysis_rates_is_taken(tmp_path: Path) -> None:
    for rate_hz, fmt in ((2000, "WAV"), (48000, "FLAC")):
        path = tmp_path / f"take.{fmt.lower()}"
        write_wav(path, rate_hz, fmt)
        device = {**DEVICE, "kind": "file", "path": str(path)}
        assert parse_config({"site": "h", "devices": [device]}, "agent.toml").devices


def test_a_file_devices_recording_resolves_against_the_config_folder(tmp_path: Path) -> None:
    write_wav(tmp_path / "take.wav")
    device = {**DEVICE, "kind": "file", "path": "take.wav"}
    parsed = parse_config({"site": "h", "devices": [device]}, "agent.toml", tmp_path)
    assert getattr(parsed.devices[0], "path", None) == tmp_path / "take.wav"


@pytest.mark.parametrize("key", ["ca_file", "cert_file", "key_file", "password_file"])
def test_a_present_broker_file_resolves_against_the_config_folder(tmp_path: Path, key: str) -> None:
    (tmp_path / "f.pem").write_text("x")
    broker = {"tls": True, key: "f.pem"}
    if key in {"cert_file", "key_file"}:  # the two go together
        broker = {**broker, "cert_file": "f.pem", "key_file": "f.pem"}
    parsed = parse_config(config(broker=broker), "agent.toml", tmp_path)
    assert getattr(parsed.broker, key) == tmp_path / "f.pem"


def test_a_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    # Before: `config check` said valid; `stetho run` then stopped on "cannot open the outbox
    # .../outbox.sqlite3: File exists" and `staff add` after the PIN prompts.
    (tmp_path / "state").write_text("a file")
    assert problems({"site": "h", "storage": {"state_dir": "state"}}, tmp_path) == [
        f"storage.state_dir: expected a folder (made when missing), but {tmp_path / 'state'} "
        "is a file"
    ]
    missing = parse_config({"site": "h", "storage": {"state_dir": "new"}}, "a", tmp_path)
    assert missing.storage.state_dir == tmp_path / "new"  # the agent makes it


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    assert problems(config(broker={"ca_file": str(tmp_path)}))[0].startswith(
        "broker.ca_file: expected a readable file"
    )


def test_relative_file_without_a_base_is_taken_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ca.pem").write_text("x")
    broker = {"tls": True, "ca_file": "ca.pem"}
    assert parse_config(config(broker=broker), "a").broker.ca_file == Path("ca.pem")


def test_broker_checked_names_its_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        BrokerConfig.checked("from-the-cli", {"port": 0})
    assert info.value.file == "from-the-cli"
    assert info.value.problems == ["port: expected greater than or equal to 1; found 0"]
    assert BrokerConfig.checked("x", {"port": 8883}).port == 8883


# ---- device ids are unique ---------------------------------------------------------------


def test_duplicate_device_ids_are_refused() -> None:
    other = {**DEVICE, "resident": "res-2"}
    third = {**DEVICE, "id": "s2"}
    data = {"site": "home-1", "devices": [dict(DEVICE), other, third, {**third}]}
    assert problems(data) == ["devices: expected unique device ids, but these repeat: s1, s2"]


def test_distinct_device_ids_are_accepted() -> None:
    data = {"site": "home-1", "devices": [dict(DEVICE), {**DEVICE, "id": "s2"}]}
    assert [d.id for d in parse_config(data, "agent.toml").devices] == ["s1", "s2"]
    assert parse_config({"site": "home-1"}, "agent.toml").devices == []


# ---- the analysis follows the site -------------------------------------------------------


def test_kind_at_site() -> None:
    assert [kind_at_site(s) for s in ("aortic", "pulmonic", "tricuspid", "mitral")] == ["heart"] * 4
    assert kind_at_site("trachea") == "lung" == kind_at_site("lung-right-lateral")


def test_kind_follows_the_default_site_when_both_are_left_out() -> None:
    assert parse_config(config(), "a").devices[0].analysis_kind == "heart"  # mitral
    lung = {**DEVICE, "auscultation_site": "trachea"}
    assert parse_config({"site": "h", "devices": [lung]}, "a").devices[0].analysis_kind == "lung"


def test_a_kind_that_contradicts_the_site_is_refused() -> None:
    device = {**DEVICE, "auscultation_site": "aortic", "analysis_kind": "lung"}
    assert problems({"site": "h", "devices": [device]}) == [
        "devices[0].analysis_kind: expected 'heart' at auscultation site 'aortic' (or leave "
        "analysis_kind out: it follows the site); found 'lung'"
    ]
    agreeing = {**DEVICE, "auscultation_site": "aortic", "analysis_kind": "heart"}
    assert parse_config({"site": "h", "devices": [agreeing]}, "a").devices[0].analysis_kind == (
        "heart"
    )


def test_unknown_scenario_is_refused_and_known_one_kept() -> None:
    (problem,) = problems({"site": "h", "devices": [{**DEVICE, "scenario": "nope"}]})
    assert problem.startswith("devices[0].scenario: expected one of normal, ")
    assert problem.endswith("; found 'nope'")
    assert parse_config(config(), "a").devices[0].scenario == "normal"  # type: ignore[union-attr]


# ---- messages name the key path ----------------------------------------------------------


def test_messages_for_unknown_missing_and_wrong_keys() -> None:
    data = config(sitee="x", broker={"keepalive_s": 4})
    del data["devices"][0]["id"]
    assert problems(data) == [
        "broker.keepalive_s: expected greater than or equal to 5; found 4",
        "devices[0].id: required key is missing",
        "sitee: unknown key (misspelt?)",
    ]


def test_ble_device_path_leaves_out_the_discriminator() -> None:
    ble = {**DEVICE, "kind": "ble", "address": "nope"}
    (problem,) = problems({"site": "h", "devices": [ble]})
    assert problem.startswith("devices[0].address: expected String should match pattern")


@pytest.mark.parametrize(
    ("section", "key", "bad", "good"),
    [
        ("broker", "port", 65536, 65535),
        ("broker", "port", 0, 1),
        ("broker", "keepalive_s", 3601, 3600),
        ("broker", "max_inflight", 0, 1),
        ("broker", "max_inflight", 1001, 1000),
        ("broker", "session_expiry_s", -1, 0),
        ("storage", "quota_mb", 0, 0.001),
        ("storage", "alarm_fraction", 1.0, 0.999),
        ("storage", "alarm_fraction", 0.0, 0.001),
        ("storage", "keep_sent_hours", -1, 0),
        ("storage", "min_free_disk_mb", -1, 0),
    ],
)
def test_numeric_bounds_are_exact(section: str, key: str, bad: float, good: float) -> None:
    assert problems(config(**{section: {key: bad}}))[0].startswith(f"{section}.{key}: expected")
    parsed = parse_config(config(**{section: {key: good}}), "a")
    assert getattr(getattr(parsed, section), key) == good


@pytest.mark.parametrize(
    ("key", "bad", "good"),
    [("duration_s", 0.99, 1), ("duration_s", 601, 600), ("interval_s", 0, 0.01)],
)
def test_schedule_bounds(key: str, bad: float, good: float) -> None:
    def with_schedule(value: float) -> dict[str, Any]:
        schedule = {**DEVICE["schedule"], key: value}  # type: ignore[dict-item]
        return {"site": "h", "devices": [{**DEVICE, "schedule": schedule}]}

    assert problems(with_schedule(bad))[0].startswith(f"devices[0].schedule.{key}: expected")
    assert getattr(parse_config(with_schedule(good), "a").devices[0].monitoring, key) == good


def test_defaults() -> None:
    parsed = parse_config({"site": "home-1"}, "a")
    b, s = parsed.broker, parsed.storage
    assert (b.host, b.port, b.client_id, b.keepalive_s) == ("127.0.0.1", 1883, "", 30)
    assert (b.session_expiry_s, b.tls, b.max_inflight) == (7 * 24 * 3600, False, 20)
    assert (s.state_dir, s.quota_mb, s.alarm_fraction) == (Path("/var/lib/stetho-edge"), 2048, 0.9)
    assert (s.keep_sent_hours, s.min_free_disk_mb) == (24, 32)
    assert (parsed.agent_id, parsed.log_level) == ("agent", "info")
    assert parsed.analysis.triage_thresholds() == TriageThresholds()


def test_thresholds_pass_through_by_name() -> None:
    parsed = parse_config(
        {"site": "h", "analysis": {"thresholds": {"heart_rate_review_high_bpm": 100.0}}}, "a"
    )
    assert parsed.analysis.triage_thresholds() == TriageThresholds(heart_rate_review_high_bpm=100.0)
    assert problems({"site": "h", "analysis": {"thresholds": {"nope": 1}}}) == [
        "analysis.thresholds.nope: unknown key (misspelt?)"
    ]


def test_thresholds_the_triage_would_refuse_are_config_errors() -> None:
    # Before: `config check` passed them and `stetho run` or `analyze --config` died with a
    # traceback from TriageThresholds; a NaN passed both and silently never flagged.
    def refused(**values: float) -> list[str]:
        return problems({"site": "h", "analysis": {"thresholds": values}})

    assert refused(heart_rate_urgent_low_bpm=-40.0) == [
        "analysis.thresholds.heart_rate_urgent_low_bpm: expected greater than "
        "or equal to 0; found -40.0"
    ]
    assert refused(murmur_contrast=float("nan")) == [
        "analysis.thresholds.murmur_contrast: expected a finite number; found nan"
    ]
    assert refused(heart_rate_urgent_low_bpm=200.0) == [
        "analysis.thresholds: expected rate bands that rise, *_urgent_low_bpm <= "
        "*_review_low_bpm < *_review_high_bpm <= *_urgent_high_bpm (heart-rate thresholds must "
        "rise: urgent low <= review low < ...)"
    ]
    equal = parse_config(
        {"site": "h", "analysis": {"thresholds": {"heart_rate_urgent_low_bpm": 50.0}}}, "a"
    )  # urgent low may equal review low
    assert equal.analysis.triage_thresholds().heart_rate_urgent_low_bpm == 50.0


@pytest.mark.parametrize(
    ("table", "key"),
    [("storage", "quota_mb"), ("storage", "keep_sent_hours"), ("storage", "receipt_timeout_s"),
     ("broker", "failback_s")],
)  # fmt: skip
def test_infinite_durations_and_sizes_are_refused(table: str, key: str) -> None:
    # TOML spells them `inf`; `quota_mb = inf` passed `config check`, then `stetho run` died
    # converting it to bytes (OverflowError).
    assert problems({"site": "h", table: {key: float("inf")}}) == [
        f"{table}.{key}: expected a finite number; found inf"
    ]


@pytest.mark.parametrize("host", ["", " ", "broker .example"])
def test_an_empty_or_spaced_broker_host_is_refused(host: str) -> None:
    # "" passed `config check`; `stetho run` then died in paho ("Invalid host.", a traceback).
    assert problems({"site": "h", "broker": {"host": host}}) == [
        f"broker.host: expected a host name or IP address, not empty and without spaces; "
        f"found {host!r}"
    ]
    assert parse_config({"site": "h", "broker": {"host": "::1"}}, "a").broker.host == "::1"


@pytest.mark.parametrize(
    ("table", "key"),
    [("broker", "port"), ("broker", "session_expiry_s"), ("storage", "quota_mb"),
     ("storage", "alarm_fraction"), ("exam", "duration_s"), ("analysis.thresholds",
     "murmur_contrast"), ("analysis.thresholds", "crackles_min_count")],
)  # fmt: skip
def test_true_or_false_where_a_number_belongs_is_refused(table: str, key: str) -> None:
    # pydantic's lax mode reads true as 1: `port = true` was port 1, `quota_mb = true` 1 MiB,
    # and `alarm_fraction = true` said "expected less than 1; found True".
    data: dict[str, Any] = {"site": "h"}
    node = data
    for part in table.split("."):
        node = node.setdefault(part, {})
    node[key] = True
    kind = "integer" if key in {"port", "session_expiry_s", "crackles_min_count"} else "number"
    assert problems(data) == [f"{table}.{key}: expected a valid {kind}; found True"]


@pytest.mark.parametrize("host", ["", " ", "pi .local"])
def test_an_empty_or_spaced_web_listen_host_is_refused(host: str) -> None:
    # "" passed `config check` and served the nurses' page on every interface (0.0.0.0 and ::,
    # "web_listening url=http://:8080/") where 127.0.0.1 or one address was meant.
    assert problems({"site": "h", "web": {"listen_host": host}}) == [
        f"web.listen_host: expected a host name or IP address, not empty and without spaces; "
        f"found {host!r}"
    ]
    taken = parse_config({"site": "h", "web": {"listen_host": "0.0.0.0"}}, "a")
    assert taken.web is not None and taken.web.listen_host == "0.0.0.0"


# ---- the file edge -----------------------------------------------------------------------


def test_a_missing_config_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.file == str(path)
    assert info.value.problems == ["cannot read the file: No such file or directory"]


def test_a_config_that_is_not_utf8_is_not_valid_toml(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_bytes(b'site = "\xff"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].startswith("not valid TOML: ")


def _secret(tmp_path: Path, name: str, mode: int) -> Path:
    path = tmp_path / name
    path.write_text("s3cret\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize(("table", "key"), [("broker", "password_file"), ("broker", "key_file"),
                                          ("web", "tls_key_file")])  # fmt: skip
def test_secret_files_readable_by_others_are_refused(tmp_path: Path, table: str, key: str) -> None:
    secret = _secret(tmp_path, "secret", 0o604)
    cert = _secret(tmp_path, "web.crt", 0o644)  # a certificate is public
    pair = {"web": f'tls_cert_file = "{cert}"\n', "broker": ""}[table]
    if key == "key_file":  # a client certificate's key goes with the certificate, over TLS
        pair = f'tls = true\ncert_file = "{cert}"\n'
    path = tmp_path / "agent.toml"
    path.write_text(f'site = "h"\n[{table}]\n{pair}{key} = "{secret}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.file == str(secret)
    assert info.value.problems == [
        f"{table}.{key}: this file holds a secret but is readable by group or others "
        f"(mode 0604); run `chmod 600 {secret}`"
    ]
    secret.chmod(0o600)
    assert getattr(getattr(load_config(path), table), key) == secret


def test_secret_precedence_environment_file_inline(tmp_path: Path) -> None:
    secret = _secret(tmp_path, "pw", 0o600)
    both = BrokerConfig(password_file=secret, password="inline")  # type: ignore[arg-type]
    assert both.secret({PASSWORD_ENV: "env"}) == "env"
    assert both.secret({}) == "s3cret"
    assert BrokerConfig(password="inline").secret({}) == "inline"  # type: ignore[arg-type]
    assert BrokerConfig().secret({}) is None
    secret.unlink()
    with pytest.raises(ConfigError) as info:
        both.secret({})
    assert info.value.file == str(secret)
    assert info.value.problems == ["broker.password_file: cannot read: No such file or directory"]


def test_redacted_masks_only_the_password() -> None:
    parsed: AgentConfig = parse_config(
        {"site": "h", "broker": {"username": "u", "password": "hunter2"}}, "a"
    )
    data = parsed.redacted()
    assert data["broker"]["password"] == "***"
    assert data["broker"]["username"] == "u"
    assert parse_config({"site": "h"}, "a").redacted()["broker"]["password"] is None


def test_the_thresholds_model_mirrors_every_field_with_its_type_and_default() -> None:
    # Built once at import; called here again so that what it builds is checked itself.
    for model in (_thresholds_model(), ThresholdsConfig):
        assert model.__name__ == "ThresholdsConfig"
        assert model.model_config["extra"] == "forbid" and model.model_config["frozen"] is True
        assert {name: (f.annotation, f.default) for name, f in model.model_fields.items()} == {
            f.name: (type(f.default), f.default) for f in dataclasses.fields(TriageThresholds)
        }


def test_the_thresholds_model_refuses_negative_and_non_finite_values_and_takes_zero() -> None:
    # On the model built here, not the import-time one: a mutant must reach what is checked.
    model = _thresholds_model()
    name = "murmur_contrast"
    assert getattr(model(**{name: 0.0}), name) == 0.0
    for bad in (-0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=name):
            model(**{name: bad})


def test_kind_from_site_fills_in_only_what_is_missing() -> None:
    assert _with_kind_from_site({"id": "a"}, "trachea") == {"id": "a", "analysis_kind": "lung"}
    assert _with_kind_from_site({"auscultation_site": "aortic"}, "trachea") == {
        "auscultation_site": "aortic",
        "analysis_kind": "heart",
    }
    kept = {"analysis_kind": "lung"}
    assert _with_kind_from_site(kept, "mitral") is kept
    assert _with_kind_from_site({"auscultation_site": 5}, "mitral") == {"auscultation_site": 5}
    assert _with_kind_from_site("not a table", "mitral") == "not a table"


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ({"kind": "usb", "sample_rate_hz": 100}, "devices[0].sample_rate_hz: expected"),
        ({"kind": "file", "path": "take.wav", "realtime": "sometimes"}, "devices[0].realtime: "),
        ({"kind": "simulated", "speed": 0}, "devices[0].speed: expected"),
        ({"kind": "ble", "address": "00:11"}, "devices[0].address: expected"),
    ],
)
def test_device_key_paths_leave_out_the_kind(
    tmp_path: Path, device: dict[str, Any], expected: str
) -> None:
    write_wav(tmp_path / "take.wav")  # a file device's recording must be one
    (problem,) = problems({"site": "h", "devices": [{**DEVICE, **device}]}, tmp_path)
    assert problem.startswith(expected)


def test_inline_password_message_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('site = "h"\n[broker]\npassword = "p"\n')
    path.chmod(0o640)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [
        "broker.password: this file holds a secret but is readable by group or others "
        f"(mode 0640); run `chmod 600 {path}`"
    ]


def test_redacted_is_plain_json_data() -> None:
    data = parse_config({"site": "h"}, "a").redacted()
    assert data["storage"]["state_dir"] == "/var/lib/stetho-edge"
    assert data["broker"]["ca_file"] is None and data["site"] == "h"


# ---- a doctor's broker file ----------------------------------------------------------------


def _file(tmp_path: Path, text: str | bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "broker.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    path.chmod(mode)
    return path


def test_load_broker_reads_a_doctors_file(tmp_path: Path) -> None:
    path = _file(tmp_path, '[broker]\nhost = "hub.example"\nport = 8883\n', 0o644)
    broker = load_broker(path)
    assert (broker.host, broker.port) == ("hub.example", 8883)
    assert load_broker(_file(tmp_path, "")) == BrokerConfig()


def test_load_broker_takes_an_agents_broker_table(tmp_path: Path) -> None:
    path = _file(tmp_path, 'site = "h"\n[broker]\nport = 1884\n')
    assert load_broker(path).port == 1884
    bad = _file(tmp_path, 'site = "h"\nsitee = 1\n')
    with pytest.raises(ConfigError, match="sitee: unknown key"):
        load_broker(bad)


def test_load_broker_errors(tmp_path: Path) -> None:
    def problems_of(path: Path) -> list[str]:
        with pytest.raises(ConfigError) as info:
            load_broker(path)
        assert info.value.file == str(path)
        return info.value.problems

    assert problems_of(tmp_path / "absent.toml") == [
        "cannot read the file: No such file or directory"
    ]
    assert problems_of(_file(tmp_path, "x = [")).pop().startswith("not valid TOML: ")
    assert problems_of(_file(tmp_path, b"\xff")).pop().startswith("not valid TOML: ")
    assert problems_of(_file(tmp_path, "b = 1\na = 2\n[broker]\n")) == [
        "a: unknown key; a doctor's file holds [broker]",
        "b: unknown key; a doctor's file holds [broker]",
    ]
    assert problems_of(_file(tmp_path, "[broker]\nport = 0\n")) == [
        "port: expected greater than or equal to 1; found 0"
    ]


def test_load_broker_checks_secret_permissions(tmp_path: Path) -> None:
    inline = _file(tmp_path, '[broker]\npassword = "p"\n', 0o640)
    with pytest.raises(ConfigError) as info:
        load_broker(inline)
    assert info.value.problems == [
        "broker.password: this file holds a secret but is readable by group or others "
        f"(mode 0640); run `chmod 600 {inline}`"
    ]
    inline.chmod(0o600)
    assert load_broker(inline).secret({}) == "p"
    secret = _secret(tmp_path, "pw", 0o660)
    path = _file(tmp_path, f'[broker]\npassword_file = "{secret}"\n', 0o644)
    with pytest.raises(ConfigError) as info:
        load_broker(path)
    assert info.value.file == str(secret)
    assert info.value.problems[0].startswith("broker.password_file: this file holds a secret")
    secret.chmod(0o600)
    assert load_broker(path).secret({}) == "s3cret"
    # The key of a doctor's client certificate, as the agent's (load_config): it was not checked.
    key = _secret(tmp_path, "doctor.key", 0o644)
    cert = _secret(tmp_path, "doctor.crt", 0o644)
    tls = f'tls = true\ncert_file = "{cert}"\n'
    with_key = _file(tmp_path, f'[broker]\n{tls}key_file = "{key}"\n', 0o644)
    with pytest.raises(ConfigError) as info:
        load_broker(with_key)
    assert info.value.file == str(key)
    assert info.value.problems[0].startswith("broker.key_file: this file holds a secret")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("h", ("h", 1883)), ("h:1", ("h", 1)), ("h:65535", ("h", 65535)),
     ("[::1]", ("::1", 1883)), ("[::1]:8883", ("::1", 8883)), ("[fe80::1]:1", ("fe80::1", 1))],
)  # fmt: skip
def test_endpoint_accepts_its_edges(text: str, expected: tuple[str, int]) -> None:
    assert parse_endpoint(text, 1883) == expected


@pytest.mark.parametrize(
    "text", ["h:0", "h:65536", "[::1", "[::1]x", "[::1]:", "[::1]:80]", "[]:1", "a b:1", "h:"]
)
def test_endpoint_refuses_with_the_text(text: str) -> None:
    with pytest.raises(ValueError, match=r"not host or host:port|invalid literal"):
        parse_endpoint(text, 1883)


def test_endpoint_errors_quote_the_entry() -> None:
    with pytest.raises(ValueError) as bracket:
        parse_endpoint("[::1]x", 1883)
    assert str(bracket.value) == "not host or host:port: '[::1]x'"
    with pytest.raises(ValueError) as port:
        parse_endpoint("h:0", 1883)
    assert str(port.value) == "not host or host:port (port 1-65535): 'h:0'"


@pytest.mark.parametrize("text", ["h:abc", "[::1]:x", "h:\u0663", "h: 1", "h:1_0", "h:+1"])
def test_a_port_that_is_not_plain_digits_is_refused_naming_the_entry(text: str) -> None:
    # "h:abc" said only "invalid literal for int() with base 10: 'abc'" (no entry, no rule);
    # int() also took "h:\u0663" (an Arabic-Indic 3) as port 3, " 1" as 1 and "1_0" as 10.
    with pytest.raises(ValueError) as refused:
        parse_endpoint(text, 1883)
    assert str(refused.value) == f"not host or host:port (port 1-65535): {text!r}"


def test_broker_endpoints_list_hosts_in_order_or_else_host_and_port() -> None:
    assert BrokerConfig(host="b", port=8883).endpoints() == [("b", 8883)]
    failover = BrokerConfig(port=8883, hosts=["a", "[::1]:9", "c:1"])
    assert failover.endpoints() == [("a", 8883), ("::1", 9), ("c", 1)]
    assert problems(config(broker={"hosts": ["a", "h:0"]})) == [
        "broker.hosts: expected not host or host:port (port 1-65535): 'h:0'"
    ]


def test_an_error_with_no_key_path_says_top_level() -> None:
    error = {"loc": (), "type": "value_error", "msg": "Value error, one of a or b", "input": 3}
    assert describe_error(error) == "(top level): expected one of a or b; found 3"


# ---- finite values that still do not fit what receives them -----------------------------


@pytest.mark.parametrize(
    ("table", "key", "bad", "good"),
    [("broker", "session_expiry_s", 2**32, 2**32 - 1),
     ("storage", "quota_mb", 2**30 + 1, 2**30),
     ("storage", "min_free_disk_mb", 2**30 + 1, 2**30)],
)  # fmt: skip
def test_sizes_and_intervals_past_what_their_receiver_takes_are_refused(
    table: str, key: str, bad: int, good: int
) -> None:
    # session_expiry_s = 99999999999 passed `config check`; `stetho run` and `stetho hub run`
    # then died in paho (struct.error: MQTT 5.0 §3.1.2.11.2 makes it a Four Byte Integer).
    # quota_mb = 1e308 died converting MiB to bytes (OverflowError), also at start.
    assert problems({"site": "h", table: {key: bad}}) == [
        f"{table}.{key}: expected less than or equal to {good}; found {bad}"
    ]
    taken = parse_config({"site": "h", table: {key: good}}, "a")
    assert getattr(getattr(taken, table), key) == good


@pytest.mark.broker
def test_the_longest_session_expiry_the_config_takes_is_one_the_broker_takes(
    broker: LocalBroker,
) -> None:
    # 0xFFFFFFFF: "the session does not expire" (MQTT 5.0 §3.1.2.11.2), through the one
    # settings builder the agent and the hub use, to a real Mosquitto.
    forever = {"port": broker.port, "session_expiry_s": 2**32 - 1}
    config = parse_config({"site": "h", "broker": forever}, "a")

    async def connect() -> None:
        connection = MqttConnection(broker_settings(config.broker, "agent-forever"))
        await connection.connect()
        await connection.disconnect()

    asyncio.run(connect())


def test_a_monitoring_interval_past_a_year_is_refused() -> None:
    # interval_s = 1e308 passed `config check`; the device then failed every second with an
    # OverflowError traceback in the log (the interval in samples is an int).
    schedule = {**DEVICE["schedule"], "interval_s": 1e308}  # type: ignore[dict-item]
    assert problems({"site": "h", "devices": [{**DEVICE, "schedule": schedule}]}) == [
        "devices[0].schedule.interval_s: expected less than or equal to 31536000; found 1e+308"
    ]


def test_a_negative_simulator_seed_is_refused() -> None:
    # seed = -1 passed `config check`; the device then failed every second with a numpy
    # traceback in the log ("expected non-negative integer").
    assert problems({"site": "h", "devices": [{**DEVICE, "seed": -1}]}) == [
        "devices[0].seed: expected greater than or equal to 0; found -1"
    ]
    assert parse_config(config(), "a").devices[0].seed == 0  # type: ignore[union-attr]
