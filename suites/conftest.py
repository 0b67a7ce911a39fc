"""Fixtures of the suites alone (the plugin, conformance/plugin, gives the target, its client,
the versions and the body rules to parametrize over)."""

from __future__ import annotations

import pytest


@pytest.fixture
def use_pause(target) -> None:
    if not target.use_pause:
        pytest.skip("needs POST /ad_groups/{id}/pause as set-up, and --no-use-pause forbids it")
