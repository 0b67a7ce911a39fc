"""``python -m conformance.command``: the ``unpause-conformance`` command without its script."""

from conformance.command import main

raise SystemExit(main())
