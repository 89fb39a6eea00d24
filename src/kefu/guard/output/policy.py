"""Policy promises in a text (包邮, 全额退款, 保证, free shipping, lifetime warranty ...), by group, and whether each is
negated in its clause (不支持包邮, cash on delivery isn't available): a negated term is no promise.

The terms are one alternation nested by first character, scanned without capture groups and identified afterwards
(see `_policy_patterns`); a term's clause and its content tokens are read only when a check needs them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from functools import lru_cache

from kefu.text import HAN, is_han

# --------------------------------------------------------------------------------------------------------------
# Policy terms, by group. Order matters: at one position the first term that matches wins, so specific terms come
# first. Each term starts with a literal character (the patterns are joined into one alternation whose first
# characters the regex engine can scan for). English terms must start a word. Groups in CONTEXT_GROUPS are
# generic words ("free", "guarantee"); a source supports them only when the clause around the term shares a content
# word with the reply's clause (free pickup does not support free returns).

_POLICY_TERMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "multi_comp",
        (
            "退一赔[一二三四五六七八九十\\d]+",
            "假一赔[一二三四五六七八九十\\d]+",
            "赔[一二三四五六七八九十\\d]+倍",
            "triple (?:the )?(?:compensation|refund|money)",
            "double (?:the )?(?:compensation|refund|money)",
            "three[- ]?times (?:the )?(?:compensation|refund|money)",
            "ten[- ]?times",
        ),
    ),
    (
        "full_refund",
        (
            "全额退款",
            "全额退还",
            "全额返还",
            "全额退回",
            "全额退",
            "全额",
            "退全款",
            "全款退[还回款]?",
            "全部退款",
            "全部‸金额",
            "full refund",
            "full amount",
            "full price back",
            "fully refund(?:ed)?",
            "refunds? in full",
            "refunded in full",
            "refund (?:you )?the full (?:amount|price)",
        ),
    ),
    (
        "no_reason_return",
        ("无‸理由(?:退货|退换货?|退款)?", "no[- ]questions?[- ]asked", "no[- ]reason", "for any reason"),
    ),
    (
        "coupon",
        (
            "优惠‸券",
            "代金‸券",
            "满减‸券",
            "新人‸券",
            "生日‸券",
            "包邮‸券",
            "现金‸券",
            "折扣‸券",
            "无门槛‸券",
            "店铺‸券",
            "运费‸券",
            "coupons?\\b",
            "vouchers?\\b",
        ),
    ),
    (
        "free_shipping",
        (
            "包邮",
            "免运费",
            "免邮费?",
            "运费‸全免",
            "不‸收运费",
            "免配送费",
            "免费配送",
            "免费送货",
            "包运费",
            "free[- ](?:shipping|delivery)",
            "ships? (?:for )?free",
            "shipping is free",
            "delivery is free",
        ),
    ),
    (
        "lifetime",
        (
            "终身",
            "永久",
            "终生",
            "永不过期",
            "不会‸过期",
            "长期‸有效",
            "lifetime",
            "for life\\b",
            "forever",
            "permanent(?:ly)?",
            "never expires?",
        ),
    ),
    (
        "price_protection",
        (
            "价格保护",
            "价保",
            "保价",
            "退差价",
            "补差价",
            "差价",
            "price protection",
            "price match(?:ing)?",
            "price guarantee",
            "refund the difference",
        ),
    ),
    ("cod", ("货‸到付款", "cash on delivery", "pay on delivery", "cod\\b")),
    ("interest_free", ("免息", "零利息", "interest[- ]free", "zero interest", "no interest")),
    (
        "exception",
        ("特批", "破例", "特殊处理", "特事特办", "通‸融", "make an exception", "special exception", "as an exception"),
    ),
    ("insurance", ("退货运费‸险", "运费‸险", "退货‸险", "shipping insurance", "return(?: shipping)? insurance")),
    (
        "onsite",
        (
            "上‸门(?:取件|取货|回收|安装|维修)?",
            "free ‸pickup",
            "home ‸pickup",
            "book a ‸pickup",
            "schedule a ‸pickup",
            "door[- ]to[- ]door",
            "on-?site",
        ),
    ),
    (
        "reship",
        (
            "补发",
            "重发",
            "再发一件",
            "resend",
            "re-send",
            "reship",
            "send (?:you )?(?:a |the )?(?:new one|replacement|missing item)",
            "replacement",
        ),
    ),
    (
        "unconditional",
        (
            "无‸条件",
            "不问‸原因",
            "不需要任何‸理由",
            "不需要‸理由",
            "unconditional(?:ly)?",
            "no strings attached",
            "no matter what",
        ),
    ),
    (
        "compensation",
        (
            "赔偿",
            "补偿",
            "赔付",
            "赔款",
            "理赔",
            "赔给",
            "compensat(?:e|ed|es|ion|ing)\\b",
            "reimburs(?:e|ed|ement)\\b",
            "payout",
            "claim up to",
        ),
    ),
    (
        "assurance",
        (
            "保证(?!金)",
            "承‸诺",
            "担保",
            "百分之百",
            "百分百",
            "绝对",
            "一‸定(?=会|能|可以|给|为|帮|退|送|到|赔|是|让|在)",
            "肯‸定(?=会|能|可以|给|为|帮|退|送|到|是)",
            "guarantee[sd]?\\b",
            "guaranteeing",
            "promise[sd]?\\b",
            "definitely",
            "certainly will",
        ),
    ),
    ("warranty", ("保修", "质保", "包修", "保固", "三‸包", "warrant(?:y|ies|ied)\\b")),
    ("priority", ("加急", "优先(?:发货|处理|安排|退款)", "expedite[sd]?\\b", "priority")),
    (
        "gift",
        (
            "赠品",
            "赠送",
            "附赠",
            "送您",
            "送你",
            "买一送一",
            "返现",
            "红包",
            "礼品(?!卡)",
            "礼包",
            "free gift",
            "gifts?\\b(?! cards?)",
            "cash ?back",
            "bonus",
            "freebie",
        ),
    ),
    (
        "free",
        (
            "免费",
            "不‸收费",
            "不‸收取(?:任何)?(?:手续费|费用)",
            "零元",
            "无需支付‸费用",
            "无需付‸费用",
            "无需‸费用",
            "免手续费",
            "free of charge",
            "for free",
            "at no (?:extra |additional )?(?:cost|charge)",
            "no (?:extra |additional )?(?:charges?|fees?)\\b",
            "don't charge",
            "do not charge",
            "won't charge",
            "free\\b(?!\\s+to\\b)(?!-)(?<!feel free)(?<!toll-free)(?<!toll free)",
        ),
    ),
    (
        "refund",
        (
            "退款",
            "退钱",
            "退回货款",
            "退还货款",
            "原路‸退回",
            "原路‸返还",
            "原路‸退还",
            "自动‸退回",
            "refund(?:s|ed|ing)?\\b",
            "money back",
        ),
    ),
    (
        "return",
        (
            "退货",
            "退换",
            "退回商品",
            "return(?:s|ed|ing)?\\b(?! to (?:the )?(?:home|main|previous|menu|page)| shipping| postage| label| address)",  # noqa: E501
        ),
    ),
    ("exchange", ("换货", "换新", "调换", "exchang(?:e|es|ed|ing)\\b")),
)


@lru_cache(maxsize=1)
def policy_first_words() -> tuple[frozenset[str], frozenset[str]]:
    """Where a policy term can begin: the first characters of the Chinese terms (a prefix written before "‸"
    included), and the leading letters of the English ones (a stem: "refund" for refunds?, "exchang")."""
    zh: set[str] = set()
    en: set[str] = set()
    for _group, terms in _POLICY_TERMS:
        for term in terms:
            if term[0].isascii():
                stem = re.match(r"[a-z]+", term).group(0)  # type: ignore[union-attr]
                optional = term[len(stem) : len(stem) + 1] in ("?", "*", "{")  # "ships?": the stem is "ship"
                en.add(stem[:-1] if optional else stem)
            else:
                zh.add(term[0])
    return frozenset(zh), frozenset(en)


def _policy_patterns() -> tuple[re.Pattern[str], dict[str, tuple[re.Pattern[str], tuple[tuple[str, int], ...]]]]:
    """A scanning pattern and, per first character, a pattern that tells which term matched.

    The scanning pattern is one alternation nested by first character (`退(?:一赔…|款|…)`) without capture groups
    (with ~200 of them the engine is three times slower), so the engine skips to first characters and tries only
    the terms that can match there. A term written "货‸到付款" is scanned for from its rarer character 到, its common
    prefix checked behind it. Terms sharing a first character keep their priority order. The per-character pattern
    has one capture group per term: (group, prefix length) per capture group number."""
    by_first: dict[str, list[tuple[str, str, int]]] = {}
    for group, terms in _POLICY_TERMS:
        for term in terms:
            prefix, _, term = term.rpartition("‸")
            first = term[0]
            assert first.isalnum() and first == first.lower(), term
            rest = f"(?<={prefix}{first})(?:{term[1:]})" if prefix else term[1:]
            by_first.setdefault(first, []).append((group, rest, len(prefix)))
    scan: list[str] = []
    which: dict[str, tuple[re.Pattern[str], tuple[tuple[str, int], ...]]] = {}
    for first, items in by_first.items():
        # An English term starts a word: the character before it is not a letter.
        head = f"{re.escape(first)}(?<![a-z]{re.escape(first)})" if first.isascii() else first
        scan.append(head + "(?:" + "|".join(f"(?:{rest})" for _g, rest, _n in items) + ")")
        which[first] = (
            re.compile(head + "(?:" + "|".join(f"({rest})" for _g, rest, _n in items) + ")"),
            tuple((g, n) for g, _rest, n in items),
        )
    return re.compile("|".join(scan)), which


_POLICY_RE, _POLICY_WHICH = _policy_patterns()
CONTEXT_GROUPS = frozenset({"free", "assurance", "compensation", "gift", "lifetime", "unconditional", "coupon"})

_NEG_BEFORE_ZH = re.compile(
    r"(?:不|没|没有|无法|未|非|暂不|暂未|不能|不会|不可|并不|并非|不再|别|拒绝|无)"
    r"(?:再|能|会|可以|可|是|予|给|给予|提供|支持|享受|享有|包括|包含|属于|参与|参加|适用|适用于|办理|进行|做|作|额外|任何|"
    r"有|了|在|于|接受|承担|包|含|给您|为您|帮您|都|会有|开通|能够)*"
    r"(?:[\d一二三四五六七八九十]+(?:天|日))?$"
)
_NEG_LIST_ZH = re.compile(
    r"(?:不|暂不|无法|不能|不可)(?:支持|提供|包括|包含|接受|使用|参与|享受|适用于?)"
    r"[^，。；！？,;!?]{0,16}(?:和|、|或|及|与|/)$"
)
# English: a negation earlier in the clause, with no "but", "and", "or" between it and the term.
_NEG_BEFORE_EN = re.compile(
    r"\b(?:no|not|never|cannot|can't|can ?not|don't|doesn't|didn't|won't|isn't|aren't|wasn't|unable to|nor|neither)\b"
    r"(?:(?!\b(?:but|and|or|so|then|if|unless)\b)[^,.;:!?\n]){0,40}$"
)
_NEG_AFTER_ZH = re.compile(
    r"[^，。；！？,.;!?\n]{0,8}?(?:暂不|不|无法|不能|不可|暂未|尚未)(?:支持|提供|可用|开通|办理|适用|包括|包含|享受)"
)
_NEG_AFTER_EN = re.compile(
    r"[^,.;!?\n]{0,30}?\b(?:isn't|aren't|is not|are not|not)\s+(?:currently\s+)?"
    r"(?:available|supported|offered|accepted|possible|included|covered|allowed)"
)
_NEG_CUE_ZH = re.compile(r"[不没无未非别拒暂尚]")
_NEG_CUE_EN = re.compile(r"n(?:'t|ot\b|o\b|ever\b|or\b|either\b)|can(?:not|'t)\b|unable\b|isn|aren|don|doesn|won")
_CLAUSE_END = re.compile(r"[，。；！？,;!?\n]|\.(?!\d)")
_LAST_MARK = re.compile(r".*(?:[，。；！？,;!?\n]|\. )", re.S)
_ASCII_LETTER = re.compile(r"[a-z]")

_TOKEN_RE = re.compile(rf"[{HAN}]+|[a-z]{{3,}}|\d+(?:\.\d+)?")
_STOP_TOKENS = frozenset(
    "我们 您的 为您 可以 如果 请您 您可 会为 的话 一下 需要 我们会 您可以 会在 将为 您在 是否 以及 或者 "
    "我们将 给您 帮您 都会 "
    "the and for you your our we will can with that this are any all get have has not its from into also been".split()
)


# A policy term found in a text: (group, start, end, negated). Its clause is read only when needed (term_context).
_Mention = tuple[str, int, int, bool]


def is_negated(low: str, start: int, end: int, cues: Sequence[int]) -> bool:
    """Whether a policy term is negated in its clause: 不支持包邮, 无法保证, no free shipping, COD isn't available.

    `cues` are the sorted positions of negation words in the text: most terms have none near them.
    """
    i = bisect_left(cues, start - 48)
    if i == len(cues) or cues[i] >= end + 40:
        return False
    # The patterns cannot cross punctuation, so the clause needs no cutting.
    if cues[i] < start:
        k = bisect_left(cues, start - 24, i)
        if k < len(cues) and cues[k] < start:
            before = low[max(0, start - 24) : start]
            if _NEG_BEFORE_ZH.search(before[-10:]) or _NEG_LIST_ZH.search(before):
                return True
        if low[start - 1 : start].isascii() and _NEG_BEFORE_EN.search(low, max(0, start - 48), start):
            return True
    j = bisect_left(cues, end, i)
    if j == len(cues) or cues[j] >= end + 40:
        return False
    return bool(_NEG_AFTER_ZH.match(low, end, end + 40) or _NEG_AFTER_EN.match(low, end, end + 40))


def clause(low: str, start: int, end: int) -> tuple[int, int]:
    """The clause (between punctuation, at most 40 characters either side) around a span."""
    lo = max(0, start - 40)
    m = _LAST_MARK.match(low, lo, start)
    if m:
        lo = m.end()
    m2 = _CLAUSE_END.search(low, end, end + 40)
    return lo, (m2.start() if m2 else min(len(low), end + 40))


@lru_cache(maxsize=8192)
def clause_tokens(s: str) -> frozenset[str]:
    """Content tokens of a clause for a rough overlap test: CJK bigrams, 5-letter word stems, numbers."""
    out: set[str] = set()
    for m in _TOKEN_RE.finditer(s):
        t = m.group()
        if is_han(t[0]):
            out.update(t[i : i + 2] for i in range(len(t) - 1))
        elif t[0].isdigit():
            out.add(t)
        else:
            out.add(t[:5])
    return frozenset(out - _STOP_TOKENS)


def term_context(low: str, start: int, end: int) -> str:
    """The clause around a policy term, the term itself left out: what the term is said about."""
    lo, hi = clause(low, start, end)
    return low[lo:start] + " " + low[end:hi]


def policy_terms(low: str, skip: Sequence[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """The policy terms of a text: (group, start, end), negated or not."""
    out = []
    for m in _POLICY_RE.finditer(low):
        s, e = m.span()
        if skip and any(a <= s < b for a, b in skip):
            continue
        pattern, groups = _POLICY_WHICH[low[s]]
        w = pattern.match(low, s)
        group, back = groups[((w.lastindex if w else None) or 1) - 1]
        out.append((group, s - back, e))
    return out


@lru_cache(maxsize=4096)
def negation_cues(low: str) -> list[int]:
    """Sorted positions of negation words in a text."""
    cues = [c.start() for c in _NEG_CUE_ZH.finditer(low)]
    if _ASCII_LETTER.search(low):
        cues = sorted(cues + [c.start() for c in _NEG_CUE_EN.finditer(low)])
    return cues


@lru_cache(maxsize=16384)
def stated(where: tuple[str, int, int]) -> bool:
    """Whether a source's policy term is stated, not negated (cached with the source)."""
    low, s, e = where
    return not is_negated(low, s, e, negation_cues(low))


def policy_mentions(low: str, skip: Sequence[tuple[int, int]]) -> list[_Mention]:
    terms = policy_terms(low, skip)
    if not terms:
        return []
    cues = negation_cues(low)
    return [(group, s, e, is_negated(low, s, e, cues)) for group, s, e in terms]
