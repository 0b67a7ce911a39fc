"""The stash keys every part of the plugin shares: what one process knows of the run."""

from __future__ import annotations

from pathlib import Path

import pytest

TARGET = pytest.StashKey["Target"]()
AHEAD = pytest.StashKey["Ahead"]()  # the property-based tests running beside the example tests
VERDICTS = pytest.StashKey["Verdicts"]()
SEED = pytest.StashKey[int]()
CLIENT = pytest.StashKey["ApiClient"]()
MOCK = pytest.StashKey["MockServer"]()  # the embedded mock, in each process that runs tests against it
STARTED = pytest.StashKey[float]()  # monotonic
STARTED_AT = pytest.StashKey["datetime"]()  # the wall clock, for the artifacts
BEFORE = pytest.StashKey[dict]()  # group id -> state.Before, in the process that took the census
# what the census learned of the target, for the side-effect checks' observer (workers get a copy):
# {"reads": bool | None, "calibration": Calibration | None, "statuses": {group id: status}}
CENSUS_FACTS = pytest.StashKey[dict]()
COVERAGE = pytest.StashKey["coverage.Recorder"]()
RUN_COVERAGE = pytest.StashKey[dict]()  # the whole run's, merged where the files are written
COMPARE_CLIENT = pytest.StashKey["ApiClient"]()
COMPARE_BEFORE = pytest.StashKey[dict]()  # its groups' status before the run
MIRROR = pytest.StashKey["drift.Mirror"]()
RUN_DRIFT = pytest.StashKey[dict]()
RUN_REQUESTS = pytest.StashKey[dict]()  # the whole run's requests by kind, summed where the files are written
PAUSE_FILE = pytest.StashKey[Path]()  # through which xdist workers share a Retry-After
OUTCOMES = pytest.StashKey[list]()
FINDINGS = pytest.StashKey[list]()
STOPPED_WHEN_BROKEN = pytest.StashKey[bool]()  # --stop-when-broken ended the run early
NOTES = pytest.StashKey[list]()  # census, not exercised, restored: {"kind", "group", "text"}
WAIVERS = pytest.StashKey[list]()  # waivers.Waiver, from --waivers (every process reads the file)
