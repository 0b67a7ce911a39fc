"""One HTTP client for the suites: keep-alive, timeouts, rate limit, 429 and 503 Retry-After, and
a record of every exchange with every secret redacted (attachments, curl lines, messages)."""

from __future__ import annotations

import contextlib
import contextvars
import errno
import json
import math
import os
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401  httpx imports it on its first client (~25 ms): at start-up, not in a test
import httpx

from conformance.client.redaction import Redactor, shell_header, shown_header
from conformance.client.slots import SharedSlots
from conformance.client.strict_json import duplicate_names, loads

MAX_RETRY_AFTER = 30.0  # seconds: a longer Retry-After ends the retries instead of stalling the run
# "not now" answers, sent again after their Retry-After (RFC 9110 §10.2.3): a rate limit (429), and
# a server briefly unavailable (503, a deploy) that says when to come back; a 503 without the
# header is no promise, and stays the answer (ERR-NO-5XX judges it)
RETRIED_STATUSES = (429, 503)


# the exchanges of the test being run, set at its start (ApiClient.begin) and carried into the
# threads it fans out to (engines.fan_out copies the context), so its report shows every request
RECORD: contextvars.ContextVar[list[Exchange] | None] = contextvars.ContextVar("record", default=None)


@dataclass
class Exchange:
    """One request and its response, as sent and received."""

    method: str
    url: str
    request_headers: list[tuple[str, str]] = field(repr=False)  # holds the token
    request_body: bytes
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    error: str | None = None
    elapsed: float = 0.0
    _parsed: tuple[Any, ValueError | None] | None = field(default=None, init=False, repr=False, compare=False)
    _duplicates: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.response_headers if k.lower() == "content-type"), "")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.response_headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        """The body parsed as strict JSON (NaN and Infinity are not JSON); ValueError (or
        UnicodeDecodeError) if not. Parsed once: the checks read it, none changes it."""
        if self._parsed is None:
            try:
                self._parsed = (loads(self.response_body), None)
            except ValueError as error:  # UnicodeDecodeError is one
                self._parsed = (None, error)
        value, error = self._parsed
        if error is not None:
            raise error
        return value

    def duplicate_names(self) -> list[str]:
        """Member names a JSON object of the body carries more than once (RFC 8259 §4: they SHOULD
        be unique), or [] (also for a body that does not parse). Found by a second parse, once,
        of a body json() accepted: known shallow, since the pairs hook deepens each level's C stack
        and a hostile depth with it aborts the interpreter."""
        if self._duplicates is None:
            self._duplicates = []
            try:
                self.json()
            except ValueError:
                return []

            self._duplicates = duplicate_names(self.response_body)
        return list(dict.fromkeys(self._duplicates))

    def curl(self, redact: Redactor) -> str:
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(redact(self.url))]
        for name, value in self.request_headers:
            if name.lower() in (
                "host",
                "content-length",
                "accept-encoding",
                "connection",
                "user-agent",
                "accept",
            ):
                continue
            parts += ["-H", shell_header(name, value, redact)]
        if self.request_body:
            parts += ["--data-binary", shlex.quote(redact(self.request_body.decode("utf-8", "replace")))]
        return " ".join(parts)

    def describe_request(self, redact: Redactor) -> str:
        headers = "\n".join(f"{k}: {shown_header(k, v)}" for k, v in self.request_headers)
        body = self.request_body.decode("utf-8", "replace")
        return redact(f"{self.method} {self.url}\n{headers}\n\n{body}".rstrip())

    def describe_response(self, redact: Redactor, limit: int = 20_000) -> str:
        if self.error:
            return redact(f"(no response: {self.error})")
        headers = "\n".join(f"{k}: {v}" for k, v in self.response_headers)
        text = self.response_body[:limit].decode("utf-8", "replace")
        with contextlib.suppress(ValueError):
            text = json.dumps(self.json(), indent=2, ensure_ascii=False)[:limit]
        return redact(f"HTTP {self.status}\n{headers}\n\n{text}")


