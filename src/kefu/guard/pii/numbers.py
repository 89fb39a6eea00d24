"""Numbers: one scan for runs of digits (spaces and dashes inside), then each run classified: mainland ID numbers
(checksum and birth date), mobiles, landlines (area codes), bank cards (issuer prefix + Luhn). A label before a
number decides the rest: 订单号 / 快递单号 ... make it a look-alike, 卡号 / 座机 ... make a failing number personal."""

from __future__ import annotations

import calendar
import re

from kefu.guard.pii.data import ID_REGIONS, LABEL_SPECS
from kefu.guard.pii.regex import trie, words

# Led by a character class so that the engine skips ahead to the next digit; the "not glued to a letter or
# digit before" condition is checked in Python (SF1234567890123 is a tracking number, not a phone).
_NUM = re.compile(r"\+?\d(?:[ \-]{0,2}\d)*(?:[Xx](?![0-9A-Za-z]))?")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_GROUP = re.compile(r"\d+[Xx]?")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _valid_date(y: int, m: int, d: int) -> bool:
    return 1900 <= y <= 2099 and 1 <= m <= 12 and 1 <= d <= calendar.monthrange(y, m)[1]


def _id18(ds: str) -> int:
    """2: a valid ID number; 1: ID-shaped (region and birth date valid) with a failing checksum; 0: not."""
    if len(ds) != 18 or not ds[:17].isdigit() or ds[:2] not in ID_REGIONS:
        return 0
    if not (ds[6:8] in ("19", "20") and _valid_date(int(ds[6:10]), int(ds[10:12]), int(ds[12:14]))):
        return 0
    check = _ID_CHECK[sum(int(c) * w for c, w in zip(ds, _ID_WEIGHTS, strict=False)) % 11]
    return 2 if ds[17].upper() == check else 1


def _id15(ds: str) -> bool:
    return (
        len(ds) == 15
        and ds.isdigit()
        and ds[:2] in ID_REGIONS
        and _valid_date(1900 + int(ds[6:8]), int(ds[8:10]), int(ds[10:12]))
    )


def _luhn(ds: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(ds)):
        d = ord(c) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_prefix(ds: str) -> bool:
    """Issuer prefixes of cards used in China: UnionPay 62/60/65/9558, Visa 4, Mastercard 51-55, JCB 35,
    Diners 30/36/38. Date-stamped order numbers (20xx...) fall outside."""
    a = ds[0]
    return a in "46" or (a == "5" and ds[1] in "12345") or (a == "3" and ds[1] in "0568") or ds.startswith("95")


def _mobile(ds: str) -> bool:
    return len(ds) == 11 and ds[0] == "1" and ds[1] in "3456789"


def landline(ds: str) -> bool:
    if len(ds) < 10 or ds[0] != "0" or ds[1] == "0":
        return False
    area = 3 if ds[1] in "12" else 4
    local = ds[area:]
    return local[:1] in "23456789" and local != "" and (len(local) == 8 or (area == 4 and len(local) == 7))


def _classify(ds: str) -> tuple[str, int] | None:
    """The kind of a run of digits (separators removed) and how sure: 2 validated, 1 shape only."""
    n = len(ds)
    if ds[-1] in "Xx":
        s = _id18(ds)
        return ("id", s) if s else None
    if (n == 13 and ds.startswith("86") and _mobile(ds[2:])) or (n == 15 and ds.startswith("0086") and _mobile(ds[4:])):
        return "mobile", 2
    if _mobile(ds):
        return "mobile", 2
    if n == 18:
        s = _id18(ds)
        if s == 2:
            return "id", 2
        if _card_prefix(ds) and _luhn(ds):
            return "card", 2
        if s == 1:
            return "id", 1
        return None
    if n == 15 and _id15(ds):
        return "id", 2
    if 16 <= n <= 19 and _card_prefix(ds) and _luhn(ds):
        return "card", 2
    if landline(ds):
        return "phone", 2
    if ds.startswith("86") and 11 <= n <= 12 and landline("0" + ds[2:]):
        return "phone", 2
    return None


def _rescue(ds: str, ctx: str | None) -> str | None:
    """A number that only its label makes personal: 卡号 + a card failing Luhn, 座机 + a local number ..."""
    n = len(ds)
    if ctx == "card" and 15 <= n <= 19 and ds.isdigit():
        return "card"
    if ctx == "id" and n in (15, 18):
        return "id"
    if ctx in ("phone", "mobile") and 7 <= n <= 8 and ds[0] in "23456789":
        return "phone"
    if ctx == "mobile" and n == 11 and ds[0] == "1":
        return "mobile"
    if ctx == "passport" and 7 <= n <= 9:
        return "passport"
    return None


