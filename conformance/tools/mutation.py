"""Mutation score of the suites over the mock's fault catalogue.

``python -m conformance.tools.mutation [--jobs N] [--profile NAME] [FAULT …]`` runs ``pytest suites``
once against the clean mock (it must pass) and once per fault (it must fail, or report a SHOULD
finding, naming every rule the fault is documented to break). Prints the table and writes
reports/mutation.json (mutation-<profile>.json for another profile); exits 1 below 100%.

With ``--profile`` the mock serves every fault under that correct variant (e.g. ``conflict``):
the clean run may show only the profile's own advisory findings, and a fault that is nothing but
the profile's reading (its rules are among those findings) is not applicable there. So is a
fault whose rules the profile declares unjudgeable under its reading (no 405 to drop Allow from)
when the run's verdicts show that no test judged them; a fault with some such rules is judged on
the rest. A rule a test did judge must be caught, declared or not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from conformance.contract import rules
from conformance.mock import profiles
from conformance.mock.faults import CATALOGUE
from conformance.tools.forkserver import ForkServers

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "mutation.json"


@dataclass
class Verdict:
    fault: str
    expected: list[str]
    exit_code: int
    caught: list[str] = field(default_factory=list)
    failed_tests: int = 0
    requests: int = 0
    seconds: float = 0.0
    first_detection_requests: int | None = None
    first_detection_seconds: float | None = None
    allowed: list[str] = field(default_factory=list)  # the profile's own advisory rules
    # expected rules that the profile declares its reading leaves nothing to judge on (no 405 to
    # drop Allow from) and that, as this run's verdicts show, no test judged
    unjudgeable: list[str] = field(default_factory=list)

    @property
    def applicable(self) -> bool:
        """False for a fault that is only the profile's own reading (e.g. 409 under conflict), or
        one whose every rule the profile leaves unjudgeable (no 405 to drop Allow from)."""
        if self.fault == "correct":
            return True
        return not set(self.expected) <= set(self.allowed) and not set(self.expected) <= set(self.unjudgeable)

    @property
    def detected(self) -> bool:
        """The clean run passes with at most the profile's findings; a faulty run names every rule
        the fault breaks and ends as it must: failed when one is a MUST (exit 1, or 6: failed, and an
        ad group the fault moved could not be put back, said loudly), else any of those or passed.
        A suite error (3), a usage error or any other status is no detection."""
        if self.fault == "correct":
            return self.exit_code == 0 and set(self.caught) <= set(self.allowed)
        catalogue = rules.catalogue()
        must = any(catalogue[rule].blocking for rule in set(self.expected) - set(self.unjudgeable))
        judgeable = set(self.expected) - set(self.unjudgeable)
        return judgeable <= set(self.caught) and self.exit_code in ((1, 6) if must else (0, 1, 6))

    @property
    def advisory_only(self) -> bool:
        """Caught only through SHOULD rules: detected as findings, the run does not fail."""
        catalogue = rules.catalogue()
        return bool(self.expected) and all(not catalogue[rule].blocking for rule in self.expected)


def suite_command(*args: str, profile: str = "verdict", python: str = sys.executable) -> list[str]:
    """``pytest suites`` as a quiet subprocess: no cache, no header, the project's addopts
    replaced, and a hypothesis profile without shrinking (the verdict matters, not the example)."""
    return [
        python,
        "-m",
        "pytest",
        "suites",
        "-q",
        "-p",
        "no:cacheprovider",
        "--no-header",
        "-o",
        "addopts=--strict-markers",
        f"--hypothesis-profile={profile}",
        *args,
    ]


def run_suite(
    *args: str, timeout: float | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``suite_command(*args)`` run to its end from the project root, output captured."""
    return subprocess.run(
        suite_command(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def run_suites(
    fault: str | None,
    extra: list[str],
    profile: str = "default",
    by_rule: bool = False,
    servers: ForkServers | None = None,
) -> Verdict:
    """One suite run against ``fault`` (None: the clean mock). ``by_rule``: only the tests that judge
    the fault's rules (``--rule``), stopped once each is broken (``--stop-when-broken``), and the
    whole suite again where they miss it, so the verdict is the whole suite's, in a fraction of the
    time. ``servers``: the run forked from a process that
    imported everything once (conformance.tools.forkserver), not a fresh interpreter."""
    if by_rule and fault:
        rule_args = [*(f"--rule={r}" for r in CATALOGUE[fault].rules), "--stop-when-broken"]
        narrowed = run_suites(fault, [*extra, *rule_args], profile, servers=servers)
        if not narrowed.applicable or narrowed.detected:
            return narrowed
    with tempfile.TemporaryDirectory() as scratch:
        verdicts_path = Path(scratch) / "verdicts.json"
        fault_args = [f"--mock-fault={fault}"] if fault else []
        fault_args += [f"--mock-profile={profile}"] if profile != "default" else []
        started = time.monotonic()
        args = [f"--verdicts-json={verdicts_path}", *extra, *fault_args]
        completed = servers.run(suite_command(*args)[3:]) if servers is not None else run_suite(*args)
        seconds = time.monotonic() - started
        if not verdicts_path.exists():
            raise RuntimeError(
                f"suite run for {fault or 'correct'} wrote no verdicts:\n{completed.stdout[-3000:]}"
                f"\n{completed.stderr[-3000:]}"
            )
        data = json.loads(verdicts_path.read_text())
    caught = set()
    first = None
    for outcome in data["outcomes"]:
        if outcome["rules"] or outcome["outcome"] == "failed":
            caught |= set(outcome["rules"])
            first = first or outcome
    caught |= {finding["rule"] for finding in data["findings"]}
    judged = {
        rule
        for outcome in data["outcomes"]
        for rule in outcome["declared"]
        if rule not in outcome.get("not_judged", [])
    }
    name = fault or "correct"
    expected = list(CATALOGUE[fault].rules) if fault else []
    return Verdict(
        fault=name,
        expected=expected,
        exit_code=completed.returncode,
        caught=sorted(caught),
        failed_tests=sum(o["outcome"] in ("failed", "xfailed") for o in data["outcomes"]),
        requests=data["requests"],
        seconds=round(seconds, 2),
        first_detection_requests=first.get("requests_so_far") if first else None,
        first_detection_seconds=first.get("seconds_so_far") if first else None,
        allowed=sorted(profiles.CATALOGUE[profile].advisory),
        unjudgeable=sorted(set(expected) & set(profiles.CATALOGUE[profile].unjudgeable) - judged),
    )


def evaluate(
    faults: list[str | None],
    jobs: int = 1,
    extra: list[str] | None = None,
    profile: str = "default",
    by_rule: bool = False,
    servers: ForkServers | None = None,
) -> list[Verdict]:
    """Run the suites once per fault (None: the clean mock), ``jobs`` runs at a time, forked from
    ``servers`` where given (conformance.tools.forkserver: one server per calling thread)."""

    def judge(fault: str | None) -> Verdict:
        return run_suites(fault, extra or [], profile, by_rule, servers)

    if jobs <= 1:  # in the calling thread, which keeps its fork server for the next call
        return [judge(fault) for fault in faults]
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(judge, faults))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.tools.mutation", description=__doc__)
    parser.add_argument("faults", nargs="*", help="faults to run (default: the whole catalogue)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--profile", default="default", choices=list(profiles.CATALOGUE), help="the mock's correct variant"
    )
    parser.add_argument(
        "--by-rule",
        action="store_true",
        help="run each fault with only the tests that judge its rules (--rule), stopped once they are broken, "
        "whole where they miss it: "
        "the same score, its requests and times those of the narrowed runs",
    )
    parser.add_argument(
        "--fork",
        action="store_true",
        help="fork each run from a process that imported pytest and the suite once (POSIX; --assert=plain)",
    )
    args, extra = parser.parse_known_args(argv)
    faults = args.faults or list(CATALOGUE)
    unknown = [f for f in faults if f not in CATALOGUE]
    if unknown:
        parser.error(f"not in the fault catalogue: {', '.join(unknown)}")
    started = time.monotonic()
    with ForkServers(ROOT) if args.fork else contextlib.nullcontext() as servers:
        verdicts = evaluate(
            [None, *faults],
            jobs=args.jobs,
            extra=extra,
            profile=args.profile,
            by_rule=args.by_rule,
            servers=servers,
        )
    clean, *mutants = verdicts
    applicable = [v for v in mutants if v.applicable]
    score = sum(v.detected for v in applicable) / len(applicable) if applicable else 1.0
    print(f"{'fault':34} {'detected':9} {'requests':>8} {'to 1st':>7} {'secs':>6}  rules caught (expected)")
    for verdict in verdicts:
        mark = ("yes" if verdict.detected else "NO") if verdict.applicable else "n/a"
        print(
            f"{verdict.fault:34} {mark:9} {verdict.requests:8} {verdict.first_detection_requests or '-':>7} "
            f"{verdict.seconds:6.1f}  {', '.join(verdict.caught) or '-'} ({', '.join(verdict.expected) or 'none'})"
        )
    advisory_only = [v.fault for v in mutants if v.advisory_only and v.applicable]
    not_applicable = [v.fault for v in mutants if not v.applicable]
    narrowed = [f"{v.fault} ({', '.join(v.unjudgeable)})" for v in mutants if v.applicable and v.unjudgeable]
    print(
        f"caught only by SHOULD rules (advisory findings, the run still passes): {', '.join(advisory_only) or '-'}"
    )
    if not_applicable:
        print(
            f"not applicable under profile {args.profile} (the profile's own reading, or rules its reading "
            f"leaves nothing to judge on, and no test judged): {', '.join(not_applicable)}"
        )
    if narrowed:
        print(
            f"judged on the rest of their rules (no test judged these: the profile leaves nothing to judge them on): {', '.join(narrowed)}"
        )
    print(
        f"profile {args.profile}: clean mock passes: {'yes' if clean.detected else 'NO'}; mutation score "
        f"{score:.0%} ({sum(v.detected for v in applicable)}/{len(applicable)}) in {time.monotonic() - started:.0f} s"
    )
    report = REPORT if args.profile == "default" else REPORT.with_name(f"mutation-{args.profile}.json")
    report.parent.mkdir(exist_ok=True)
    report.write_text(
        json.dumps(
            {
                "profile": args.profile,
                "score": score,
                "clean_passes": clean.detected,
                "advisory_only": advisory_only,
                "not_applicable": not_applicable,
                "unjudgeable": {v.fault: v.unjudgeable for v in mutants if v.unjudgeable},
                "verdicts": [
                    asdict(v) | {"detected": v.detected, "applicable": v.applicable} for v in verdicts
                ],
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return 0 if clean.detected and score == 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
