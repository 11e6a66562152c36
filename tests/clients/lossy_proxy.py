"""A TCP proxy between Kafka clients and `strom serve` that loses chosen responses.

It reads the Kafka framing in both directions (4-byte size, then the frame), remembers each
request's API key and version by correlation id, and, for the first `drop` successful
responses of one API, closes both connections instead of forwarding the response: what a
client sees when a network blip eats the answer to a request the broker has already acted
on. Everything else is forwarded unchanged.
"""

from __future__ import annotations

import socket
import struct
import threading

# The first flexible version of each API whose responses the proxy inspects (flexible
# response headers carry a tagged-field byte after the correlation id).
FLEXIBLE_FROM = {11: 6}  # JoinGroup
# The first version whose response starts with throttle_time_ms, per API.
THROTTLE_FROM = {11: 2}


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _read_frame(sock: socket.socket) -> bytes | None:
    size = _read_exact(sock, 4)
    if size is None:
        return None
    (n,) = struct.unpack(">i", size)
    body = _read_exact(sock, n)
    return None if body is None else size + body


def response_error_code(frame: bytes, api_key: int, version: int) -> int:
    """The top-level error code of a response frame (size prefix included)."""
    at = 4 + 4  # size, correlation id
    if version >= FLEXIBLE_FROM.get(api_key, 1 << 15):
        at += 1  # empty tagged fields of the response header
    if version >= THROTTLE_FROM.get(api_key, 1 << 15):
        at += 4
    (code,) = struct.unpack(">h", frame[at:at + 2])
    return code


class LossyProxy:
    """Listens on 127.0.0.1 (port from the OS); `upstream` is set before clients connect."""

    def __init__(self, drop_api_key: int, drop: int):
        self.drop_api_key = drop_api_key
        self.left = drop
        self.dropped = 0
        self.upstream: tuple[str, int] | None = None
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, name="lossy-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            assert self.upstream is not None, "LossyProxy.upstream is not set"
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            requests: dict[int, tuple[int, int]] = {}
            threading.Thread(target=self._up, args=(client, server, requests), daemon=True).start()
            threading.Thread(target=self._down, args=(client, server, requests), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, requests: dict) -> None:
        try:
            while (frame := _read_frame(client)) is not None:
                api_key, version, corr = struct.unpack(">hhi", frame[4:12])
                requests[corr] = (api_key, version)
                server.sendall(frame)
        except OSError:
            pass
        finally:
            _close(client, server)

    def _down(self, client: socket.socket, server: socket.socket, requests: dict) -> None:
        try:
            while (frame := _read_frame(server)) is not None:
                (corr,) = struct.unpack(">i", frame[4:8])
                api_key, version = requests.pop(corr, (-1, -1))
                if api_key == self.drop_api_key and response_error_code(frame, api_key, version) == 0:
                    with self.lock:
                        lose = self.left > 0
                        if lose:
                            self.left -= 1
                            self.dropped += 1
                    if lose:
                        return  # the finally closes both sides: the response is lost
                client.sendall(frame)
        except OSError:
            pass
        finally:
            _close(client, server)

    def close(self) -> None:
        self.closed = True
        self.listener.close()


def _close(*socks: socket.socket) -> None:
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
