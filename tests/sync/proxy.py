"""A TCP proxy for partition tests: forwards, stalls (holds bytes, keeps sockets) or drops."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType


class PartitionProxy:
    """Listens on a loopback port and forwards each connection to `target_port`.

    `stall()` stops moving bytes in both directions while keeping connections open, as
    a congested or half-dead link does; `drop()` closes every connection and refuses
    new ones; `heal()` forwards again.
    """

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._mode = "forward"
        self._lock = threading.Lock()
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def stall(self) -> None:
        with self._lock:
            self._mode = "stall"

    def drop(self) -> None:
        with self._lock:
            self._mode = "drop"
            for sock in list(self._pairs):
                self._close(sock)

    def heal(self) -> None:
        with self._lock:
            self._mode = "forward"

    def _run(self) -> None:
        while not self._stop.is_set():
            events = self._selector.select(timeout=0.05)
            with self._lock:
                for key, _ in events:
                    if key.fileobj is self._listener:
                        self._accept()
                    elif self._mode == "forward":
                        self._pump(key.fileobj)  # type: ignore[arg-type]
                stalled = self._mode == "stall"
            if stalled:
                self._stop.wait(0.05)  # readable sockets stay readable: do not spin

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        if self._mode == "drop":
            client.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
        self._pairs[client], self._pairs[upstream] = upstream, client

    def _pump(self, sock: socket.socket) -> None:
        peer = self._pairs.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(65536)
            if data:
                peer.setblocking(True)
                peer.sendall(data)
                peer.setblocking(False)
                return
        except OSError:
            pass
        self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        peer = self._pairs.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._pairs.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            s.close()

    def __enter__(self) -> PartitionProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            for sock in list(self._pairs):
                self._close(sock)
        self._listener.close()
