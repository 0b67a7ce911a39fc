"""The client's run-wide limits: a 429's Retry-After holds every request of the run (other
threads, and other xdist workers through the shared pause file), and requests are counted by kind."""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import threading
import time

import httpx
import pytest

from conformance.client.http import ApiClient, SuiteTransportError, TargetError, caused_by_the_suite
from conformance.mock.server import MockServer
from tests.hostile import HostileServer

TOKEN = "http-test-token-4d5e6f"


def test_a_429_sets_a_pause_for_the_whole_client():
    limited = HostileServer("rate-limited")
    client = ApiClient(limited.url, token=TOKEN, retries_on_429=1)
    try:
        started = time.monotonic()
        client.post("/ad_groups/x/unpause")  # 429 with Retry-After: 1, then one retry after it
    finally:
        client.close()
        limited.stop()
    assert client.paused_until >= started + 1
    assert limited.requests == 2


def test_a_pause_holds_requests_on_every_thread():
    mock = MockServer(TOKEN).start()
    client = ApiClient(mock.url, token=TOKEN)
    client.paused_until = time.monotonic() + 1  # as a 429's Retry-After: 1 on another thread leaves it
    group = mock.api.dataset[0].id
    try:
        other = threading.Thread(target=client.post, args=(f"/ad_groups/{group}/unpause",))
        other.start()
        other.join()
    finally:
        client.close()
        mock.stop()
    assert client.waited >= 0.9, client.waited


def test_retry_after_is_shared_with_other_workers_through_the_pause_file(tmp_path):
    limited, mock = HostileServer("rate-limited"), MockServer(TOKEN).start()
    shared = tmp_path / "retry-after"
    worker_a = ApiClient(limited.url, token=TOKEN, retries_on_429=1, shared_pause=shared)
    worker_b = ApiClient(mock.url, token=TOKEN, shared_pause=shared)
    try:
        refused = threading.Thread(target=worker_a.post, args=("/ad_groups/x/unpause",))
        refused.start()  # a 429 with Retry-After: 1, written to the file while a waits to retry
        deadline = time.monotonic() + 5
        while not shared.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert shared.exists()
        worker_b.post(f"/ad_groups/{mock.api.dataset[0].id}/unpause", headers=worker_b.auth)
    finally:
        refused.join()
        worker_a.close()
        worker_b.close()
        limited.stop()
        mock.stop()
    # b's own answer is quick; whatever it waited beyond that was a's Retry-After
    assert worker_b.waited >= 0.5, worker_b.waited


def test_requests_are_counted_by_kind():
    mock = MockServer(TOKEN).start()
    client = ApiClient(mock.url, token=TOKEN)
    group = mock.api.dataset[0].id
    try:
        client.post(f"/ad_groups/{group}/unpause", headers=client.auth)
        client.post(f"/ad_groups/{group}/pause", headers=client.auth)
        client.request("GET", f"/ad_groups/{group}/unpause", headers=client.auth)
        client.request("GET", f"/ad_groups/{group}", headers=client.auth)
    finally:
        client.close()
        mock.stop()
    assert client.counts == {"unpause": 1, "pause": 1, "read": 1, "other": 1}
    assert client.count == 4


def test_a_curl_line_names_the_token_by_its_variable_and_redacts_any_other_credential():
    from conformance.client.http import Exchange
    from conformance.client.redaction import Redactor

    token = "tok-abcdef123456"
    redact = Redactor([token], {token: "CONFORMANCE_API_TOKEN"})

    def curl(authorization: str) -> str:
        headers = [("authorization", authorization), ("api-version-date", "2026-06-20")]
        return Exchange("POST", "https://staging.example/ad_groups/a1/unpause", headers, b"").curl(redact)

    assert curl(f"Bearer {token}") == (
        "curl -sS -X POST https://staging.example/ad_groups/a1/unpause "
        "-H \"authorization: Bearer $CONFORMANCE_API_TOKEN\" -H 'api-version-date: 2026-06-20'"
    )
    near_miss = curl(f"Bearer {token[:-1]}")
    assert "$CONFORMANCE_API_TOKEN" not in near_miss
    assert "Bearer [REDACTED]" in near_miss
    assert token[:10] not in near_miss


