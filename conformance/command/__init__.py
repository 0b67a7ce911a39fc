"""``unpause-conformance``: the installed suite's one command (run, render, mock, the catalogues).

    unpause-conformance run [--reports DIR] [pytest options]   the suites, then every page (./run conformance)
    unpause-conformance render [--reports DIR]                  the pages of the last run again
    unpause-conformance mock [--port N] [--profile NAME] …      the standalone mock (unpause-mock)
    unpause-conformance --version | --list-faults | --list-profiles

``run`` takes every option ``./run conformance`` takes (``--base-url``, ``--api-token``, …), writes
the same reports and exits with the same codes: 0 passed, 1 a MUST rule broke, 3 a suite error,
4 a usage error, 6 an ad group not left as found.
"""

from __future__ import annotations

import os
import sys

import conformance

USAGE = __doc__.split("\n\n")[1]
USAGE_ERROR = 4  # as the suites' own usage errors: nothing was sent


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command, rest = (args[0], args[1:]) if args else ("--help", [])
    if command in ("-h", "--help", "help"):
        print(f"usage:\n{USAGE}")
        return 0
    if command in ("-V", "--version"):
        print(f"unpause-conformance {conformance.__version__}")
        return 0
    if command in ("--list-faults", "--list-profiles"):
        from conformance.mock.listing import listing

        chosen = {command, *rest}
        try:
            print(listing("--list-faults" in chosen, "--list-profiles" in chosen), flush=True)
        except BrokenPipeError:  # `| head` stopped reading: it has what it wanted, and no traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nor one as Python exits
        return 0
    if command == "mock":
        from conformance.mock.__main__ import main as mock

        return mock(rest)
    if command in ("run", "render"):
        from conformance.report import cli

        return cli.main(
            [command, "--", *rest],
            runner="unpause-conformance run",
            render_command="unpause-conformance render",
        )
    print(f"unpause-conformance: unknown command {command!r}\nusage:\n{USAGE}", file=sys.stderr)
    return USAGE_ERROR
