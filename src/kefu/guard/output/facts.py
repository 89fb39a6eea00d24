"""Facts: the normalised values that the sources (FAQ answers, passages) and the customer's own messages state, which a
reply's claims are compared with, and where a source mentions a policy. Cached per text: the same FAQ answers come
back turn after turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from kefu.guard.output.claims import find_emails, find_links, lowered, phone_digits, raw_claims
from kefu.guard.output.policy import policy_terms


@dataclass
class Facts:
    """Normalised values found in one text, by kind (policy terms are kept apart, in policy_facts)."""

    amounts: dict[str, set[int]] = field(default_factory=dict)  # in cents: exact sums and differences
    percents: set[float] = field(default_factory=set)
    dates: set[str] = field(default_factory=set)
    times: set[str] = field(default_factory=set)
    dur_points: set[float] = field(default_factory=set)  # stated durations and both ends of stated ranges
    dur_bounds: set[float] = field(default_factory=set)  # stated durations and upper ends: what "within N" may claim
    dur_ranges: set[tuple[float, float]] = field(default_factory=set)
    counts: set[str] = field(default_factory=set)
    links: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    bare_numbers: set[float] = field(default_factory=set)
    bare_cents: set[int] = field(default_factory=set)
    years: set[str] = field(default_factory=set)


class FactSet:
    """The facts of several texts, each field merged the first time it is read (most replies need few kinds)."""

    def __init__(self, parts: Sequence[Facts]) -> None:
        self._parts = parts

    def __getattr__(self, name: str) -> object:
        parts = self._parts
        value: object
        if name == "amounts":
            merged: dict[str, set[int]] = {}
            for p in parts:
                for cur, vals in p.amounts.items():
                    merged.setdefault(cur, set()).update(vals)
            value = merged
        elif len(parts) == 1:
            value = getattr(parts[0], name)
        else:
            value = set().union(*(getattr(p, name) for p in parts))
        setattr(self, name, value)  # later reads are plain attribute reads
        return value

    # For the type checker: the fields of Facts.
    if False:  # pragma: no cover
        amounts: dict[str, set[int]]
        percents: set[float]
        dates: set[str]
        times: set[str]
        dur_points: set[float]
        dur_bounds: set[float]
        dur_ranges: set[tuple[float, float]]
        counts: set[str]
        links: set[str]
        phones: set[str]
        emails: set[str]
        bare_numbers: set[float]
        bare_cents: set[int]
        years: set[str]


@lru_cache(maxsize=4096)
def text_facts(text: str) -> Facts:
    """Normalised facts of one source or customer text, cached: the same FAQ answers come back turn after turn."""
    f = Facts()
    low = lowered(text)
    runs: list[str] = []
    bare: list[tuple[int, float]] = []
    raw = raw_claims(low, runs, bare)
    if bare:
        bare = [(p, v) for p, v in bare if not any(r[1] <= p < r[2] for r in raw)]
    for kind, _s, _e, v in raw:
        if kind == "amount":
            cur, _, n = v.partition(":")
            f.amounts.setdefault(cur, set()).add(round(float(n) * 100))
        elif kind == "percent":
            p = float(v)
            f.percents.update((p, round(100 - p, 2)))
        elif kind == "date":
            (f.times if v.startswith("time:") else f.dates).add(v)
        elif kind == "duration":
            lo, _, hi = v.partition("-")
            f.dur_points.add(float(lo))
            if hi:
                f.dur_points.add(float(hi))
                f.dur_bounds.add(float(hi))
                f.dur_ranges.add((float(lo), float(hi)))
            else:
                f.dur_bounds.add(float(lo))
        elif kind == "count":
            f.counts.add(v)
        elif kind == "link":
            f.links.add(v)
        elif kind == "phone":
            f.phones.add(v)
        elif kind == "email":
            f.emails.add(v)
    for run in runs:
        d = phone_digits(run)
        if len(d) >= 5:
            f.phones.add(d)
    for _p, v in bare:
        f.bare_numbers.add(v)
        f.bare_cents.add(round(v * 100))
        if 1900 <= v <= 2099 and v == int(v):
            f.years.add(str(int(v)))
    return f


# Where a source states a policy: (lower-cased source, start, end), its clause read only if a reply needs it.
Where = tuple[str, int, int]


@lru_cache(maxsize=4096)
def policy_facts(text: str) -> dict[str, list[Where]]:
    """The policies a source mentions, each with where; whether the mention is negated is read on demand."""
    low = lowered(text)
    skip = [(r[1], r[2]) for r in find_links(low) + find_emails(low)] if ("." in low or "@" in low) else []
    out: dict[str, list[Where]] = {}
    for group, s, e in policy_terms(low, skip):
        out.setdefault(group, []).append((low, s, e))  # negation is read when a reply makes this claim
    return out
