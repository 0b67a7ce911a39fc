"""Every ad group put back as the census found it after the run, verified where the target can be
read; what could not be put back, or not verified, said per group."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.adgroups.census import NOT_PAUSED, Before, LastSeen, read_fresh, reported_status
from conformance.adgroups.state import ACTIVE, PAUSED, refused
from conformance.client.http import ApiClient, SuiteTransportError, TargetError
from conformance.contract.endpoints import pause_path, unpause_path
from conformance.runner import engines


@dataclass
class Restored:
    group_id: str
    wanted: str
    ok: bool
    detail: str
    now: str | None = None  # the group's status after the restore, as far as the run knows
    verified: bool = False  # a read after the restore showed it

    def line(self) -> str:
        mark = "restored" if self.ok else "RESTORE FAILED"
        now = "" if self.ok else f"; now {self.now or 'unknown'}, as far as the run knows"
        return f"{mark}: {self.group_id} -> {self.wanted} ({self.detail}){now}"


def restore_all(
    api: ApiClient, before: dict[str, Before], concurrency: int = 1, last_seen: LastSeen | None = None
) -> list[Restored]:
    """Put every group back as the census found it: pause the ones that were paused, unpause the
    ones that were active or not paused (a test may have stopped between its pause and its
    unpause); a group read with GET is read again to verify it. A group whose status before is
    unknown is not touched: that, a failed request and a read that disagrees are failures."""

    def put_back(was: Before) -> Restored:
        group_id = was.group_id
        if was.untouched:
            return Restored(
                group_id, "as found", True, f"the run sent it nothing that changes state; {was.how}"
            )
        if was.status is None:
            return Restored(group_id, "unknown", False, f"not touched: {was.how}")
        if was.status == PAUSED:
            action, path, accept = "pause", pause_path(group_id), PAUSED
        elif was.status in (ACTIVE, NOT_PAUSED):
            action, path, accept = "unpause", unpause_path(group_id), ACTIVE if was.status == ACTIVE else None
        else:
            action = None
        detail, exchange = "no request: unpause and pause leave it as it is", None
        if action is not None:
            try:
                exchange = api.post(path, headers=api.auth)
            except (TargetError, SuiteTransportError) as error:
                return Restored(group_id, was.status, False, f"{action}: {error}")
            status = reported_status(exchange)
            if refused(exchange):
                detail = f"{action} refused ({exchange.status}): it already is"
            elif exchange.status == 200 and (accept is None or status == accept):
                detail = f"{action} answered 200, status {status!r}"
            else:
                return Restored(
                    group_id, was.status, False, f"{action} answered {exchange.status}, status {status!r}"
                )
        if was.read:  # read until the read shows the restore's write: a replica shows it late
            expect = was.status
            seen = last_seen.status.get(group_id) if last_seen is not None and exchange is None else None
            if seen in (ACTIVE, PAUSED):  # no write of ours to wait for: the run's last 200 said this
                expect = seen
            now, how, took = read_fresh(api, group_id, exchange, expect)
            if now != was.status or took is None:
                return Restored(group_id, was.status, False, f"{detail}, but the read after it: {how}", now)
            lag = f", the read showing it after {took:.1f} s" if took >= 0.1 else ""
            detail += f"{lag}, verified with GET"
        return Restored(group_id, was.status, True, detail, was.status, verified=was.read)

    restored = engines.run_all(put_back, before.values(), concurrency)
    for result in restored:
        if not result.ok and result.now is None and last_seen is not None:
            result.now = last_seen.status.get(result.group_id)
    return restored
