"""What one injection rule is: the vocabulary the rule table (`rules.py`) is written in."""

from __future__ import annotations

import re

KINDS: tuple[str, ...] = (
    "role_override",
    "roleplay_jailbreak",
    "prompt_extraction",
    "fake_authority",
    "price_manipulation",
    "obfuscated",
    "off_topic_harmful",
)
VIEWS = ("zh", "en", "raw")


def compile_rx(pattern: str) -> re.Pattern[str]:
    """Every injection pattern is compiled so, with `.` crossing line breaks (a payload may span lines)."""
    return re.compile(pattern, re.S)


class Rule:
    """One attack shape: `pattern` searched in the `view` of a message ("zh": the Chinese view, no spaces or
    punctuation; "en": the English view; "raw": the canonical text, punctuation kept). The rule does not fire
    when `unless` is found in the same view (only around the match when `near`: a question elsewhere in the
    message must not excuse it) or when `unless_after` matches right after the match."""

    __slots__ = ("kind", "name", "near", "pattern", "unless", "unless_after", "view")

    def __init__(
        self,
        kind: str,
        view: str,
        pattern: str,
        name: str,
        unless: str | None = None,
        unless_after: str | None = None,
        near: bool = False,
    ) -> None:
        if kind not in KINDS or view not in VIEWS:
            raise ValueError(f"rule {name}: unknown kind {kind!r} or view {view!r}")
        self.kind = kind
        self.view = view
        self.name = name
        self.pattern = compile_rx(pattern)
        self.unless = compile_rx(unless) if unless is not None else None
        self.unless_after = compile_rx(unless_after) if unless_after is not None else None
        self.near = near

    def __repr__(self) -> str:
        return f"Rule({self.kind!r}, {self.view!r}, {self.name!r})"