class RateLimiter:
    """At most ``per_second`` requests per second across threads (0 means unlimited)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.lock = threading.Lock()
        self.next_slot = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class Connections:
    """Keep-alive clients, each used by one thread at a time: a request leases one and gives it back
    once its response is closed. httpcore's pool, shared by threads, can close an idle-looking
    connection that another thread was just given (encode/httpcore#1110: surplus keep-alive, room
    at max_connections, a server that closed it), and the request then reads a socket closed under
    it (EBADF, seen once in seven rate-limited runs); a pool only one thread uses has no such race."""

    def __init__(self, timeout: float, verify: bool):
        self.timeout = timeout
        # the CA bundle loaded once for every client (20-30 ms a load); none for a plain-http target
        self.verify = httpx.create_ssl_context() if verify else False
        self.idle: list[httpx.Client] = []
        self.every: list[httpx.Client] = []
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def lease(self):
        with self.lock:
            client = self.idle.pop() if self.idle else None
        if client is None:
            client = httpx.Client(
                timeout=self.timeout,
                follow_redirects=False,  # so every request goes to base_url, whatever its scheme
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                verify=self.verify,
            )
            with self.lock:
                self.every.append(client)
        try:
            yield client
        finally:
            with self.lock:
                self.idle.append(client)

    def close(self) -> None:
        with self.lock:
            clients, self.every, self.idle = self.every, [], []
        for client in clients:
            client.close()


class SuiteTransportError(BaseException):
    """A transport error the suite caused in its own process (a socket closed under its reader:
    EBADF), which no target can send: a SUITE ERROR (exit 3), never a verdict or a target error. A
    BaseException, like TargetStopped, so hypothesis neither shrinks nor generates past it."""


def _errnos(error: BaseException) -> set[int]:
    """The errnos of the OSErrors an httpx error was raised from (never read from its text, which
    may quote what the target sent)."""
    found, seen = set(), error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            found.add(seen.errno)
        seen = seen.__cause__ or seen.__context__
    return found


def caused_by_the_suite(error: BaseException) -> bool:
    """Whether an httpx error comes from a socket this process closed (EBADF, ENOTSOCK)."""
    return bool(_errnos(error) & {errno.EBADF, errno.ENOTSOCK})


def dropped_before_answering(error: httpx.HTTPError) -> bool:
    """No response at all on a connection the server closed as the request went out (its
    keep-alive timeout, a deploy): h11 read the server's close first, or the socket read the reset
    that answered the request's bytes (ECONNRESET, EPIPE)."""
    if isinstance(error, httpx.RemoteProtocolError):
        return "without sending a response" in str(error)
    return isinstance(error, httpx.ReadError | httpx.WriteError) and bool(
        _errnos(error) & {errno.ECONNRESET, errno.EPIPE}
    )


class TargetError(Exception):
    """The target did not answer usably (unreachable, timed out, reset, oversized, undecodable):
    a target error, reported in its own category, not a contract verdict."""


class TargetStopped(BaseException):
    """A TargetError inside a property-based test, raised past hypothesis: a BaseException, so it
    neither shrinks nor generates another case against a target that is gone or out of budget."""

    def __init__(self, error: TargetError):
        super().__init__(str(error))
        self.error = error


