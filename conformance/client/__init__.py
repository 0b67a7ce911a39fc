"""Talking to the target: the HTTP client (retries, breaker, budget, per-test record), strict JSON,
redaction of every secret, the slots shared between processes. Imports only the contract."""
