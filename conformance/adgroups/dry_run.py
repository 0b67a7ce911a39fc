"""What ``--dry-run`` prints: per ad group, every state-changing request the selected tests, the
census and the restore may send; nothing is sent."""

from __future__ import annotations


def plan(
    base_url: str,
    group_ids: list[str],
    versions: list[str],
    test_files: set[str],
    declared: dict[str, str],
    use_pause: bool,
    restore: bool,
    concurrency: int,
    foreign_ids: list[str] = (),
) -> list[str]:
    """What ``--dry-run`` prints: per ad group, the state-changing requests the selected tests may
    send (how many depends on the answers), with the census's and the restore's."""
    header = ", ".join(["no header", *versions])
    lines = [
        f"dry run: no request sent. Against {base_url}, the run would send, per ad group:",
        "  census (before any test): GET /ad_groups/{id} (changes nothing); only where the target has no "
        "such read: POST /ad_groups/{id}/unpause (no header), and on the first group it finds active a "
        "second unpause, a pause and an unpause (to check what updated_at tells)"
        if restore
        else "  census: none (--no-restore)",
    ]
    state_tests = {"test_state.py", "test_state_machine.py"} & test_files
    for number, group_id in enumerate(group_ids):
        lines.append(
            f"{group_id}"
            + (f" (declared {declared[group_id]}: no census request)" if group_id in declared else "")
        )
        if test_files & {
            "test_body_rules.py",
            "test_versioning.py",
            "test_state.py",
            "test_cross_version.py",
        }:
            lines.append(f"  POST /ad_groups/{group_id}/unpause, once per version asked ({header})")
            if use_pause:
                lines.append(
                    f"  POST /ad_groups/{group_id}/pause, then /unpause again, where an unpause is refused (409/422)"
                )
        if state_tests and use_pause:
            where = "this group" if number < concurrency else "this group, if the first ones cannot be paused"
            lines.append(
                f"  POST /ad_groups/{group_id}/pause and /unpause in sequences, bursts of 2-8 concurrent "
                f"unpauses (state tests, state machine: {where})"
            )
        if "test_refusals.py" in test_files and use_pause and number == 0:
            lines.append(
                f"  POST /ad_groups/{group_id}/pause, then every request the contract refuses sent at it "
                "(bad credentials, versions, methods; about 60, each answered 4xx by a correct target), then "
                "GET /ad_groups/{id} (or, without it, an unpause) to see it is still paused (side-effect "
                "checks: the next group instead, if this one cannot be paused)"
            )
        if "test_integrity.py" in test_files and use_pause and number == 0:
            lines.append(
                f"  POST /ad_groups/{group_id}/pause, then /unpause, once per version (its settings compared); "
                "then a pause and an unpause whose JSON body names title, budget, bid strategy, target cost "
                "and campaign, and a read (or, without it, an unpause) to see none was written (integrity "
                "checks: the next group instead, if this one cannot be paused)"
            )
        if "test_properties.py" in test_files:
            lines.append(f"  POST /ad_groups/{group_id}/unpause with generated headers (property tests)")
        if restore:
            lines.append(
                f"  at the end: POST /ad_groups/{group_id}/pause if it was paused before the run, /unpause if "
                "active (nothing if its status cannot change, or is unknown: then the run fails)"
            )
    if "test_authorization.py" in test_files and use_pause:
        lines += [
            "identities (test_authorization.py; each token proved first by a read, or an unpause of an id no "
            "account has, which changes nothing):",
            "  the first group that can be paused: paused with the run's token, then sent an unpause with "
            "--peer-api-token and with --read-only-api-token (each must be refused), observed still paused; "
            "unpaused with the run's token, then sent a pause with each (refused), read back still active",
        ]
    if "test_authorization.py" in test_files:
        lines += [
            f"  {group_id} (another account's): GET with --peer-api-token to learn its status, then with the "
            "run's token only a request that changes nothing even if wrongly allowed (an unpause if active, "
            "a pause if paused, else a GET), and the same to an id no account has"
            for group_id in foreign_ids
        ]
    return lines
