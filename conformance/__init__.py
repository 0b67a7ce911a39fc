"""Contract-testing and conformance suite for POST /ad_groups/{id}/unpause."""

__version__ = "0.1.0"
