"""Response bodies parsed as strict JSON (RFC 8259), within bounds no hostile body can push past:
no NaN or Infinity, a nesting limit checked before the C parser runs, absurd integers as floats."""

from __future__ import annotations

import json
import re
from typing import Any


def _reject(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _int(digits: str) -> int | float:
    # Python refuses to turn more than 4,300 digits into an int; such a number is still a JSON
    # number (an absurd one, which the rules then judge), so it becomes a float (inf) instead
    return int(digits) if len(digits) <= 4000 else float(digits)


MAX_DEPTH = 64  # RFC 8259 §9 lets a parser limit nesting; an ad group body is < 10 deep


# a JSON string (skipped whole, escapes and all) or a bracket
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_raw_depth(text: str) -> None:
    """ValueError past MAX_DEPTH levels of nesting, found in the text itself: a hostile depth never
    reaches json.loads (100,000 levels recursed past what a worker thread's C stack holds, under a
    raised recursion limit, and aborted the interpreter). Counted only where there are enough
    brackets to be that deep, which no body of this API has."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(
                    f"JSON nested deeper than {MAX_DEPTH} levels (RFC 8259 §9 lets a parser set this limit)"
                )
        elif token in "]}":
            depth -= 1


def _check_depth(value: Any) -> None:
    """ValueError past MAX_DEPTH levels of nesting: deeper bodies would make every later reader
    (schema validation, repr, pretty-printing) recurse, and no body of this API is near it."""
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        level = [
            child
            for node in level
            if isinstance(node, (dict, list))
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
    raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels (RFC 8259 §9 lets a parser set this limit)")


def loads(body: bytes) -> Any:
    """The body as strict JSON; ValueError (UnicodeDecodeError is one) if it is not, or nests
    deeper than MAX_DEPTH."""
    text = body.decode("utf-8")
    _check_raw_depth(text)  # before the C parser, whose recursion a thread's stack may not hold
    try:
        value = json.loads(text, parse_constant=_reject, parse_int=_int)
    except RecursionError:
        raise ValueError(f"JSON nested too deeply to parse (over {MAX_DEPTH} levels)") from None
    _check_depth(value)
    return value


def duplicate_names(body: bytes) -> list[str]:
    """Member names an object of ``body`` (already accepted by ``loads``, so known shallow: the
    pairs hook deepens each level's C stack) carries more than once, in order of appearance."""
    duplicates: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict:
        seen: set[str] = set()
        duplicates.extend(name for name, _ in pairs if name in seen or seen.add(name))
        return dict(pairs)

    json.loads(body.decode("utf-8"), parse_constant=_reject, parse_int=_int, object_pairs_hook=pairs_hook)
    return duplicates
