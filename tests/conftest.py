"""Self-test fixtures: one embedded mock per session, and a plain httpx client to poke it."""

from __future__ import annotations

import httpx
import hypothesis
import pytest

from conformance.mock.server import MockServer

TOKEN = "selftest-token-3b1f0c"

# the self-tests' own hypothesis tests (the suite's profiles are the plugin's, for suites/ only):
# no deadline, as they send requests to a mock on a machine that may be busy
hypothesis.settings.register_profile("selftest", deadline=None, max_examples=50)
hypothesis.settings.load_profile("selftest")


@pytest.fixture(scope="session")
def mock():
    server = MockServer(TOKEN, seed=0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(mock):
    with httpx.Client(base_url=mock.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as http:
        yield http
