"""Verdicts on what the target answered: the envelope and body checks (rules with their quotes),
integrity, waivers, response coverage and drift between two targets."""
