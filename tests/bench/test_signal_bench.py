"""The speed bench measures real recordings, and says so when it has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import _data, signal_bench


def test_without_a_data_folder_the_bench_skips_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = signal_bench.run(tmp_path)
    assert "STETHO_DATA" in result["skipped"]
    assert "skipped" in capsys.readouterr().err


def test_the_data_folder_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STETHO_DATA", "/some/where")
    assert _data.data_folder() == Path("/some/where")
    monkeypatch.delenv("STETHO_DATA")
    assert _data.data_folder() == Path("../shared/data")
