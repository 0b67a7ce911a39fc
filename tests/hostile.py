"""Hostile targets: raw HTTP servers on 127.0.0.1 that misbehave in ways no contract describes.

Each mode answers every request the same hostile way. ``HostileServer(mode)`` runs on a free
port in a daemon thread; ``stop()`` or the end of the process ends it.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import zlib

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
    "deep-json",
    "invalid-utf8",
    "echo-credentials",
    "gzip-bomb-without-token",
    "odd-numbers",
    "not-found",
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
        self.paths: list[str] = []  # each request line's target, as it arrived
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
                    raw_head, _, rest = request.partition(b"\r\n\r\n")
                    head = raw_head.decode("latin-1")
                    length = next(
                        (
                            int(line.split(":", 1)[1])
                            for line in head.split("\r\n")
                            if line.lower().startswith("content-length:")
                        ),
                        0,
                    )
                    while (
                        len(rest) < length
                    ):  # read the request body, so it is not taken for the next request
                        chunk = connection.recv(65536)
                        if not chunk:
                            return
                        rest += chunk
                    self.paths.append(head.split(" ")[1] if " " in head else head)
                    if not self._answer(connection, head):
                        return
            except OSError:
                return

    def _answer(self, connection: socket.socket, head: str) -> bool:
        """Answer one request; False closes the connection."""
        mode = self.mode
        json_headers = {"Content-Type": "application/json"}
        authorization = next(
            (
                line.split(":", 1)[1].strip()
                for line in head.split("\r\n")
                if line.lower().startswith("authorization:")
            ),
            None,
        )
        if mode == "echo-credentials":  # every credential it is sent, back in a header and the body
            body = json.dumps(
                {"error": {"type": "unauthorized", "message": f"bad credentials: {authorization}"}}
            )
            headers = {**json_headers, "X-Echo": str(authorization), "Content-Length": str(len(body))}
            connection.sendall(_head("401 Unauthorized", headers) + body.encode())
            return True
        if mode == "gzip-bomb-without-token" and authorization is None:
            # 1 GB of zeros in ~1 MB of gzip, only for requests without credentials
            bomb = BOMB()
            headers = {**json_headers, "Content-Encoding": "gzip", "Content-Length": str(len(bomb))}
            connection.sendall(_head("401 Unauthorized", headers) + bomb)
            return True
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
            "deep-json": ("200 OK", json_headers, b"[" * 100_000 + b"]" * 100_000),
            "invalid-utf8": ("200 OK", json_headers, b'{"id": "adgrp_\xff\xfe", "status": "active"}'),
            "gzip-bomb-without-token": (
                "200 OK",
                json_headers,
                b'{"id": "adgrp_1", "status": "active"}',
            ),
            "odd-numbers": (
                "200 OK",
                json_headers,
                b'{"id": "adgrp_1", "id": "adgrp_2", "clicks": 1e999, "impressions": '
                + b"9" * 5000
                + b', "status": "active"}',
            ),
            "not-found": (
                "404 Not Found",
                json_headers,
                b'{"error": {"type": "not_found", "message": "no such ad group"}}',
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


_BOMB: list[bytes] = []


def BOMB() -> bytes:
    """512 MB of zeros as ~0.5 MB of gzip: read whole, it would take the run past 250 MB."""
    if not _BOMB:
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip container
        block = bytes(1 << 20)
        _BOMB.append(b"".join(packer.compress(block) for _ in range(512)) + packer.flush())
    return _BOMB[0]


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    time.sleep(0.01)
    return port
