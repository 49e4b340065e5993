"""Residents at their limits: a label's length, a file's size and rows, the header, and files a
spreadsheet writes (old Mac line ends, a quote left open) refused line by line, never a crash."""

from __future__ import annotations

import re

import pytest

from edge_agent.exam import Resident, ResidentImportError, UnknownResidentError
from edge_agent.exam.residents import (
    MAX_CSV_BYTES,
    MAX_CSV_ROWS,
    MAX_LABEL,
    check_ref,
    parse_residents_csv,
)

HEADER = "ref,label\n"


def _problems(text: str) -> list[str]:
    with pytest.raises(ResidentImportError) as caught:
        parse_residents_csv(text)
    return caught.value.problems


def test_a_label_of_the_longest_length_is_kept_one_more_is_refused() -> None:
    longest = "L" * MAX_LABEL
    assert Resident("res-1", longest).label == longest
    assert parse_residents_csv(f"{HEADER}res-1,{longest}\n") == [Resident("res-1", longest)]
    with pytest.raises(UnknownResidentError, match=f"^a label has at most {MAX_LABEL} characters$"):
        Resident("res-1", longest + "L")
    assert _problems(f"{HEADER}res-1,{longest}L\n") == [
        f"line 2: the label is longer than {MAX_LABEL} characters"
    ]


def test_a_resident_without_a_label_or_with_a_name_for_a_reference_is_refused() -> None:
    unlabelled = r"^a resident needs a label the staff recognise$"
    with pytest.raises(UnknownResidentError, match=unlabelled):
        Resident("res-1", "  ")
    said = (
        "'Mrs Smith' is not a resident reference: use 1-63 lower-case letters, digits and "
        "dashes (an opaque code such as res-0042, never a name)"
    )
    with pytest.raises(UnknownResidentError, match=f"^{re.escape(said)}$"):
        check_ref("Mrs Smith")


def _file_of(size: int) -> str:
    """A residents CSV of exactly `size` bytes: rows of 76 bytes, the last one padded."""
    count = (size - len(HEADER) - 1) // 76 - 1
    rows = "".join(f"res-{i:05d},Room {i:05d}".ljust(75) + "\n" for i in range(count))
    text = HEADER + rows
    return text + f"res-{count:05d},Room".ljust(size - len(text) - 1) + "\n"


def test_a_file_of_the_largest_size_is_imported_one_byte_more_is_refused() -> None:
    largest = _file_of(MAX_CSV_BYTES)
    assert len(largest.encode("utf-8")) == MAX_CSV_BYTES
    assert len(parse_residents_csv(largest)) == 13_796
    assert _problems(_file_of(MAX_CSV_BYTES + 1)) == ["the file is larger than 1024 KiB"]


def test_the_most_residents_are_imported_one_more_is_refused() -> None:
    rows = "".join(f"r-{i},Room {i}\n" for i in range(MAX_CSV_ROWS))
    assert len(parse_residents_csv(HEADER + rows + "\n,\n\n")) == MAX_CSV_ROWS  # blank ends
    assert _problems(HEADER + rows + "r-last,Room\n") == [
        f"more than {MAX_CSV_ROWS} residents: split the file"
    ]
    problems = _problems(HEADER + "Bad Ref,x\n" + rows + "r-last,Room\n")
    assert problems == [  # the bad line, then the count: nothing past the limit is read
        "line 2: the reference must be 1-63 lower-case letters, digits and dashes",
        f"more than {MAX_CSV_ROWS} residents: split the file",
    ]


@pytest.mark.parametrize("text", ["", "\n", "name,room\nres-1,A\n", "ref,label,room\nres-1,A\n"])
def test_a_file_without_the_header_alone_on_line_1_is_refused_once(text: str) -> None:
    assert _problems(text) == ["line 1: the first line must be the header `ref,label`"]


def test_only_one_byte_order_mark_is_taken_off() -> None:
    assert parse_residents_csv(f"\ufeff{HEADER}res-1,A\n") == [Resident("res-1", "A")]
    assert _problems(f"\ufeff\ufeff{HEADER}res-1,A\n") == [
        "line 1: the first line must be the header `ref,label`"
    ]


def test_a_file_with_old_mac_line_ends_is_read_like_any_other() -> None:
    text = 'ref,label\rres-1,Room 1\rres-2,"Room 2, window"\r'
    window = Resident("res-2", "Room 2, window")
    assert parse_residents_csv(text) == [Resident("res-1", "Room 1"), window]


def test_a_quote_left_open_over_a_long_file_is_a_problem_not_a_crash() -> None:
    rows = "".join(f"res-{i},Room {i}\n" for i in range(2, 10_000))
    assert _problems(f'{HEADER}res-1,"Room 1\n{rows}') == [
        "line 2: a field runs on for more than 128 KiB: look for a quote left open"
    ]
    assert _problems(f'"{HEADER}res-1,Room 1\n{rows}') == [
        "line 1: a field runs on for more than 128 KiB: look for a quote left open"
    ]


def test_a_quote_left_open_over_a_few_lines_is_refused_not_swallowed() -> None:
    # Was imported: res-1's label became "Room 1\nres-2,Room 2" and res-2 was lost.
    said = "line 2: a quote opens here and is not closed on this line"
    assert _problems(f'{HEADER}res-1,"Room 1\nres-2,Room 2\n') == [said]
    assert _problems(f'{HEADER}res-0,Room 0\rres-1,"Room 1\r') == [said.replace("2:", "3:")]
    assert parse_residents_csv(f'{HEADER}res-1,"Room 1, window"\n') == [
        Resident("res-1", "Room 1, window")
    ]


def test_a_long_reference_is_echoed_cut_short() -> None:
    # Before: a 150 KB field typed into the form came back whole in the refusal.
    with pytest.raises(UnknownResidentError) as refused:
        check_ref("X" * 150_000)
    shown = "X" * 64 + "…"
    assert str(refused.value).startswith(f"'{shown}' is not a resident reference")
    assert refused.value.values == {"ref": shown}
    with pytest.raises(UnknownResidentError, match="^'" + "X" * 64 + "' is not"):
        check_ref("X" * 64)  # one too long for a reference, still shown whole


def test_a_reference_one_past_the_cut_is_cut() -> None:
    with pytest.raises(UnknownResidentError) as refused:
        check_ref("X" * 65)
    assert refused.value.values == {"ref": "X" * 64 + "…"}
