"""A model-based test of one ad group's state: hypothesis explores sequences of pauses, unpauses
(in each version and without the header) and bursts of concurrent unpauses nobody wrote down, and
shrinks a failure to the shortest sequence that shows it.

The model is the group's status (paused or active) and the answers the docs allow in each state:
unpausing a paused group answers 200 and active (BEH-ACTIVATES); unpausing an active one answers
200 with the status unchanged or a refusal (409, 422) with the envelope (BEH-NOT-PAUSED); a burst
answers 200 or a refusal each (BEH-CONCURRENT); pause is set-up, trusted when it answers 200
'paused' or a refusal. After every
step: the status agrees with the model, the id is echoed (BEH-ID-ECHO), created_at never moves
(BEH-CREATED-STABLE), and every version's body since the last pause agrees (XVER-CONSISTENT).
"""

from __future__ import annotations

import hypothesis
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from conformance.adgroups import state
from conformance.client.http import Exchange
from conformance.contract import invariants, rules, schemas
from conformance.contract.endpoints import pause_path, unpause_path, version_header
from conformance.judge.checks import body_of, disagreements, json_violations, violation
from conformance.runner import engines

PAUSED, ACTIVE = "paused", "active"


def machine_for(api, verdicts, group_id: str, versions: list[str], memory: engines.Memory):
    class UnpauseMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.status: str | None = None  # the model
            self.steps: tuple = ()
            self.created_at = None  # the first instant seen
            self.since_pause: dict[str, dict] = {}  # version -> last 200 body since the last pause

        def step(self, name: str, action) -> None:
            """Run one step of the sequence: a sequence seen failing fails again from memory
            (hypothesis replays the shortest one at the end), and past the shrink cap any other
            sends nothing and passes (engines.Memory)."""
            self.steps += (name,)
            memory.run(self.steps, action)

        def judge(self, found: list[rules.Violation], exchange: Exchange, what: str) -> None:
            sequence = " → ".join(self.steps)
            verdicts.judge(found, exchange, f"ad group {group_id}, after {sequence}: {what}", "all")

        def seen(self, version: str | None, body: dict) -> list[rules.Violation]:
            """The invariants on a 200 unpause body: id, created_at, and the other versions' bodies."""
            found = []
            if body.get("id") != group_id:
                found.append(violation("BEH-ID-ECHO", f"asked for {group_id}, got id {body.get('id')!r}"))
            created = invariants.instant(body.get("created_at"))
            if created is not None and self.created_at is not None and created != self.created_at:
                found.append(
                    violation(
                        "BEH-CREATED-STABLE",
                        f"created_at was {self.created_at.isoformat()}, now {body['created_at']}",
                    )
                )
            self.created_at = self.created_at or created
            name = version or schemas.registry_data()["default"]
            for other_name, other in self.since_pause.items():
                if other_name != name:
                    found += disagreements(
                        schemas.versions()[name],
                        body,
                        schemas.versions()[other_name],
                        other,
                        ("id", "status"),
                    )
            self.since_pause[name] = body
            return found

        @initialize()
        def start_active(self):
            """Every sequence starts from an active group and a 200 body of it (for created_at and the
            versions to agree with): an unpause, and where that is refused (already active, the
            conflict reading), a pause and an unpause."""

            def action():
                started = state.obtain(api, group_id, None, status_rule="BEH-ACTIVATES", may_pause=True)
                found = list(started.violations)
                body = started.body
                if body is not None and body.get("status") != ACTIVE:
                    found.append(violation("BEH-ACTIVATES", f"unpause reported {body.get('status')!r}"))
                elif body is not None:
                    found += self.seen(None, body)
                self.judge(found, started.shown, "unpause (start)")
                if started.exchange is None:
                    hypothesis.assume(False)  # no 200 to start from, and no rule broken: nothing to model
                self.status = ACTIVE

            self.step("unpause(start)", action)

        def teardown(self):
            """Every sequence ends with an unpause, judged like any: so the next one starts from an
            active group whatever this one did (sequences must not leak into each other), and a
            sequence ending in pauses still shows what the next unpause answers."""
            if self.status is None:
                return  # initialize did not finish: nothing to end

            def action():
                exchange = api.post(unpause_path(group_id), headers=api.auth)
                self.check_unpause(None, exchange, "unpause (end of the sequence)")

            self.step("unpause(no header)", action)

        @rule()
        def pause(self):
            def action():
                exchange = api.post(pause_path(group_id), headers=api.auth)
                reported = (body_of(exchange) or {}).get("status")
                found = json_violations(exchange)
                if state.refused(exchange):
                    found += state.conflict_violations(exchange)
                elif not (exchange.status == 200 and reported == PAUSED):
                    # pause is set-up, not the endpoint under test: a pause that does not pause ends
                    # the model (hypothesis drops the sequence), unless it broke a rule on the way
                    self.judge(found, exchange, "pause")
                    hypothesis.assume(False)
                self.judge(found, exchange, "pause")
                self.status, self.since_pause = PAUSED, {}

            self.step("pause", action)

        @rule(version=st.sampled_from([None, *versions]))
        def unpause(self, version):
            def action():
                exchange = api.post(unpause_path(group_id), headers={**api.auth, **version_header(version)})
                self.check_unpause(version, exchange, f"unpause ({version or 'no header'})")

            self.step(f"unpause({version or 'no header'})", action)

        def check_unpause(self, version: str | None, exchange: Exchange, what: str) -> None:
            body = body_of(exchange)
            reported = (body or {}).get("status")
            found = json_violations(exchange)
            if self.status == PAUSED:
                if exchange.status != 200:
                    found.append(
                        violation(
                            "BEH-ACTIVATES", f"the group was paused; unpause answered {exchange.status}"
                        )
                    )
                elif body is not None and reported != ACTIVE:
                    found.append(
                        violation("BEH-ACTIVATES", f"the group was paused; unpause reported {reported!r}")
                    )
            elif state.refused(exchange):
                found += state.conflict_violations(exchange)
            elif exchange.status != 200:
                found.append(
                    violation("BEH-NOT-PAUSED", f"the group was active; unpause answered {exchange.status}")
                )
            elif body is not None and reported != ACTIVE:
                found.append(
                    violation(
                        "BEH-NOT-PAUSED",
                        f"the group was active; unpause reported {reported!r}, not unchanged",
                    )
                )
            if exchange.status == 200 and body is not None:
                found += self.seen(version, body)
            self.judge(found, exchange, what)
            self.status = ACTIVE

        @rule(calls=st.integers(2, 8), version=st.sampled_from([None, *versions]))
        def burst(self, calls, version):
            def action():
                headers = {**api.auth, **version_header(version)}
                exchanges, found = state.burst(api, group_id, headers, calls)
                for exchange in exchanges:
                    found += json_violations(exchange)
                    if exchange.status != 200:
                        continue  # any other answer is the burst's verdict above
                    if (body_of(exchange) or {}).get("status") not in (ACTIVE, None):
                        found.append(
                            violation(
                                "BEH-CONCURRENT",
                                f"a concurrent unpause reported {body_of(exchange)['status']!r}",
                            )
                        )
                    elif body_of(exchange) is not None:
                        found += self.seen(version, body_of(exchange))
                if self.status == PAUSED and not any(e.status == 200 for e in exchanges):
                    found.append(
                        violation(
                            "BEH-CONCURRENT", f"none of {calls} unpauses of a paused group answered 200"
                        )
                    )
                shown = next((e for e in exchanges if e.status != 200 and not state.refused(e)), exchanges[0])
                self.judge(found, shown, f"{calls} concurrent unpauses ({version or 'no header'})")
                self.status = ACTIVE

            self.step(f"burst({calls}, {version or 'no header'})", action)

    return UnpauseMachine


@pytest.mark.rule(
    "BEH-ACTIVATES",
    "BEH-NOT-PAUSED",
    "BEH-CONCURRENT",
    "BEH-ID-ECHO",
    "BEH-CREATED-STABLE",
    "XVER-CONSISTENT",
)
@pytest.mark.area("state")
@pytest.mark.usefixtures("use_pause")
def test_state_machine(api, target, verdicts, run_state_machines):
    """Sequences of pause, unpause (each version, and none) and bursts, checked against the model
    after every step; a failure shows the shortest sequence (run_state_machines: one machine per
    ad group that can be paused, up to --concurrency of them at once)."""
    run_state_machines(lambda group_id, memory: machine_for(api, verdicts, group_id, target.versions, memory))