def test_no_two_threads_share_a_connection_pool():
    """Each request leases a client that no other thread uses until its response is closed:
    httpcore's shared pool can close a connection another thread was just given (EBADF)."""
    mock = MockServer(TOKEN).start()
    client = ApiClient(mock.url, token=TOKEN)
    group = mock.api.dataset[0].id
    in_use: dict[int, int] = {}
    overlaps = []
    lease = client.connections.lease

    @contextlib.contextmanager
    def watched():
        with lease() as http:
            key = id(http)
            if in_use.setdefault(key, 0):
                overlaps.append(key)
            in_use[key] += 1
            try:
                yield http
            finally:
                in_use[key] -= 1

    client.connections.lease = watched
    try:
        threads = [
            threading.Thread(target=lambda: [client.post(f"/ad_groups/{group}/unpause") for _ in range(20)])
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        client.close()
        mock.stop()
    assert overlaps == []
    assert 1 < len(in_use) <= 8  # reused, never more than the threads in flight
    assert client.counts["unpause"] == 160


def test_a_socket_closed_by_the_suite_is_a_suite_error_not_the_targets():
    """EBADF under a read is the suite's own doing: SuiteTransportError, never a TargetError."""
    mock = MockServer(TOKEN).start()
    client = ApiClient(mock.url, token=TOKEN)

    def closed_under_it(http, request):
        try:
            raise OSError(errno.EBADF, "Bad file descriptor")
        except OSError as error:
            raise httpx.ReadError(str(error)) from error

    client._send_once_more_if_dropped = closed_under_it
    try:
        with pytest.raises(SuiteTransportError):
            client.post("/ad_groups/x/unpause")
        assert client.consecutive_failures == 0  # not counted against the target
    finally:
        client.close()
        mock.stop()
    assert not caused_by_the_suite(httpx.ReadError("[Errno 9] Bad file descriptor"))  # text is the target's


def test_a_test_s_record_holds_the_requests_of_every_thread_it_fans_out_to():
    """Requests sent from the runner's threads (per-group set-ups, bursts) reach the test's record
    (a context variable carried into them), and the next test starts with an empty one."""
    from conformance.runner import engines

    mock = MockServer(TOKEN).start()
    client = ApiClient(mock.url, token=TOKEN)
    groups = [group.id for group in mock.api.dataset[:6]]
    try:
        first = client.begin()
        client.request("GET", f"/ad_groups/{groups[0]}", headers=client.auth)
        engines.run_all(lambda g: client.post(f"/ad_groups/{g}/unpause", headers=client.auth), groups, 4)
        second = client.begin()
        client.post(f"/ad_groups/{groups[0]}/unpause", headers=client.auth)
    finally:
        client.close()
        mock.stop()
    assert len(first) == 7
    assert sorted(e.url.rsplit("/", 2)[-2] for e in first[1:]) == sorted(groups)
    assert len(second) == 1
    assert client.exchanges is second


class ResettingServer:
    """Answers each connection's first request (keep-alive) and resets the connection, unanswered,
    on its second, as a server whose keep-alive timeout fires as that request arrives; ``every``:
    resets every request, the first too."""

    RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"

    def __init__(self, every: bool = False):
        self.every = every
        self.requests = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):  # the listener closed: the server's end
            while True:
                connection, _ = self.listener.accept()
                threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            for number in range(2):
                if b"\r\n\r\n" not in connection.recv(65536):
                    return
                self.requests += 1
                if self.every or number == 1:  # SO_LINGER 0: the close sends a reset, not a FIN
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                connection.sendall(self.RESPONSE)

    def stop(self) -> None:
        self.listener.close()


def test_a_request_reset_before_any_answer_is_sent_once_more_on_a_new_connection():
    """A kept-alive connection reset as the next request arrives (ECONNRESET, no byte of an answer)
    is the connection's end, not the target's answer: the request goes once more, on a new one."""
    server = ResettingServer()
    client = ApiClient(server.url, token=TOKEN)
    try:
        assert client.post("/ad_groups/a/unpause").status == 200
        assert client.post("/ad_groups/a/unpause").status == 200  # reset, then sent again
    finally:
        client.close()
        server.stop()
    assert server.requests == 3
    assert client.consecutive_failures == 0


def test_a_request_reset_twice_is_a_target_error():
    server = ResettingServer(every=True)
    client = ApiClient(server.url, token=TOKEN)
    try:
        with pytest.raises(TargetError, match="no usable response"):
            client.post("/ad_groups/a/unpause")
    finally:
        client.close()
        server.stop()
    assert server.requests == 2  # once more, never a third time


@pytest.mark.parametrize(
    ("fault", "stands"), [(None, False), ("credentials-echoed", True)], ids=["own-words", "echoed"]
)
def test_a_credential_the_answer_carries_is_echoed_only_if_another_one_is_not(fault, stands):
    """A generated token that reads as the 401's own message ("A valid bearer token is required.")
    is in the answer whatever was sent (a false EXP-NO-CREDENTIALS, seen in a stress run): the same
    request with other credentials tells the server's words from an echo, which still fails."""
    from conformance.judge.checks import exposure_violations, still_echoed, with_other_credentials

    mock = MockServer(TOKEN).start()
    client = ApiClient(mock.url + (f"/__faults/{fault}" if fault else ""), token=TOKEN)
    headers = {"Authorization": "Bearer A valid bearer token is required."}
    try:
        sent = client.post("/ad_groups/adgrp_unknown/unpause", headers=headers)
        assert sent.status == 401
        assert [v.rule for v in exposure_violations(sent)] == ["EXP-NO-CREDENTIALS"]  # on its own: either
        other = client.post("/ad_groups/adgrp_unknown/unpause", headers=with_other_credentials(headers, sent))
    finally:
        client.close()
        mock.stop()
    assert dict(other.request_headers)["authorization"] != headers["Authorization"]
    assert [v.rule for v in still_echoed(sent, other)] == (["EXP-NO-CREDENTIALS"] if stands else [])
