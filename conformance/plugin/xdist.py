"""pytest-xdist: property tests sharded over the workers, every other test on one worker, the
census's facts and the shared Retry-After file handed to each worker, and each worker's totals
(requests, coverage, drift) handed back at its end through ``workeroutput``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from conformance.plugin.keys import CENSUS_FACTS, PAUSE_FILE, TARGET

WORKER_TOTALS = pytest.StashKey[dict]()  # on the controller: worker id -> its totals at its end


def is_worker(config: pytest.Config) -> bool:
    """An xdist worker (xdist.is_xdist_worker asks the same of a request or session)."""
    return hasattr(config, "workerinput")


def worker_count(config: pytest.Config) -> int:
    """xdist workers in this run, 1 without xdist (every worker collects the same tests). From
    the worker's own config, not the environment: a suite run started by a test that itself runs
    under xdist inherits PYTEST_XDIST_WORKER_COUNT without being a worker."""
    return int(config.workerinput["workercount"]) if is_worker(config) else 1


def process_name(config: pytest.Config) -> str:
    """ "main", or the xdist worker's id (gw0, gw1…)."""
    return str(config.workerinput["workerid"]) if is_worker(config) else "main"


def shared_input(config: pytest.Config, key: str):
    """What the controller handed this worker under ``key`` (None outside a worker)."""
    return config.workerinput.get(key) if is_worker(config) else None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist, on the controller, per worker: the file through which workers share a Retry-After."""
    config = node.config
    if PAUSE_FILE not in config.stash:
        scratch = Path(tempfile.mkdtemp(prefix="conformance-"))
        config.stash[PAUSE_FILE] = scratch / "retry-after"
    node.workerinput["conformance_pause_file"] = str(config.stash[PAUSE_FILE])
    # the run's --concurrency as slots every worker's requests take (one set per target)
    scratch, concurrency = config.stash[PAUSE_FILE].parent, config.stash[TARGET].concurrency
    node.workerinput["conformance_slots"] = {"target": str(scratch / "slots"), "count": concurrency}
    node.workerinput["conformance_compare_slots"] = {
        "target": str(scratch / "compare-slots"),
        "count": concurrency,
    }
    facts = config.stash.get(CENSUS_FACTS, None)
    if facts is not None:
        check = facts["calibration"]
        node.workerinput["conformance_census"] = {
            "reads": facts["reads"],
            "calibration": None
            if check is None
            else [check.trusted, check.how, check.offset, check.refuses_noop],
            "statuses": facts["statuses"],
            "left_out": facts.get("left_out", []),
            "watched": facts.get("watched", []),
            "neighbours": facts.get("neighbours", []),
        }


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    count = worker_count(metafunc.config)
    if "run_property" in metafunc.fixturenames and count > 1:
        shards = [(index, count) for index in range(count)]
        metafunc.parametrize("property_shard", shards, ids=[f"shard{i + 1}of{count}" for i, _ in shards])


@pytest.fixture
def property_shard() -> tuple[int, int]:
    """(index, count): the part of a property-based test's cases this item runs; (0, 1) is all."""
    return (0, 1)


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the xdist_group marks added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if worker_count(config) == 1:
        return
    for item in items:
        if "run_property" not in getattr(item, "fixturenames", ()):
            # with --dist loadgroup every test but the property shards runs on one worker, in
            # order; against a shared target the shards use other ad groups (Target.split_for_workers)
            item.add_marker(pytest.mark.xdist_group("examples"))


def refuse_unsafe_distribution(config: pytest.Config) -> None:
    """xdist against one shared target is safe only as Target.split_for_workers arranges it:
    every example test on one worker (--dist loadgroup) and at least one group for each half."""
    target = config.stash[TARGET]
    workers = config.getoption("numprocesses", None) or 0
    if workers <= 1 or target.embedded or target.dry_run:
        return
    if config.getoption("dist", "no") != "loadgroup":
        raise pytest.UsageError(
            f"-n {workers} against --base-url needs --dist loadgroup: the example tests pause ad groups "
            "of the shared target and must run on one worker, in order"
        )
    if len(target.ad_group_ids) < 2:
        raise pytest.UsageError(
            f"-n {workers} against --base-url needs at least two --ad-group-id: the example tests "
            "pause one half of them, the property-based tests on every worker unpause the other"
        )


def hand_back(config: pytest.Config, totals: dict) -> None:
    """On a worker, at its end: its totals, which the controller reads in pytest_testnodedown."""
    if is_worker(config):
        config.workeroutput["conformance_totals"] = totals


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    totals = getattr(node, "workeroutput", {}).get("conformance_totals")
    if totals is not None:
        node.config.stash.setdefault(WORKER_TOTALS, {})[node.workerinput["workerid"]] = totals
