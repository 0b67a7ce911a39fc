"""``python -m conformance.report run -- [pytest args]``: the conformance run (conformance.report.cli)."""

from conformance.report.cli import main

raise SystemExit(main())