# Labels. A number right after a look-alike label (订单号 2024...) is not PII; a label of a PII kind lets a
# number through that fails its check (卡号 + a mistyped card).
_LABEL_WORDS: dict[str, str] = {}
for _kind, _spec in LABEL_SPECS:
    _LABEL_WORDS.update(dict.fromkeys(words(_spec), _kind))
# One prefix-factored alternation: the engine tries one branch per first character instead of one per word.
_LABEL = re.compile(r"(?<![a-z])" + trie(list(_LABEL_WORDS)))
_HARD_STOP = re.compile(r"[，。；！？,;!?\n]")
# What may stand between a look-alike label and its number ("订单号：", "单号是 ", "order no. #").
_FILLER = re.compile(r"[\s:：#=\-.是为的]*(?:(?:号码|号|编号|number|no\.?|is|id)[\s:：#=\-.是为]*)?")
_NEG_AFTER = re.compile(r"\s*(?:这个|这|那个|的)?\s*(?:订单|单号|运单|快递单|单子|这单|物流|包裹)")


def label_before(t: str, start: int) -> tuple[str | None, bool]:
    """The label nearest before `start` in the same clause: (its class, whether only filler separates)."""
    window = t[max(0, start - 16) : start]
    stop = _HARD_STOP.search(window[::-1])
    if stop is not None:
        window = window[len(window) - stop.start() :]
    window = window.lower()
    last = None
    for found in _LABEL.finditer(window):
        last = found
    if last is None:
        return None, False
    gap = window[last.end() :]
    if len(gap) > 10 or any(c.isdigit() for c in gap):
        return None, False
    return _LABEL_WORDS[last.group()], _FILLER.fullmatch(gap) is not None


_PAREN_PHONE = re.compile(r"\(\s?0\d{2,3}\s?\)[ \-]?\d{3,4}[ \-]?\d{3,4}(?![0-9A-Za-z])")


def find_numbers(t: str, out: list[tuple[int, int, str]]) -> None:
    if "(" in t:
        for m in _PAREN_PHONE.finditer(t):
            if landline("".join(c for c in m.group() if c.isdigit())):
                out.append((m.start(), m.end(), "phone"))
    for m in _NUM.finditer(t):
        if m.end() - m.start() < 7 or (m.start() > 0 and t[m.start() - 1] in _ALNUM):
            continue  # fewer than 7 digits (a quantity, a price, a room, a date), or part of a code
        run = m.group()
        if run.isdigit() or run[:-1].isdigit():
            _number(t, [m.span()], 0, 0, out)
            continue
        groups = [(g.start() + m.start(), g.end() + m.start()) for g in _GROUP.finditer(run)]
        if len(groups) > 1:
            label, tight = label_before(t, m.start())
            if label == "neg" and tight:
                continue  # "订单号 2024 0518 ...": the whole run is the look-alike
        if len(groups) == 1:
            _number(t, groups, 0, 0, out)
            continue
        # Several numbers written next to each other ("13812341234 2024..."): the longest classifiable
        # sub-runs, left to right.
        sizes = [b - a for a, b in groups]
        i, n = 0, len(groups)
        while i < n:
            # the longest run of groups from i with at most 19 digits, then shorter ones
            j, total = i, 0
            while j < n and total + sizes[j] <= 19:
                total += sizes[j]
                j += 1
            j -= 1
            while j >= i:
                if total >= 7 and _number(t, groups, i, j, out):
                    break
                total -= sizes[j]
                j -= 1
            i = j + 1 if j >= i else i + 1


def _number(t: str, groups: list[tuple[int, int]], i: int, j: int, out: list[tuple[int, int, str]]) -> bool:
    start, end = groups[i][0], groups[j][1]
    if j < len(groups) - 1 and t[groups[j][1] - 1] in "Xx":
        return False
    ds = "".join(t[a:b] for a, b in groups[i : j + 1])
    if len(ds) < 7 or len(ds) > 19:
        return False
    if start > 0 and t[start - 1] == "+" and i == 0:
        start -= 1
    got = _classify(ds)
    n = len(ds)
    if got is None and not (7 <= n <= 9 or n == 11 or n >= 15):
        return False  # nothing a label could make personal
    label, tight = label_before(t, start)
    if label == "neg" and tight:
        return got is not None  # consumed: a look-alike, not PII
    if got is not None and _NEG_AFTER.match(t, end):
        return True
    kind = got[0] if got is not None else _rescue(ds, label)
    if kind is None:
        return False
    out.append((start, end, kind))
    return True
