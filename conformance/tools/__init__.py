"""Tools over whole suite runs: the mutation score over the mock's fault catalogue."""
