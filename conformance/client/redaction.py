"""Secrets out of everything the suite shows: every secret and every fragment of one redacted, and
credential headers shown by their scheme alone."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

REDACTED = "[REDACTED]"


FRAGMENT = 6  # characters: any run this long that also occurs in a secret is a credential fragment


class Redactor:
    """Replaces every secret, and every fragment of one, wherever it appears, by [REDACTED].

    The suite sends values derived from the token (the token minus its last character, with a
    suffix, without its scheme), and a server may echo any of them, or a slice of one: so every run
    of six or more characters that also occurs in a secret is redacted, not only the exact secret.
    A secret shorter than six characters is redacted where it appears whole. Case is ignored: the
    suite also sends the token in other case (a near-miss a careless comparison accepts)."""

    def __init__(self, secrets: Iterable[str] = (), variables: dict[str, str] | None = None):
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        # secret -> the environment variable a user holds it in (a curl line names it instead)
        self.variables = {secret: name for secret, name in (variables or {}).items() if secret}
        fragments = sorted(
            {secret[i : i + FRAGMENT] for secret in self.secrets for i in range(len(secret) - FRAGMENT + 1)}
        )
        self.whole = (
            re.compile("|".join(map(re.escape, self.secrets)), re.IGNORECASE) if self.secrets else None
        )
        # a lookahead finds every start, overlapping ones included, at the regex engine's speed
        self.pattern = (
            re.compile("(?=(" + "|".join(map(re.escape, fragments)) + "))", re.IGNORECASE)
            if fragments
            else None
        )

    def __call__(self, text: str) -> str:
        if self.whole is not None:
            text = self.whole.sub(REDACTED, text)
        if self.pattern is None:
            return text
        spans: list[list[int]] = []  # merged [start, stop) ranges covered by some fragment
        for match in self.pattern.finditer(text):
            start = match.start()
            if spans and start <= spans[-1][1]:
                spans[-1][1] = start + FRAGMENT
            else:
                spans.append([start, start + FRAGMENT])
        for start, stop in reversed(spans):
            text = text[:start] + REDACTED + text[stop:]
        return text


def shell_header(name: str, value: str, redact: Redactor) -> str:
    """A request header as a curl argument: a credential that is exactly a secret the user holds in
    an environment variable is written as that variable (in double quotes, so the shell expands it
    and the line reruns); any other credential is redacted."""
    scheme, _, credentials = value.partition(" ")
    variable = redact.variables.get(credentials or value) if name.lower() in SECRET_HEADERS else None
    if variable is not None and re.fullmatch(r"[A-Za-z0-9-]+", name) and re.fullmatch(r"[A-Za-z]*", scheme):
        return f'"{name}: {scheme + " " if credentials else ""}${variable}"'
    return shlex.quote(redact(f"{name}: {shown_header(name, value)}"))


SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def shown_header(name: str, value: str) -> str:
    """A request header as reports show it: credentials never, whatever they are (even a wrong or
    truncated token, which is still most of the secret); only the scheme stays visible."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, credentials = value.partition(" ")
    if not credentials:
        return REDACTED if value else value
    return f"{scheme} {REDACTED}"
