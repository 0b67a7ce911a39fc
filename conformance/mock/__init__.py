"""The embedded mock: a faithful, stateful implementation of unpause, with a fault catalogue."""
