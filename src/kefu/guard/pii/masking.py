"""`detect` and `mask`: every recogniser's candidates, overlaps resolved by kind priority then length."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kefu.guard.pii.addresses import EN_ADDR, EN_ADDR_HINT, find_addresses
from kefu.guard.pii.data import PLACEHOLDERS, PRIORITY
from kefu.guard.pii.identifiers import EMAIL, find_passports, find_plates
from kefu.guard.pii.names import find_names, find_neighbour_names
from kefu.guard.pii.numbers import find_numbers


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    kind: str
    text: str


@dataclass
class Masked:
    text: str
    spans: list[PiiSpan]


# Full-width ASCII (０-９, Ａ-Ｚ, ＠, （ ...) and the ideographic space map one to one onto ASCII, so offsets in
# the normalised text are offsets in the original.
# Chinese punctuation (，：！) is full-width too and stays as it is: the patterns know both forms.
_FULLWIDTH_CHARS = "（）＋－．＠" + "".join(
    chr(c) for c in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
)
_NORMALISE = {ord(c): ord(c) - 0xFEE0 for c in _FULLWIDTH_CHARS} | {0x3000: 0x20}
_FULLWIDTH = re.compile(f"[{_FULLWIDTH_CHARS}\u3000]")


def _resolve(cands: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping spans: higher-priority kinds first, then longer spans."""
    chosen: list[tuple[int, int, str]] = []
    for s, e, k in sorted(cands, key=lambda c: (PRIORITY[c[2]], c[0] - c[1], c[0])):
        if all(e <= cs or s >= ce for cs, ce, _ in chosen):
            chosen.append((s, e, k))
    chosen.sort()
    return chosen


def detect(text: str) -> list[PiiSpan]:
    """Personal data in `text`, as sorted non-overlapping spans with offsets into `text`."""
    if not text:
        return []
    t = text.translate(_NORMALISE) if _FULLWIDTH.search(text) else text
    cands: list[tuple[int, int, str]] = []
    if "@" in t:
        cands.extend((m.start(), m.end(), "email") for m in EMAIL.finditer(t))
    find_numbers(t, cands)
    find_passports(t, cands)
    find_plates(t, cands)
    find_addresses(t, cands)
    if EN_ADDR_HINT.search(t):
        cands.extend((m.start(), m.end(), "addr") for m in EN_ADDR.finditer(t))
    find_names(t, cands)
    spans = _resolve(cands)
    extra: list[tuple[int, int, str]] = []
    find_neighbour_names(t, spans, extra)
    if extra:
        spans = _resolve(spans + extra)
    return [PiiSpan(s, e, k, text[s:e]) for s, e, k in spans]


def mask(text: str) -> Masked:
    """`text` with each piece of personal data replaced by its typed placeholder: "张三 138..." -> "[姓名] [手机号]"."""
    spans = detect(text)
    if not spans:
        return Masked(text, [])
    parts, pos = [], 0
    for sp in spans:
        parts.append(text[pos : sp.start])
        parts.append(PLACEHOLDERS[sp.kind])
        pos = sp.end
    parts.append(text[pos:])
    return Masked("".join(parts), spans)
