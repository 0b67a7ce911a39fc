"""Where the package's data is: the schemas and rule catalogue, the suites, the report generator's manifest.

An installed wheel carries copies under ``conformance/data/``; in a checkout (an editable install)
the same names are symlinks to the repository's own ``schemas/``, ``suites/``, ``package.json``, so
both run the same files. ``CONFORMANCE_SCHEMAS_DIR`` points the schemas elsewhere, for development.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

# a real folder in a wheel, not a zip: every user of these paths reads them as files
DATA = Path(str(resources.files("conformance") / "data"))
SCHEMAS = Path(os.environ.get("CONFORMANCE_SCHEMAS_DIR") or (DATA / "schemas").resolve())
SUITES = (DATA / "suites").resolve()
# the installed run's pytest settings; its folder is the run's rootdir (node ids read suites/…)
PYTEST_INI = DATA / "pytest.ini"
REPORT_MANIFEST = DATA / "report" / "package.json"


def checkout() -> Path | None:
    """The repository this package runs from, when it is a checkout (its data are symlinks), else None."""
    if not REPORT_MANIFEST.is_symlink():
        return None
    return REPORT_MANIFEST.resolve().parent
