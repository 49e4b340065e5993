"""Which memory a process holds: its resident KiB by kind of mapping, from /proc/<pid>/smaps.

The soak reports this at its ten-minute mark and at the end, so a growth names its place:
`heap` is the main thread's malloc heap (brk), `arenas` the heaps glibc gives other threads
(each starts on a 64 MiB boundary, HEAP_MAX_SIZE on 64-bit, with the unused rest mapped
PROT_NONE), `stacks` the threads' 8 MiB stacks, `anon` every other private anonymous mapping
(Python's object arenas, malloc's large mmapped blocks), `libs` the shared objects' pages,
`files` other mapped files (SQLite's -shm among them).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

ARENA_ALIGN = 64 * 1024 * 1024
STACK_KIB = 8192  # the default pthread stack (ulimit -s)


def _kind(start: int, size_kib: int, perms: str, path: str) -> str:
    if path == "[heap]":
        return "heap"
    if path.startswith("["):
        return "other"
    if path:
        return "libs" if ".so" in Path(path).name else "files"
    if perms.startswith("rw") and start % ARENA_ALIGN == 0:
        return "arenas"
    if perms.startswith("rw") and size_kib == STACK_KIB:
        return "stacks"
    return "anon"


def rss_by_kind(pid: int) -> dict[str, int]:
    """Resident KiB per kind of mapping (empty if the process is gone)."""
    kinds: Counter[str] = Counter()
    kind = "other"
    try:
        text = Path(f"/proc/{pid}/smaps").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return {}
    for line in text.splitlines():
        head = line.split(maxsplit=5)
        if "-" in head[0] and not head[0].endswith(":"):  # a mapping's first line
            low, high = (int(x, 16) for x in head[0].split("-"))
            kind = _kind(low, (high - low) // 1024, head[1], head[5] if len(head) > 5 else "")
        elif head[0] == "Rss:":
            kinds[kind] += int(head[1])
    return dict(kinds)


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0
