"""The CLI bench's short form: it runs, and `--help` stays within ten bare interpreters."""

import pytest

from bench import cli_bench


def test_cli_answers_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_bench, "ROUNDS", 3)
    result = cli_bench.run()
    assert result["version_ratio"] <= 10
    assert result["help_ratio"] <= 10  # a loaded CI machine may miss 0.25 s, not the ratio
