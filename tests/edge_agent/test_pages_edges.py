"""The page reader against SQLite itself: each serial type, each varint length, each overflow
bound at three page sizes, and each kind of damage skipped without losing the rows beside it.

Databases are written by the real SQLite; what it reads back (and its dbstat table, for the
overflow chains) is the expected answer. Damage is made byte by byte in the file's image.
"""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import pytest

from edge_agent.storage import _pages
from edge_agent.storage._pages import MAX_CELL_BYTES, Row, scan_table_rows

Value = int | float | str | bytes | None


def _database(path: Path, page_size: int, values: list[Value], rowids: list[int] | None = None
              ) -> bytes:  # fmt: skip
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA page_size={page_size}")
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("CREATE TABLE t(a)")
    ids = rowids if rowids is not None else list(range(1, len(values) + 1))
    db.executemany("INSERT INTO t(rowid, a) VALUES (?, ?)", zip(ids, values, strict=True))
    db.commit()
    db.close()
    return path.read_bytes()


def _table_rows(image: bytes, page_size: int, path: Path) -> list[Row]:
    db = sqlite3.connect(path)
    leaves = {
        n for (n,) in db.execute("SELECT pageno FROM dbstat WHERE name='t' AND pagetype='leaf'")
    }
    db.close()
    return [r for r in scan_table_rows(image, page_size) if r.pages[0] in leaves]


def _sqlite_rows(path: Path) -> list[tuple[int, list[Value]]]:
    db = sqlite3.connect(path)
    rows = [(rowid, [a]) for rowid, a in db.execute("SELECT rowid, a FROM t ORDER BY rowid")]
    db.close()
    return rows


def _chains(path: Path) -> list[tuple[int, ...]]:
    """Each cell's leaf page then overflow pages, as SQLite's dbstat lists them."""
    db = sqlite3.connect(path)
    stat = db.execute("SELECT path, pageno, pagetype FROM dbstat WHERE name='t'").fetchall()
    db.close()
    leaves = {p: n for p, n, kind in stat if kind == "leaf"}
    cells: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for p, n, kind in stat:
        if kind == "overflow":
            cell, _, index = p.partition("+")
            leaf_path, _, cell_hex = cell.rpartition("/")
            key = (leaf_path + "/", int(cell_hex, 16))
            cells.setdefault(key, []).append((int(index, 16), n))
    out = []
    for (leaf, _cell), pages in sorted(cells.items()):
        out.append((leaves[leaf], *(n for _, n in sorted(pages))))
    return out


VALUES: list[Value] = [
    None, 0, 1, 2, -1, 127, 128, -128, -129, 32767, 32768, -32768, 8388607, 8388608,
    -8388608, 2**31 - 1, 2**31, -(2**31), 2**47 - 1, 2**47, -(2**47), 2**63 - 1, -(2**63),
    0.5, -1.25e300, "", "a", "é" * 7, b"", b"\x00", b"\xff" * 13,
]  # fmt: skip


def test_each_serial_type_reads_as_sqlite_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    image = _database(path, 1024, VALUES)
    rows = _table_rows(image, 1024, path)
    assert [(r.rowid, r.values) for r in rows] == _sqlite_rows(path)
    assert [type(v) for r in rows for v in r.values] == [type(v) for v in VALUES]


@pytest.mark.parametrize(
    "rowids",
    [[1, 127, 128, 16383, 16384, 2**21, 2**28, 2**35, 2**42, 2**49, 2**56 - 1, 2**56],
     [2**63 - 1, -1, -(2**63), 2**62]],
)  # fmt: skip
def test_each_varint_length_of_a_rowid(tmp_path: Path, rowids: list[int]) -> None:
    path = tmp_path / "t.db"
    image = _database(path, 1024, ["x"] * len(rowids), rowids)
    rows = _table_rows(image, 1024, path)
    assert [(r.rowid, r.values) for r in rows] == _sqlite_rows(path)


