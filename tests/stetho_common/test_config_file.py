"""The one configuration-file reader and secret-file rule, as each package's error names them."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.errors import ConfigError
from stetho_common.config_file import check_secret_permissions, read_toml
from stetho_hub.errors import HubConfigError


def test_a_secret_file_gone_since_it_was_checked_is_one_sentence(tmp_path: Path) -> None:
    gone = tmp_path / "token"  # removed between the config's validation and this check
    with pytest.raises(HubConfigError) as caught:
        check_secret_permissions([("fhir.token_file", gone)], HubConfigError)
    assert caught.value.file == str(gone)
    assert caught.value.problems == [
        "fhir.token_file: cannot read the file: No such file or directory"
    ]


def test_files_not_given_are_passed_over_and_the_first_exposed_is_named(tmp_path: Path) -> None:
    kept, open_a, open_b = (tmp_path / n for n in ("kept", "a", "b"))
    for path, mode in ((kept, 0o600), (open_a, 0o604), (open_b, 0o660)):
        path.write_text("x", encoding="utf-8")
        path.chmod(mode)
    check_secret_permissions([("x", None), ("k", kept)], ConfigError)  # nothing to say
    with pytest.raises(ConfigError) as caught:
        check_secret_permissions([("k", kept), ("a", open_a), ("b", open_b)], ConfigError)
    assert caught.value.file == str(open_a)
    assert caught.value.problems == [
        "a: this file holds a secret but is readable by group or others (mode 0604); "
        f"run `chmod 600 {open_a}`"
    ]


def test_read_toml_names_the_file_with_the_callers_error(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text('[database]\nsqlite = "h\u00e9.db"\n', encoding="utf-8")
    assert read_toml(path, HubConfigError) == {"database": {"sqlite": "h\u00e9.db"}}
    path.write_bytes(b"a = 1\n\xff")
    with pytest.raises(HubConfigError) as caught:
        read_toml(path, HubConfigError)
    assert caught.value.file == str(path) and caught.value.problems[0].startswith("not valid TOML")
    with pytest.raises(ConfigError) as caught_agent:
        read_toml(tmp_path / "none.toml", ConfigError)
    assert caught_agent.value.problems == ["cannot read the file: No such file or directory"]
