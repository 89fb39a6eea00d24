"""Numbers as replies and sources write them: digits (1,299.50, 1.5万), Chinese numerals (九十九, 一万五) and English
words (seven), read into one float so that 七天, 7天 and 7 days compare equal."""

from __future__ import annotations

from functools import lru_cache

ZH_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNIT = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
EN_NUM = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "half": 0.5,
}


def _zh_int(s: str) -> int | None:
    """Chinese numerals to an integer: 十五 15, 一百零五 105, 一万五 15000, 九五 95 (digits without units)."""
    if not s:
        return None
    if all(ch in ZH_DIGIT for ch in s):
        return int("".join(str(ZH_DIGIT[ch]) for ch in s))
    total = section = 0
    digit: int | None = None
    last_unit = 1
    for ch in s:
        if ch in ZH_DIGIT:
            digit = ZH_DIGIT[ch]
        elif ch in _ZH_UNIT:
            last_unit = _ZH_UNIT[ch]
            section += (1 if digit is None else digit) * last_unit
            digit = None
        elif ch in _ZH_BIG:
            last_unit = _ZH_BIG[ch]
            total += (section + (digit or 0) or 1) * last_unit
            section = 0
            digit = None
        else:
            return None
    if digit:
        # 一百五 is 150 and 一万五 is 15000: a trailing digit counts in the next lower unit.
        section += digit * (last_unit // 10 if last_unit >= 100 else 1)
    return total + section


@lru_cache(maxsize=4096)
def parse_number(s: str) -> float | None:
    """A number written with digits (1,299.50, 1.5万), Chinese numerals (九十九) or an English word (seven)."""
    if not s:
        return None
    if s.isdigit():
        return float(s)
    if s[0].isdigit():
        mult = 1
        if s[-1] in "万千":
            mult = 10_000 if s[-1] == "万" else 1000
            s = s[:-1]
        try:
            return float(s.replace(",", "")) * mult
        except ValueError:
            return None
    if s in EN_NUM:
        return float(EN_NUM[s])
    if s == "半":
        return 0.5
    v = _zh_int(s)
    return None if v is None else float(v)


@lru_cache(maxsize=2048)
def fmt_number(x: float) -> str:
    """A canonical text for a number: 99, 8.5, 0.01."""
    x = round(x, 2)
    if x == int(x):
        return str(int(x))
    return f"{x:.2f}".rstrip("0").rstrip(".")