def test_the_schema_rows_on_page_one_are_read_past_its_header(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    image = _database(path, 512, [1])
    first = [r for r in scan_table_rows(image, 512) if r.pages == (1,)]
    db = sqlite3.connect(path)
    expected = [
        list(row)
        for row in db.execute("SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema")
    ]
    db.close()
    assert [r.values for r in first] == expected


def _payload_bytes(n: int) -> int:
    """A one-column record holding an n-byte blob: header length, serial type, the blob."""
    serial = 12 + 2 * n
    serial_len = 1 if serial < 128 else 2 if serial < 16384 else 3
    return 1 + serial_len + n


@pytest.mark.parametrize("page_size", [512, 1024, 4096])
def test_each_overflow_bound_reads_as_sqlite_and_follows_its_chain(
    tmp_path: Path, page_size: int
) -> None:
    most = page_size - 35
    least = (page_size - 12) * 32 // 255 - 23
    sizes = set()
    for n in range(1, 6 * page_size):
        p = _payload_bytes(n)
        local = least + (p - least) % (page_size - 4)
        # at and beside the in-cell maximum, and where the spill's rest just fits, or not
        if abs(p - most) <= 2 or (p > most and abs(local - most) <= 1) or p % page_size < 3:
            sizes.add(n)
    path = tmp_path / "t.db"
    blobs: list[Value] = [bytes([n % 251]) * n for n in sorted(sizes)]
    image = _database(path, page_size, blobs)
    rows = _table_rows(image, page_size, path)
    assert [(r.rowid, r.values) for r in rows] == _sqlite_rows(path)
    spilled = [r.pages for r in rows if len(r.pages) > 1]
    assert spilled == _chains(path)
    assert any(len(p) > 3 for p in spilled)


def _corrupt(image: bytes, old: bytes, new: bytes) -> bytes:
    assert image.count(old) == 1
    return image.replace(old, new)


def _row_values(image: bytes, page_size: int) -> list[list[Value]]:
    return [r.values for r in scan_table_rows(image, page_size) if len(r.values) == 1]


def test_a_reserved_serial_type_or_bad_utf8_loses_only_its_row(tmp_path: Path) -> None:
    image = _database(tmp_path / "t.db", 1024, ["before", "MARK", "after"])
    # The record of "MARK": header 2, serial 12 + 2 * 4 = 20, then the text.
    for serial in (10, 11):
        damaged = _corrupt(image, b"\x02\x15MARK", bytes([2, serial]) + b"MARK")
        assert _row_values(damaged, 1024) == [["before"], ["after"]]
    assert _row_values(_corrupt(image, b"MARK", b"MA\xffK"), 1024) == [["before"], ["after"]]
    # As a blob (serial 21 - 1) the same bytes read.
    assert _row_values(_corrupt(image, b"\x02\x15MARK", b"\x02\x14MARK"), 1024) == [
        ["before"],
        [b"MARK"],
        ["after"],
    ]


def test_a_record_whose_header_or_values_do_not_fit_its_payload_is_skipped(
    tmp_path: Path,
) -> None:
    image = _database(tmp_path / "t.db", 1024, ["before", "MARK", "after"])
    # header length 7 in a payload of 6
    assert _row_values(_corrupt(image, b"\x02\x15MARK", b"\x07\x15MARK"), 1024) == [
        ["before"],
        ["after"],
    ]
    # a 3-byte text where 4 bytes are: a byte left over
    assert _row_values(_corrupt(image, b"\x02\x15MARK", b"\x02\x13MARK"), 1024) == [
        ["before"],
        ["after"],
    ]
    # a 5-byte text where 4 are
    assert _row_values(_corrupt(image, b"\x02\x15MARK", b"\x02\x17MARK"), 1024) == [
        ["before"],
        ["after"],
    ]
    # a 4-byte integer where 3 bytes are left
    assert _row_values(_corrupt(image, b"\x02\x15MARK", b"\x03\x04\x00MAR"), 1024) == [
        ["before"],
        ["after"],
    ]


@pytest.mark.parametrize(
    ("serial", "length"), [(1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (6, 8), (7, 8)]
)
def test_a_number_cut_short_by_its_record_is_skipped(
    tmp_path: Path, serial: int, length: int
) -> None:
    image = _database(tmp_path / "t.db", 1024, ["before", "x" * length, "after"])
    text = b"x" * length
    serial_text = 12 + 2 * length + 1
    # The same payload, its one column now a number one byte longer than the bytes there.
    damaged = _corrupt(image, bytes([2, serial_text]) + text, bytes([3, 0, serial]) + text[1:])
    rows = _row_values(damaged, 1024)
    assert rows[0] == ["before"] and rows[-1] == ["after"]
    assert len(rows) == 2 or rows[1][0] is None  # no number read past the payload


def test_a_cell_longer_than_the_cap_is_skipped(tmp_path: Path) -> None:
    assert MAX_CELL_BYTES == 64 * 1024 * 1024
    image = _database(tmp_path / "t.db", 1024, ["before", "MARKxxxxxx", "after"])
    # The cell: payload size 12, rowid 2, header 2, serial 33; made a size of 2**26 + 1.
    damaged = _corrupt(image, b"\x0c\x02\x02\x21MARK", b"\xa0\x80\x80\x01MARK")
    assert _row_values(damaged, 1024) == [["before"], ["after"]]


def _overflow_image(tmp_path: Path) -> tuple[bytes, list[Row]]:
    path = tmp_path / "t.db"
    image = _database(path, 512, [b"a" * 700, b"b" * 1500, b"c" * 10])
    rows = _table_rows(image, 512, path)
    return image, rows


def _set_pointer(image: bytes, page: int, value: int) -> bytes:
    start = (page - 1) * 512
    return image[:start] + struct.pack(">I", value) + image[start + 4 :]


def test_a_broken_overflow_chain_loses_only_its_row(tmp_path: Path) -> None:
    image, rows = _overflow_image(tmp_path)
    pages = len(image) // 512
    chain = rows[1].pages[1:]
    assert len(chain) >= 3
    for bad in (0, 1, pages + 1, chain[0]):  # before page 2, past the end, a loop
        damaged = _set_pointer(image, chain[1], bad)
        got = [r.values for r in scan_table_rows(damaged, 512) if r.pages[0] == rows[0].pages[0]]
        assert got == [[b"a" * 700], [b"c" * 10]]
    # The last page of the file is a valid link.
    assert chain[-1] <= pages
    reordered = scan_table_rows(image, 512)
    assert [r.values for r in reordered if r.pages[0] == rows[0].pages[0]] == [
        [b"a" * 700],
        [b"b" * 1500],
        [b"c" * 10],
    ]


def test_an_overflow_chain_ending_at_the_last_page_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    image = _database(path, 512, [b"z" * 2000])
    rows = _table_rows(image, 512, path)
    assert rows[0].values == [b"z" * 2000]
    assert len(image) // 512 in rows[0].pages


def test_an_image_cut_short_loses_the_rows_it_cut(tmp_path: Path) -> None:
    image, rows = _overflow_image(tmp_path)
    last = max(rows[1].pages)
    cut = image[: (last - 1) * 512]  # the chain's last page gone
    got = [r.values for r in scan_table_rows(cut, 512) if r.pages[0] == rows[0].pages[0]]
    assert [b"b" * 1500] not in got
    assert [b"a" * 700] in got or rows[0].pages[-1] >= last


def test_pages_that_are_not_table_leaves_are_not_read(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size=512")
    db.execute("CREATE TABLE t(a)")
    db.execute("CREATE INDEX t_a ON t(a)")
    db.executemany("INSERT INTO t(a) VALUES (?)", [(f"row {i:04d}",) for i in range(300)])
    db.commit()
    db.close()
    image = path.read_bytes()
    rows = [r for r in scan_table_rows(image, 512) if len(r.values) == 1]
    assert sorted(r.values[0] for r in rows) == [f"row {i:04d}" for i in range(300)]  # type: ignore[type-var]
    assert sorted(r.rowid for r in rows) == list(range(1, 301))


def test_a_cell_count_past_the_page_stops_at_the_page_end(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    image = _database(path, 512, ["a", "b"])
    leaf = _table_rows(image, 512, path)[0].pages[0]
    start = (leaf - 1) * 512
    damaged = image[: start + 3] + struct.pack(">H", 0xFFFF) + image[start + 5 :]
    got = [r.values for r in scan_table_rows(damaged, 512) if r.pages[0] == leaf]
    assert got[:2] == [["a"], ["b"]]
    # A cell pointer whose last byte is the page's last byte is still read.
    cells = (512 - 8) // 2
    damaged = image[: start + 3] + struct.pack(">H", cells) + image[start + 5 :]
    assert [r.values for r in scan_table_rows(damaged, 512) if r.pages[0] == leaf][:2] == [
        ["a"],
        ["b"],
    ]


def test_a_partial_last_page_is_not_read() -> None:
    page = bytearray(512)
    page[0] = 0x0D
    assert list(scan_table_rows(bytes(page[:511]), 512)) == []
    assert list(scan_table_rows(b"", 512)) == []


def test_a_cell_of_exactly_the_cap_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The bound with a cap of 1000 bytes in place of 64 MiB (a 64 MiB file per run costs more).
    monkeypatch.setattr(_pages, "MAX_CELL_BYTES", 1000)
    path = tmp_path / "t.db"
    # A one-blob record: 1 header length, 2 serial type, then the blob.
    image = _database(path, 512, [b"x" * 997, b"y" * 998])
    assert [r.values for r in _table_rows(image, 512, path)] == [[b"x" * 997]]


def test_page_two_as_an_overflow_page(tmp_path: Path) -> None:
    # Page 2 freed by a dropped table, then reused for a long row's overflow.
    path = tmp_path / "t.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size=512")
    db.execute("CREATE TABLE gone(a)")
    db.execute("CREATE TABLE t(a)")
    db.execute("DROP TABLE gone")
    db.execute("INSERT INTO t(a) VALUES (?)", (b"o" * 3000,))
    db.commit()
    db.close()
    image = path.read_bytes()
    rows = _table_rows(image, 512, path)
    assert [r.values for r in rows] == [[b"o" * 3000]]
    assert [r.pages for r in rows] == _chains(path)
    assert 2 in rows[0].pages[1:]


def test_a_64_kib_page_holds_its_cells_past_32_kib(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    image = _database(path, 65536, ["a", b"b" * 40000, 3])
    rows = _table_rows(image, 65536, path)
    assert [(r.rowid, r.values) for r in rows] == _sqlite_rows(path)


def test_a_page_of_cell_pointers_past_its_end_does_not_end_the_scan(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size=512")
    db.execute("CREATE TABLE t(a)")
    db.execute("CREATE TABLE u(a)")
    db.execute("INSERT INTO t(a) VALUES ('t')")
    db.execute("INSERT INTO u(a) VALUES ('u')")
    db.commit()
    db.close()
    image = path.read_bytes()
    start = 512  # page 2, t's leaf; u's is page 3
    damaged = image[: start + 3] + struct.pack(">H", 0xFFFF) + image[start + 5 :]
    assert [r.values for r in scan_table_rows(damaged, 512) if r.pages[0] == 3] == [["u"]]


def test_the_cell_pointer_in_the_pages_last_two_bytes_is_read() -> None:
    # A forged leaf (page 2): 252 pointers fill bytes 8-511. The last points at a cell made of
    # the first pointers' bytes: size 3, rowid 5, a record holding the 1-byte integer 7.
    # Every other pointer lies past the image's end.
    page = bytearray(b"\xff" * 512)
    page[0] = 0x0D
    page[1:8] = b"\x00\x00" + struct.pack(">H", 252) + b"\x00\x00\x00"
    page[8:13] = b"\x03\x05\x02\x01\x07"
    page[510:512] = struct.pack(">H", 8)
    image = bytes(512) + bytes(page)
    assert [(r.rowid, r.values, r.pages) for r in scan_table_rows(image, 512)] == [(5, [7], (2,))]
