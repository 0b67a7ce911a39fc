"""Root conftest. The suite's plugin is not loaded here: it is the ``conformance`` pytest11 entry
point (conformance/plugin), which acts only on a run of suites/, so ``pytest tests`` runs the
self-tests without a target."""
