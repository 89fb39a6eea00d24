"""How much of an unfinished sentence may go out before the sentence is checked.

The output check reads a sentence once it ends (`check.ReplyCheck`). Holding every sentence back until then made
a customer wait for the engine's whole first sentence before seeing a word. What a sentence can still become
matters only from the first place where a claim could begin: a digit or Chinese numeral (amounts, dates, time
limits, counts, phone numbers), a currency or percent sign, a link or e-mail address, or the first character of
a policy promise (包邮, 全额退款, free shipping, lifetime warranty ...). `release_end` finds that place; the text
before it goes out at once, the rest waits for the check as before. The check still reads the whole sentence,
so its verdicts do not change, and a flagged claim is never shown: it lies at or after the first such place.

Personal data written with Chinese characters alone (a name, an address) has no such anchor; a reply can only
hold data the model made up (it sees masked text), and a sentence found to leak it is withdrawn
(`service.Retraction`) where the channel can withdraw text.
"""

from __future__ import annotations

from functools import cache

from kefu.guard.output.claims import EN_A_OK, NUMERAL_CHARS
from kefu.guard.output.policy import policy_first_words

# Characters at which a claim, a promise or contact data may begin (besides any digit, `str.isdigit`).
_SIGNS = "¥￥$€£%％@"
_PREFIX_CHARS = "半每双对"  # 半价, 每月15日, 双十一, 对折
_EN_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty twice once "
    "double singles".split()
)
_EN_CONDITIONAL = frozenset(("a", "an", "half"))  # a number only after "within", "in", "for" ... (claims.EN_A_OK)
_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_EN_OTHER = frozenset(("us", "hk", "rmb", "cny", "usd", "hkd", "www", "http", "https", "percent", "per"))
_HOST_NEXT = ".@:/"  # a word followed by one of these may be a link or an e-mail address


@cache
def _anchors() -> frozenset[str]:
    zh_first, _en = policy_first_words()
    return frozenset(_SIGNS + _PREFIX_CHARS + NUMERAL_CHARS) | zh_first


@cache
def _en_stems() -> tuple[str, ...]:
    return tuple(sorted(policy_first_words()[1]))


def _risky_word(low: str, s: int, e: int) -> bool:
    """Whether the (lower-cased) word low[s:e] may begin a claim or a promise."""
    word = low[s:e]
    if any(ch.isdigit() for ch in word) or word in _EN_NUMBER_WORDS or word in _EN_OTHER:
        return True
    if word in _EN_CONDITIONAL:
        return EN_A_OK.search(low, max(0, s - 12), s) is not None
    return word.startswith(_EN_MONTHS) or word.startswith(_en_stems())


def release_end(text: str, start: int = 0) -> int:
    """The end of the longest prefix of `text` (an unfinished sentence, `start` of it already out) that cannot
    be part of a claim: the first anchor character at or after `start`, or the start of an English word that is
    unfinished or may begin a claim; `len(text)` when there is none."""
    anchors = _anchors()
    low = text.lower()
    n, i = len(low), start
    while i < n:
        ch = low[i]
        if ch.isdigit() or ch in anchors:
            return i
        if "a" <= ch <= "z":
            j = i
            while j < n and ("a" <= low[j] <= "z" or low[j] in "'-_" or low[j].isdigit()):
                j += 1
            if j == n or low[j] in _HOST_NEXT or _risky_word(low, i, j):
                return i
            i = j
            continue
        i += 1
    return n
