"""Facts about text that every part shares: which characters are Chinese, which language a message is
answered in, and the one normalisation used to compare wordings. A leaf: it imports nothing from kefu.

The guard has its own, stronger canonical form for attack detection (invisible characters, look-alike
letters, traditional characters): `kefu.guard.injection` names it differently on purpose.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Han characters: CJK Extension A, the Unified Ideographs and the Compatibility Ideographs.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Characters that render double width in CJK text: Han, kana and Hangul (a token estimate counts them).
WIDE = "\u3040-\u30ff" + HAN + "\uac00-\ud7af"
# CJK punctuation and full-width forms: between two of these (or Han characters) a space is noise.
CJK_PUNCT = "\u3000-\u303f\uff00-\uffef"

HAN_RE = re.compile(f"[{HAN}]")
HAN_RUN_RE = re.compile(f"[{HAN}]+")
WIDE_RE = re.compile(f"[{WIDE}]")
LATIN_RE = re.compile(r"[A-Za-z]")
_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"[\s\u3000-\u303f\uff01-\uff0f\uff1a-\uff20!-/:-@\[-`{-~]+")


def is_han(ch: str) -> bool:
    """One character, a Han character."""
    return bool(HAN_RE.match(ch))


def has_han(text: str) -> bool:
    return bool(HAN_RE.search(text))


def is_chinese(text: str) -> bool:
    """True when a message is to be answered in Chinese: any Han character, or no Latin letter at all
    ("？？", "123456": a Chinese shop's default)."""
    return bool(HAN_RE.search(text)) or not LATIN_RE.search(text)


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """NFKC (full width to half width), lower case, whitespace collapsed: two wordings that differ only
    in these are the same wording (the FAQ's exact lane, the answer cache, keyword tokens)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def question_key(text: str) -> str:
    """`normalise`, then spacing and punctuation dropped: 退款 多久到账？ and 退款多久到账 are one question
    (the FAQ's exact lane and the answer cache compare questions so)."""
    return _PUNCT.sub("", normalise(text))
