"""E-mail addresses, passports (E/G + 8 digits anywhere; other formats after 护照 / passport) and licence plates."""

from __future__ import annotations

import re

from kefu.guard.pii.numbers import label_before

EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:[.。][A-Za-z0-9-]+)*[.。][A-Za-z]{2,}"
)
_PASSPORT = re.compile(r"(?<![A-Za-z0-9])(?:[Ee][A-HJ-NP-Za-hj-np-z]?\d{7,8}|[Gg]\d{8})(?![A-Za-z0-9])")
_PASSPORT_CTX = re.compile(
    r"(?:护照|passport|通行证|回乡证|travel\s+document)"
    r"(?:\s*(?:号码|号|no\.?|number|num|#|是|为|:|：|is|：))*\s*([A-Za-z0-9][A-Za-z0-9-]{5,11})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领][A-HJ-NP-Za-hj-np-z][·•.\- ]?"
    r"(?:[DFdf][A-HJ-NP-Za-hj-np-z0-9]\d{4}|\d{5}[DFdf]|[A-HJ-NP-Za-hj-np-z0-9]{4}[A-HJ-NP-Za-hj-np-z0-9挂学警港澳])"
    r"(?![A-Za-z0-9])"
)


def find_passports(t: str, out: list[tuple[int, int, str]]) -> None:
    for m in _PASSPORT.finditer(t):
        label, tight = label_before(t, m.start())
        if not (label == "neg" and tight):
            out.append((m.start(), m.end(), "passport"))
    if "护" in t or "通行证" in t or "回乡证" in t or "assport" in t or "ravel" in t:
        for m in _PASSPORT_CTX.finditer(t):
            tok = m.group(1)
            if sum(c.isdigit() for c in tok) >= 5:
                out.append((m.start(1), m.end(1), "passport"))


def find_plates(t: str, out: list[tuple[int, int, str]]) -> None:
    for m in _PLATE.finditer(t):
        body = m.group()[2:].lstrip("·•.- ")
        if sum(c.isdigit() for c in body) >= 3:
            out.append((m.start(), m.end(), "plate"))
