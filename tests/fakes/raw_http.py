"""A client that sends raw bytes a browser never would (a request line over aiohttp's limit) to
a server on loopback, and reads its whole answer."""

from __future__ import annotations

import asyncio


async def exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` to 127.0.0.1:``port`` and read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer
