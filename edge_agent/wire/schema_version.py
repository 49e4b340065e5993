"""The version every wire message carries, apart from the models (`messages`): code that only
stamps it, such as the broker check of a config, need not build the pydantic models."""

from __future__ import annotations

from typing import Literal

__all__ = ["SCHEMA_VERSION"]

SCHEMA_VERSION: Literal[1] = 1
