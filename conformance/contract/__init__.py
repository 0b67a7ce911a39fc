"""The contract, as data and its readings: the dated schemas, the rule catalogue, the invariants,
the endpoints, the OpenAPI document built from them, the version changelog and its guard. The
bottom layer: it imports nothing else of the suite."""
