"""What a configuration error may repeat of the file: never a secret, never a whole table.

The agent's start-up errors go to the journal; a misspelt section holding a password, or a
password typed as a number, must not put the password there.
"""

from __future__ import annotations

from typing import Any

import pytest

from edge_agent.config import parse_config
from edge_agent.errors import ConfigError

SECRET = "s3cret-hunter2"


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "agent.toml")
    return info.value.problems


def test_a_misspelt_section_is_named_without_its_values() -> None:
    said = problems({"site": "h", "brokr": {"host": "b", "password": SECRET}})
    assert said == ["brokr: unknown key (misspelt?)"]


def test_a_misspelt_key_is_named_without_its_value() -> None:
    said = problems({"site": "h", "broker": {"pasword": SECRET}})
    assert said == ["broker.pasword: unknown key (misspelt?)"]


def test_a_password_of_the_wrong_type_is_not_repeated() -> None:
    said = problems({"site": "h", "broker": {"password": 12345678}})
    assert len(said) == 1
    assert said[0].startswith("broker.password: expected ")
    assert "12345678" not in said[0]
