"""Read table rows straight off SQLite pages, without the B-tree above them (sans-I/O).

When a damaged page is a table's root or the schema page, SQLite cannot reach any row of that
table although the leaf pages that hold the rows are intact. This reader walks every page of a
database image, parses each table-leaf cell (SQLite file format, https://sqlite.org/fileformat2.html
§1.6 B-tree pages, §2.1 record format) and follows overflow chains, so the outbox salvage can
still read what is on disk. Pure function of the bytes: no file, no clock, no logging.

It may also find rows from pages SQLite has freed (an old, already deleted row); the caller
decides, as it does for every row here, whether a row is wanted.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Row", "Value", "scan_table_rows"]

Value = int | float | str | bytes | None
TABLE_LEAF = 0x0D  # §1.6: a leaf page of a table B-tree
HEADER_BYTES = 100  # §1.3: the database header at the start of page 1
# A cell or a record longer than the file is damage, not data: cap what we read from one cell.
MAX_CELL_BYTES = 64 * 1024 * 1024


class _Damaged(Exception):
    """This cell cannot be read; skip it."""


@dataclass(frozen=True)
class Row:
    rowid: int
    values: list[Value]
    pages: tuple[int, ...]  # the leaf page, then its overflow chain (1-based page numbers)


def scan_table_rows(image: bytes, page_size: int) -> Iterator[Row]:
    """Every row of every table-leaf cell in `image`, in page order."""
    pages = len(image) // page_size
    for number in range(1, pages + 1):
        start = (number - 1) * page_size
        header = start + (HEADER_BYTES if number == 1 else 0)
        if image[header] != TABLE_LEAF:
            continue
        (cells,) = struct.unpack_from(">H", image, header + 3)
        for index in range(cells):
            pointer = header + 8 + 2 * index
            if pointer + 2 > start + page_size:
                break
            (offset,) = struct.unpack_from(">H", image, pointer)
            try:
                rowid, values, chain = _cell(image, page_size, start + offset, pages)
                yield Row(rowid, values, (number, *chain))
            except (_Damaged, IndexError, struct.error, UnicodeDecodeError):
                continue


def _cell(image: bytes, page_size: int, pos: int, pages: int) -> tuple[int, list[Value], list[int]]:
    size, pos = _varint(image, pos)
    rowid, pos = _varint(image, pos)
    if rowid >= 1 << 63:  # a rowid is a signed 64-bit integer, its varint the two's complement
        rowid -= 1 << 64
    if size > MAX_CELL_BYTES:
        raise _Damaged
    local = _local_bytes(size, page_size)
    payload = bytearray(image[pos : pos + local])
    chain: list[int] = []
    if local < size:
        (overflow,) = struct.unpack_from(">I", image, pos + local)
        payload += _overflow(image, page_size, overflow, size - local, pages, chain)
    if len(payload) != size:
        raise _Damaged
    return rowid, _record(bytes(payload)), chain


def _local_bytes(size: int, page_size: int) -> int:
    """How much of a table-leaf payload sits in the cell (§1.6, with no reserved bytes)."""
    usable = page_size
    most = usable - 35
    if size <= most:
        return size
    least = ((usable - 12) * 32 // 255) - 23
    local = least + (size - least) % (usable - 4)
    return local if local <= most else least


def _overflow(
    image: bytes, page_size: int, page: int, wanted: int, pages: int, chain: list[int]
) -> bytes:
    out = bytearray()
    while wanted > 0:
        if page < 2 or page > pages or page in chain:
            raise _Damaged  # a broken or looping chain
        chain.append(page)
        start = (page - 1) * page_size
        (page,) = struct.unpack_from(">I", image, start)
        chunk = image[start + 4 : start + page_size][:wanted]
        out += chunk
        wanted -= len(chunk)
    return bytes(out)


def _record(payload: bytes) -> list[Value]:
    header_size, pos = _varint(payload, 0)
    if header_size > len(payload):
        raise _Damaged
    types = []
    while pos < header_size:
        serial, pos = _varint(payload, pos)
        types.append(serial)
    values: list[Value] = []
    pos = header_size
    for serial in types:
        value, pos = _value(payload, pos, serial)
        values.append(value)
    if pos != len(payload):
        raise _Damaged
    return values


_INT_BYTES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def _value(data: bytes, pos: int, serial: int) -> tuple[Value, int]:
    """One column by its serial type (§2.1)."""
    if serial == 0:
        return None, pos
    if serial in _INT_BYTES:
        n = _INT_BYTES[serial]
        if pos + n > len(data):
            raise _Damaged
        return int.from_bytes(data[pos : pos + n], "big", signed=True), pos + n
    if serial == 7:
        (number,) = struct.unpack_from(">d", data, pos)
        return float(number), pos + 8
    if serial in (8, 9):
        return serial - 8, pos
    if serial < 12:
        raise _Damaged  # 10 and 11 are reserved
    n = (serial - 12) // 2
    if pos + n > len(data):
        raise _Damaged
    raw = data[pos : pos + n]
    return (raw if serial % 2 == 0 else raw.decode("utf-8")), pos + n


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """SQLite's big-endian varint: 7 bits a byte, the ninth byte whole (§2.1 'varint')."""
    value = 0
    for i in range(9):
        byte = data[pos + i]
        if i == 8:
            return (value << 8) | byte, pos + 9
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos + i + 1
    raise _Damaged  # unreachable: the loop returns by the ninth byte
