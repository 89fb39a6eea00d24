"""Addresses: runs of administrative units, roads, numbers, compounds and rooms (省 市 区 路 号 小区 栋 单元 室),
accepted only when street-level (a road with a number, a compound with a building ...); English street
addresses. Parts are scanned only in windows around a unit character, so a message costs little."""

from __future__ import annotations

import re

from kefu.guard.pii.data import ADDR_STOP, ADDR_STOP_STRONG, CITIES, CN_NUM, PROVINCE_NAMES, SUFFIX_KIND
from kefu.guard.pii.regex import han_class, trie
from kefu.text import is_han

# A place name starts with a character outside ADDR_STOP and continues with characters outside the strong set.
_N1 = han_class(ADDR_STOP)
_NS = han_class(ADDR_STOP_STRONG)
_ADDR_PART = re.compile(
    rf"(?P<P>{trie([*PROVINCE_NAMES, *(n + '省' for n in PROVINCE_NAMES)])})"
    rf"|(?P<C>{trie(CITIES)}市?)"
    r"|(?P<J>交叉口|交汇处|十字路口|路口)"
    rf"|(?P<W>(?:[A-Za-z]{{2,10}})?{_N1}{_NS}{{0,9}}?(?:(?=[{''.join(sorted({k[0] for k in SUFFIX_KIND}))}])"
    rf"(?P<suf>{trie(list(SUFFIX_KIND))})(?:[东西南北中]?[{CN_NUM}\d]*段|[{CN_NUM}\d]+期)?"
    # a compound without a telling suffix, named only by the building number after it: 金地名京12栋, 桃源居2-1-2602
    r"|(?=\d{1,3}-\d{1,2}-\d{3,4}|(?:\d+|[A-Za-z])(?:栋|幢|号楼|单元|座))))"
    rf"|(?P<N>(?:\d+(?:-\d+){{0,3}}|[{CN_NUM}]+)(?:号院|号楼|号|弄))"
    rf"|(?P<U>(?:\d+|[{CN_NUM}]+|[A-Za-z]\d{{0,3}})(?:栋|幢|座|楼|单元|室|层|组|期|户|排|区|号楼))"
    r"|(?P<X>(?:[A-Za-z]\d{1,3}|\d{1,3}(?:-\d{1,4}){1,3}|\d{2,5})(?:室|房)?)"
)
_ADDR_ANCHOR = re.compile(
    r"[省市区县镇乡村路街道巷弄]|单元|[\dA-Za-z一二三四五六七八九十][号栋幢室楼座]|SOHO|soho|\d-\d{1,2}-\d"
)
_GROUP_KIND = {"J": "R"}


def find_addresses(t: str, out: list[tuple[int, int, str]]) -> None:
    """Scan for address parts only around anchors (a unit character such as 路 or 栋): a part ends within a
    few characters of one, and scanning the whole message costs several times more."""
    windows: list[list[int]] = []
    for m in _ADDR_ANCHOR.finditer(t):
        lo, hi = max(0, m.start() - 16), min(len(t), m.end() + 12)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = hi
        else:
            windows.append([lo, hi])
    for lo, hi in windows:
        _address_window(t, lo, hi, out)


def _address_window(t: str, lo: int, hi: int, out: list[tuple[int, int, str]]) -> None:
    chain: list[tuple[int, int, str]] = []
    for m in _ADDR_PART.finditer(t, lo, hi):
        group = m.lastgroup or ""
        if group in ("W", "suf"):
            suf = m.group("suf")
            kind = SUFFIX_KIND[suf] if suf else "B"
        else:
            kind = _GROUP_KIND.get(group, group)
        if chain:
            gap = t[chain[-1][1] : m.start()]
            if gap in ("", " ", "·", "-") or (gap in ("与", "和") and chain[-1][2] == "R"):
                chain.append((m.start(), m.end(), kind))
                continue
            if len(gap) == 1 and gap in SUFFIX_KIND:
                # "北京" + "路": a known place name is the first half of a road or village name.
                chain[-1] = (chain[-1][0], m.start(), SUFFIX_KIND[gap])
                chain.append((m.start(), m.end(), kind))
                continue
            if len(gap) == 1 and is_han(gap) and gap not in ADDR_STOP_STRONG:
                # "成都市" + "成" + "华区": a part whose first character may not begin a place name on its own.
                chain.append((m.start() - 1, m.end(), kind))
                continue
        _accept_chain(chain, out)
        chain = [(m.start(), m.end(), kind)]
    if chain and chain[-1][1] < len(t) and t[chain[-1][1]] in SUFFIX_KIND:
        chain[-1] = (chain[-1][0], chain[-1][1] + 1, SUFFIX_KIND[t[chain[-1][1]]])
    _accept_chain(chain, out)


def _accept_chain(chain: list[tuple[int, int, str]], out: list[tuple[int, int, str]]) -> None:
    while chain and chain[0][2] == "X":
        chain = chain[1:]
    if len(chain) < 2:
        return
    kinds = {k for _, _, k in chain}
    units = sum(1 for _, _, k in chain if k == "U")
    ok = (
        ("R" in kinds and kinds & {"N", "U", "B"})
        or ("B" in kinds and kinds & {"N", "U", "X", "D"})
        or units >= 2
        or ("T" in kinds and kinds & {"N", "U", "X"})
        or ("N" in kinds and "U" in kinds)
        or ("N" in kinds and kinds & {"X", "D", "C"} and len(chain) >= 3)
    )
    if ok:
        out.append((chain[0][0], chain[-1][1], "addr"))


_EN_STREET = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace|Close|Crescent"
    r"|Square|Sq|Highway|Hwy|Parkway|Pkwy)"
)
EN_ADDR_HINT = re.compile(r"\d[A-Za-z]?\s+[A-Z][a-z]")
EN_ADDR = re.compile(
    r"(?:(?:Flat|Apt|Apartment|Unit|Suite|Room|Rm)\.?\s*#?\w+,\s*)?(?:No\.\s*)?"
    rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][A-Za-z'’.-]*\s+){{1,3}}{_EN_STREET}\b\.?"
    r"(?:,?\s*(?:Apt|Apartment|Unit|Suite|Flat|Room|#)\.?\s*#?\w+)?"
    # then up to three of: ", CA 94043" | ", Mountain View" | ", London NW1 6XE" (city words are Capitalised,
    # so a postcode is not read as one)
    r"(?:,\s*(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|[A-Z][a-z]+(?:\s[A-Z][a-z]+)*(?:\s+[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})?)){0,3}"
)