class ApiClient:
    """A keep-alive httpx client against the target, recording exchanges for the reports.

    Bounded in time: each request has a total deadline (``timeout``, for the whole response, not
    only between bytes), the session has a ``time_budget``, and after ``breaker`` consecutive
    transport failures every further request fails at once: a dead or hostile target costs
    seconds, not hours."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        timeout: float = 10.0,
        rate_limit: float = 0.0,
        max_body: int = 5_000_000,
        retries_on_429: int = 5,  # per request, for a 429 or a 503 with Retry-After
        redactor: Redactor | None = None,
        time_budget: float = 600.0,
        breaker: int = 3,
        shared_pause: Path | None = None,
        slots: SharedSlots | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.redact = redactor or Redactor([token])
        self.limiter = RateLimiter(rate_limit)
        self.max_body = max_body
        self.retries_on_429 = retries_on_429
        self.retried = 0  # requests sent again after a 429 or a 503's Retry-After
        # builds requests only (its default headers); they are sent on a leased client
        self.http = httpx.Client(timeout=timeout, verify=False)
        # https targets are verified; a plain-http one never negotiates TLS, so loading the CA
        # bundle for it would only cost 20-30 ms of every run
        self.connections = Connections(timeout, verify=not self.base_url.startswith("http://"))
        self.timeout = timeout
        self.local = threading.local()
        self.counts = {"unpause": 0, "pause": 0, "read": 0, "other": 0}  # requests sent, by kind
        self.side_effect_requests = 0  # of those, what the side-effect checks sent (test_refusals)
        self.count_lock = threading.Lock()
        self.paused_until = 0.0  # a 429's Retry-After holds every request of the run until then
        # under xdist, the workers' clients share the pause through this file (epoch seconds)
        self.shared_pause = shared_pause
        # under xdist against one target: the run's --concurrency, shared by the workers' requests
        self.slots = slots
        self.waited = 0.0  # seconds spent waiting for the target (answers, Retry-After)
        self.deadline = time.monotonic() + time_budget
        self.time_budget = time_budget
        self.breaker = breaker
        self.consecutive_failures = 0
        self.last_failure = ""
        self.observers: list[Callable[[Exchange], None]] = []  # told of every answered exchange
        self.mirror = None  # drift.Mirror: every request is sent to a second target too
        self.last_seen = None  # census.LastSeen, when the plugin made this client

    @contextlib.contextmanager
    def at_once(self):
        """Requests that must be in flight together (the concurrency tests' bursts) take no shared
        slot: under xdist a burst is as wide as in one process, whatever the other worker sends."""
        self.local.at_once = True
        try:
            yield
        finally:
            self.local.at_once = False

    @property
    def auth(self) -> dict[str, str]:
        """The valid Authorization header for the target."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def exchanges(self) -> list[Exchange]:
        """The exchanges of the test being run (``RECORD``): every client's, from every thread it
        fanned out to."""
        record = RECORD.get()
        if record is None:
            record = []
            RECORD.set(record)
        return record

    def count_side_effects(self, sent: int) -> None:
        """``sent`` of this client's requests were the side-effect checks' (a line of the summary)."""
        with self.count_lock:
            self.side_effect_requests += sent

    def begin(self, record: list[Exchange] | None = None) -> list[Exchange]:
        """A test starts: its requests go to ``record`` (a new one by default) from here on."""
        record = [] if record is None else record
        RECORD.set(record)
        return record

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(
        self, method: str, path: str, *, headers: dict[str, str | bytes] | None = None, content: bytes = b""
    ) -> Exchange:
        url = self.url(path)
        pending = self.mirror.send(method, path, headers or {}, content) if self.mirror is not None else None
        exchange = None
        try:
            exchange = self._request(method, url, headers or {}, content)
        finally:
            if pending is not None:
                self.mirror.settle(exchange, pending)
        return exchange

    def _request(self, method: str, url: str, headers: dict[str, str | bytes], content: bytes) -> Exchange:
        waited = 0.0
        for attempt in range(self.retries_on_429 + 1):
            exchange = self._send(method, url, headers, content)
            retry_after = _retry_after(exchange)
            if (
                retry_after is None
                or attempt == self.retries_on_429
                or waited + retry_after > MAX_RETRY_AFTER
            ):
                return exchange
            waited += retry_after
            with self.count_lock:  # the whole run waits, not only this request: the limit is the target's
                self.retried += 1
                self.paused_until = max(self.paused_until, time.monotonic() + retry_after)
                if self.shared_pause is not None:  # and every other xdist worker with it
                    until = max(self._shared_until(), time.time() + retry_after)
                    scratch = self.shared_pause.with_name(f"{self.shared_pause.name}.{threading.get_ident()}")
                    scratch.write_text(repr(until))
                    os.replace(scratch, self.shared_pause)
        raise AssertionError("unreachable")

    def post(
        self, path: str, *, headers: dict[str, str | bytes] | None = None, content: bytes = b""
    ) -> Exchange:
        return self.request("POST", path, headers=headers, content=content)

    def _send(self, method: str, url: str, headers: dict[str, str | bytes], content: bytes) -> Exchange:
        with self.count_lock:  # the breaker's counters: every thread of the run reads and writes them
            failures, last_failure = self.consecutive_failures, self.last_failure
        if failures >= self.breaker:
            raise TargetError(
                f"target unreachable or failing: {failures} requests in a row "
                f"got no usable response (last: {last_failure})"
            )
        if time.monotonic() > self.deadline:
            raise TargetError(
                f"time budget of {self.time_budget:g} s exhausted after {self.count} requests, which spent "
                f"{self.waited:.1f} s waiting on the target (answers and Retry-After, summed over requests in flight)"
            )
        pause = max(self.paused_until - time.monotonic(), self._shared_until() - time.time())
        if pause > 0:
            time.sleep(pause)
            with self.count_lock:
                self.waited += pause
        self.limiter.wait()
        request = self.http.build_request(method, httpx.URL(url), headers=headers, content=content)
        exchange = Exchange(method, str(request.url), list(request.headers.items()), content)
        self.exchanges.append(exchange)
        with self.count_lock:
            self.counts[request_kind(method, url)] += 1
        bounded = self.slots is not None and not getattr(self.local, "at_once", False)
        with self.slots.held() if bounded else contextlib.nullcontext(), self.connections.lease() as http:
            started = time.monotonic()  # the target's time starts once the request may go out
            try:
                response = self._send_once_more_if_dropped(http, request)
                try:
                    exchange.status = response.status_code
                    exchange.response_headers = list(response.headers.items())
                    exchange.response_body = self._read_capped(response, started)
                finally:
                    response.close()
            except httpx.LocalProtocolError:
                raise  # the suite built an invalid request: an error in the suite, not in the target
            except httpx.HTTPError as error:
                if caused_by_the_suite(error):
                    raise SuiteTransportError(
                        f"{method} {self.redact(url)}: the suite's own socket failed under it: "
                        f"{type(error).__name__}: {self.redact(str(error))}"
                    ) from None
                exchange.error = f"{type(error).__name__}: {self.redact(str(error)) or 'no detail'}"
            finally:
                exchange.elapsed = time.monotonic() - started
                with self.count_lock:
                    self.waited += exchange.elapsed
        with self.count_lock:
            if exchange.error:
                self.consecutive_failures += 1
                self.last_failure = exchange.error
            else:
                self.consecutive_failures = 0
        if exchange.error:
            raise TargetError(f"{method} {self.redact(url)}: no usable response: {exchange.error}")
        for observe in self.observers:
            observe(exchange)
        return exchange

    def _send_once_more_if_dropped(self, http: httpx.Client, request: httpx.Request) -> httpx.Response:
        """A request the server dropped before answering (``dropped_before_answering``) is sent once
        more, on a new connection. Unpause and pause are idempotent in effect, so the second send
        changes nothing a first answered one would not; a second drop, or a reset mid-answer, is
        the target's (TargetError)."""
        try:
            return http.send(request, stream=True)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
            if not dropped_before_answering(error):
                raise
            return http.send(request, stream=True)

    def _read_capped(self, response: httpx.Response, started: float) -> bytes:
        """The body, refused beyond ``max_body`` bytes or past the request's total deadline."""
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_body:
                raise httpx.DecodingError(f"body larger than the {self.max_body}-byte cap")
            if time.monotonic() - started > self.timeout:
                raise httpx.ReadTimeout(f"the whole response took more than {self.timeout:g} s")
            chunks.append(chunk)
        return b"".join(chunks)

    def _shared_until(self) -> float:
        """Epoch seconds until which another worker's 429 holds the run (0 when none)."""
        if self.shared_pause is None:
            return 0.0
        try:
            return float(self.shared_pause.read_text() or 0)
        except (OSError, ValueError):
            return 0.0

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def close(self) -> None:
        self.connections.close()
        self.http.close()


def request_kind(method: str, url: str) -> str:
    """unpause, pause, read (GET /ad_groups/{id}) or other: how the run's requests are counted."""
    path = url.split("?", 1)[0].rstrip("/")
    if method == "POST" and path.endswith("/unpause"):
        return "unpause"
    if method == "POST" and path.endswith("/pause"):
        return "pause"
    if method == "GET" and path.rsplit("/", 2)[-2:-1] == ["ad_groups"]:
        return "read"
    return "other"


def _retry_after(exchange: Exchange) -> float | None:
    """Seconds to wait before sending the request again, or None: not a "not now" answer."""
    if exchange.status not in RETRIED_STATUSES:
        return None
    value = exchange.header("retry-after")
    if value is None and exchange.status == 503:
        return None
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:  # an HTTP-date (RFC 9110 §10.2.3), read against the answer's own Date
        try:
            until, now = parsedate_to_datetime(value), parsedate_to_datetime(exchange.header("date") or "")
            seconds = (until - now).total_seconds()
        except (TypeError, ValueError, IndexError):
            return 1.0  # no Date to read it against, or not a date: a second
    if not math.isfinite(seconds) or seconds > MAX_RETRY_AFTER:
        return None
    return max(seconds, 0.0)
