"""How a conformance test reads in Allure: its place in the tree (version, area, rule), its title
(the rule as a statement), its description (each rule it judges, quoted), and a failing test's
story (the rule it broke)."""

from __future__ import annotations

import allure
import pytest

from conformance.contract import rules
from conformance.plugin.failures import rule_ids_of, version_of


def label(item: pytest.Item) -> None:
    """Allure grouping: epic = API version, feature = area, story = rule."""
    catalogue = rules.catalogue()
    ids = rule_ids_of(item)
    version = version_of(item) or "all versions"
    allure.dynamic.epic(f"API {version}")
    # the first rule a test names is what it is about; the others are judged along the way
    area = item.get_closest_marker("area")
    allure.dynamic.feature(area.args[0] if area else catalogue[ids[0]].area if ids else "fuzz")
    # the story (one per test, so every test is counted once in the tree) waits for the verdict
    # (tell_the_verdict); all its rules are tags
    allure.dynamic.tag(*dict.fromkeys([*ids, *(catalogue[rule_id].level for rule_id in ids)]))
    # the pages report.py writes beside index.html: which documented cases a body rule was judged
    # on, and what the version a versioning rule pins changed
    if any(rule_id.startswith(("SCHEMA-", "INV-")) for rule_id in ids):
        allure.dynamic.link("response-coverage.html", name="Response coverage: the branches the bodies hit")
    if any(rule_id.startswith("VER-") for rule_id in ids):
        allure.dynamic.link("version-changelog.html", name="Version changelog")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A conformance test's Allure title and description, set once allure-pytest's set-up has
    named it by its function and described it by its docstring: the rule it is about as a
    statement, and each rule it judges with its quote."""
    title = allure_title(item)
    if title is None:
        return
    catalogue = rules.catalogue()
    allure.dynamic.title(title)
    allure.dynamic.description(
        "\n\n".join(
            f"**{rule.level} {rule.id}**: {rule.text}\n\n> {rule.quote}\n\n({rule.source})"
            for rule in (catalogue[rule_id] for rule_id in rule_ids_of(item))
        )
    )


def allure_title(item: pytest.Item, broken: list[str] = ()) -> str | None:
    """The title a conformance test gets (None: allure-pytest's own, the test's name): the rule it
    broke, where it broke one, else the first it declares; the matrix finds its page by it."""
    ids = rule_ids_of(item)
    if not ids or "api" not in getattr(item, "fixturenames", ()):
        return None
    return title_of(item, rules.catalogue()[(broken or ids)[0]], version_of(item) or "all versions")


def title_of(item: pytest.Item, rule: rules.Rule, version: str) -> str:
    """A test's Allure title: the rule it is about as a statement, on which version, and the case
    (its other parameters) where it has one."""
    callspec = getattr(item, "callspec", None)
    case = [str(value) for name, value in (callspec.params.items() if callspec else []) if name != "version"]
    case_text = f", case {'-'.join(case)}" if case and not all(value == rule.id for value in case) else ""
    # several tests judge one rule: each says how, in words (a body rule's test is the rule itself)
    how = (
        item.originalname.removeprefix("test_").replace("_", " ")
        if item.originalname != "test_body_rule"
        else ""
    )
    return f"{rule.text.rstrip('.')} ({rule.id}, {version}{case_text})" + (f" · {how}" if how else "")


def tell_the_verdict(item: pytest.Item, broken: list[str]) -> None:
    """A test's story, once its verdict is known: the rule it broke (a property test that judges
    every body rule and broke INV-CTR stands under INV-CTR, titled by it), else the first it declares."""
    ids = rule_ids_of(item)
    if not (broken or ids):
        return
    allure.dynamic.story((broken or ids)[0])
    if broken and broken[0] != (ids or [None])[0] and (title := allure_title(item, broken)) is not None:
        allure.dynamic.title(title)
