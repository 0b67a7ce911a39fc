"""Hostile targets: raw HTTP servers on 127.0.0.1 that misbehave in ways no contract describes.

Each mode answers every request the same hostile way. ``HostileServer(mode)`` runs on a free
port in a daemon thread; ``stop()`` or the end of the process ends it.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

MODES = (
    "hang",
    "drip",
    "reset",
    "close-mid-body",
    "non-json",
    "nan-json",
    "huge-body",
    "bad-gzip",
    "redirect-loop",
    "rate-limited",
    "503-storm",
)


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class HostileServer:
    def __init__(self, mode: str):
        assert mode in MODES, mode
        self.mode = mode
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.requests = 0
        threading.Thread(target=self._accept, daemon=True, name=f"hostile-{mode}").start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(30)
            try:
                while not self.stopping.is_set():
                    request = b""
                    while b"\r\n\r\n" not in request:
                        chunk = connection.recv(65536)
                        if not chunk:
                            return
                        request += chunk
                    self.requests += 1
                    if not self._answer(connection):
                        return
            except OSError:
                return

    def _answer(self, connection: socket.socket) -> bool:
        """Answer one request; False closes the connection."""
        mode = self.mode
        json_headers = {"Content-Type": "application/json"}
        if mode == "hang":
            self.stopping.wait(60)
            return False
        if mode == "drip":
            connection.sendall(_head("200 OK", {**json_headers, "Content-Length": "1000"}))
            for _ in range(1000):
                if self.stopping.wait(0.2):
                    break
                connection.sendall(b" ")
            return False
        if mode == "reset":
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if mode == "close-mid-body":
            connection.sendall(_head("200 OK", {**json_headers, "Content-Length": "1000"}) + b'{"id": "adgr')
            return False
        if mode == "huge-body":
            size = 50 * 1024 * 1024
            connection.sendall(_head("200 OK", {**json_headers, "Content-Length": str(size)}))
            block = b" " * 65536
            for _ in range(size // len(block)):
                connection.sendall(block)
            return False
        bodies = {
            "non-json": (
                "200 OK",
                {"Content-Type": "text/html"},
                b"<html><body>Service temporarily moved</body></html>",
            ),
            "nan-json": (
                "200 OK",
                json_headers,
                b'{"id": "adgrp_1", "click_through_rate": NaN, "frequency": Infinity}',
            ),
            "bad-gzip": (
                "200 OK",
                {**json_headers, "Content-Encoding": "gzip"},
                b"\x1f\x8b\x08\x00garbage-not-deflate",
            ),
            "redirect-loop": ("302 Found", {"Location": "/ad_groups/loop/unpause"}, b""),
            "rate-limited": (
                "429 Too Many Requests",
                {**json_headers, "Retry-After": "1"},
                b'{"error": {"type": "rate_limited", "message": "slow down"}}',
            ),
            "503-storm": (
                "503 Service Unavailable",
                {**json_headers, "Retry-After": "120"},
                b'{"error": {"type": "unavailable", "message": "overloaded"}}',
            ),
        }
        status, headers, body = bodies[mode]
        connection.sendall(_head(status, {**headers, "Content-Length": str(len(body))}) + body)
        return True


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    time.sleep(0.01)
    return port
