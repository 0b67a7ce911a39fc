"""Serve the mock on 127.0.0.1: embedded (a background thread) or standalone (``python -m``)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from conformance.mock.app import MockApi
from conformance.mock.profiles import DEFAULT, Profile


class MockServer:
    """The mock on a free loopback port, in a daemon thread; ``stop()`` or the process ends it."""

    def __init__(
        self,
        token: str,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        profile: Profile = DEFAULT,
        peer_token: str | None = None,
        read_only_token: str | None = None,
    ):
        self.api = MockApi(token, seed, profile, peer_token, read_only_token)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit this; without it, keep-alive replies wait ~40 ms (Nagle + delayed ACK)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socket.bind((host, port))
        self.host, self.port = self.socket.getsockname()[:2]
        config = uvicorn.Config(
            self.api,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=profile.keep_alive,
            date_header=profile.date_header,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.socket]},
            name=f"unpause-mock:{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> MockServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the mock did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.socket.close()
