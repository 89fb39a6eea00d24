"""Applying rules to views: the one loop both the message check and the passage check use."""

from __future__ import annotations

from collections.abc import Sequence

from kefu.guard.injection.rule import Rule, compile_rx
from kefu.guard.injection.rules import GATES
from kefu.guard.injection.views import View

# A reversed, rot13 or decoded view without any of its scope's gate words is skipped: read backwards, benign text
# is noise, and scanning it would cost as much as the plain views.
_GATES = {scope: compile_rx(p) for scope, p in GATES.items()}


def rule_hits(views: Sequence[View], rules: Sequence[Rule]) -> list[tuple[Rule, View]]:
    """The first rule that fires on each view (one hit a view is enough), with the view it fired on."""
    hits: list[tuple[Rule, View]] = []
    for v in views:
        if not v.text or (v.obfuscated and not _GATES[v.scope].search(v.text)):
            continue
        for r in rules:
            if r.view != v.scope or (v.obfuscated and r.view == "raw" and r.kind == "price_manipulation"):
                continue
            m = r.pattern.search(v.text)
            if m is None:
                continue
            if r.unless is not None:
                where = v.text[max(0, m.start() - 3) : m.end() + 15] if r.near else v.text
                if r.unless.search(where):
                    continue
            if r.unless_after is not None and r.unless_after.search(v.text[m.end() : m.end() + 40]):
                continue
            hits.append((r, v))
            break
    return hits
