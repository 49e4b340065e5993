"""A reference or a staff id is checked whole: a pattern ending in `$` lets re.match through
before a final newline, so "res-1\n" was a resident reference and "nurse-a\n" a staff id."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.exam.errors import UnknownResidentError
from edge_agent.exam.residents import check_ref
from edge_agent.web.accounts import Accounts
from edge_agent.web.errors import AccountError


def test_a_resident_reference_with_a_trailing_newline_is_refused() -> None:
    assert check_ref("res-1") == "res-1"
    with pytest.raises(UnknownResidentError, match="is not a resident reference"):
        check_ref("res-1\n")


def test_a_staff_id_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "web.sqlite3")
    try:
        with pytest.raises(AccountError, match="a staff id is"):
            accounts.add("nurse-a\n", "Marie", "135790")
        assert accounts.add("nurse-a", "Marie", "135790").staff_id == "nurse-a"
    finally:
        accounts.close()
