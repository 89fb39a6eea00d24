"""Output guard: checks a generated reply before the customer sees it.

A small model invents prices, time limits, links and promises, and may answer a Chinese question in English.
This module finds the checkable claims in a reply (amounts, percentages and discounts, dates and times, durations,
counts, links, phone numbers, e-mail addresses, policy promises), normalises them (七天 == 7天 == 7 days, ¥99 == 99元,
八折 == 20% off, URLs by host and path, phone numbers by digits) and accepts a claim only when the retrieved sources
(or, for facts such as an order amount, what the customer said) contain the same normalised value. It also checks
the reply's language against the question's and, given a PII detector, flags personal data that the customer did
not give. It decides nothing: the caller regenerates, answers from the FAQ or hands off.

Pure Python and regular expressions, no model: the check runs on every generated reply and must stay well under a
millisecond. Every scanning pattern therefore starts with a literal or a character class, so that the regex engine
skips uninteresting positions in C; numbers are found once and classified by what follows them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "CLAIM_KINDS", "PROBLEM_KINDS", "Claim", "OutputVerdict", "Problem", "check_reply", "clear_source_cache",
    "extract_claims", "prepare_sources",
]

CLAIM_KINDS = ("amount", "percent", "date", "duration", "count", "link", "phone", "email", "policy")
PROBLEM_KINDS = ("unsupported_claim", "wrong_language", "pii_leak")


@dataclass(frozen=True)
class Claim:
    """One checkable statement in a text: `value` is its normalised form, compared across texts.

    Values: amount "CNY:8.5"; percent "80" (a discount is the share paid: 八折, 20% off); date "MM-DD",
    "YYYY-MM-DD", "day-15" (每月15日) or "time:HH:MM"; duration minutes "10080" or a range "1440-4320";
    count "3:times"; link "host/path"; phone digits; email lower-cased; policy a group name such as "full_refund".
    """

    kind: str
    text: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Problem:
    """Why a reply failed: an unsupported claim, the wrong language, or personal data the customer never gave.

    For "pii_leak" the claim has kind "pii" and the detector's kind as value, so that the caller can mask it.
    """

    kind: str
    claim: Claim | None
    detail: str


@dataclass(frozen=True)
class OutputVerdict:
    """The guard's finding on one reply; `ok` is true only when there is no problem."""

    ok: bool
    problems: tuple[Problem, ...]
    lang_ok: bool


# --------------------------------------------------------------------------------------------------------------
# Numbers

_ZH_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNIT = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
_EN_NUM = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "half": 0.5,
}


def _zh_int(s: str) -> int | None:
    """Chinese numerals to an integer: 十五 15, 一百零五 105, 一万五 15000, 九五 95 (digits without units)."""
    if not s:
        return None
    if all(ch in _ZH_DIGIT for ch in s):
        return int("".join(str(_ZH_DIGIT[ch]) for ch in s))
    total = section = 0
    digit: int | None = None
    last_unit = 1
    for ch in s:
        if ch in _ZH_DIGIT:
            digit = _ZH_DIGIT[ch]
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
def _num(s: str) -> float | None:
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
    if s in _EN_NUM:
        return float(_EN_NUM[s])
    if s == "半":
        return 0.5
    v = _zh_int(s)
    return None if v is None else float(v)


@lru_cache(maxsize=2048)
def _fmt(x: float) -> str:
    """A canonical text for a number: 99, 8.5, 0.01."""
    x = round(x, 2)
    if x == int(x):
        return str(int(x))
    return f"{x:.2f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------------------------------------------
# Patterns, compiled once. All run on the lower-cased text.

_NC = "零〇一二两三四五六七八九十百千万"  # Chinese numeral characters
_LOOK_END = r"(?=[钱零一二两三四五六七八九\d，。；！？、,.!?;:：\s/）)的左多呢哦啊吧了就起运邮手费押定现红]|$)"
_DUR_UNITS = (
    r"工作日|工作天|自然日|小时|钟头|分钟|秒钟|秒|天|日|星期|礼拜|周|月|年"
    r"|(?:business|working|calendar)[\s-]days?\b|days?\b|hours?\b|hrs?\b|h(?![a-z])|minutes?\b|mins?\b"
    r"|seconds?\b|secs?\b|weeks?\b|months?\b|years?\b"
)
_MONTH_ALT = r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"

# One number (digits, or Chinese numerals) and what follows it; the named group that matched says what it is.
_ZH_UNIT_START = "月点折元圆块美港人毛角天日小分秒周星礼年工自钟个半到至–—~～次回张件期倍页节盒位%％\\-"
_NUMERIC_RE = re.compile(
    rf"[\d{_NC}半](?<![\d.,{_NC}半][\d{_NC}半])"
    # Chinese numerals must be followed by a unit (一般, 一下, 统一 are not numbers): checked first, in C.
    rf"(?:(?<=\d)|(?=[{_NC}]*+\s?[{_ZH_UNIT_START}]))"
    rf"(?:[\d{_NC}]|\.(?=\d)|,(?=\d{{3}}(?!\d)))*+(?:"
    r"(?P<ymd>(?<=(?:19|20)\d\d)\s?[-/.年]\s?\d{1,2}\s?[-/.月]\s?\d{1,2}(?!\d)(?:\s?[日号])?)"
    r"|(?P<md>\s?月\s?(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s?[日号])"
    r"|(?P<hm>[:：][0-5]\d(?![\d:：])(?:\s?[ap]\.?m\.?(?![a-z]))?)"
    r"|(?P<tel>(?:[-\s.()]{1,2}\d+)+(?<=\d{4})(?!\d))"
    r"|(?P<oclock>\s?点(?:半|\d{1,2}分|整)?)"
    r"|(?P<ampm>\s?[ap]\.?m\.?(?![a-z]))"
    r"|(?P<pct>\s?(?:%|％|percent\b|per cent\b)(?:\s?off\b)?)"
    r"|(?P<disc>\s?折(?![叠旧算合返腾痕页线损射磨服]))"
    r"|(?P<amt>\s?(?:元|圆|块钱|块(?:[零一二两三四五六七八九\d](?:毛|角)?|" + _LOOK_END + r")"
    r"|美元|美金|港币|港元|人民币|dollars?\b|bucks\b|yuan\b|rmb\b|cny\b|usd\b|hkd\b))"
    r"|(?P<jiao>\s?(?:毛|角)钱?" + _LOOK_END + r")"
    r"|(?P<dur>(?:\s?(?:-|–|—|~|～|到|至|to|or)\s?(?P<b>\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+))?"
    r"\s?(?P<half>个半|个|半)?\s?(?:-\s?)?(?P<u>" + _DUR_UNITS + r"))"
    r"|(?P<cnt>\s?(?P<cu>次(?!销售|要|日|元)|回(?!复|电|答|来|去|到)|张|件|期|倍|页|节课?|盒|位(?!置|于)|x(?![a-z])"
    r"|times\b|installments?\b|characters?\b"
    r"|coupons?\b|items?\b|pages?\b|lessons?\b|classes\b|boxe?s\b))"
    rf"|(?P<ordmon>(?:st|nd|rd|th)?\s(?:of\s)?(?P<mon2>{_MONTH_ALT})[a-z]*\b)"
    r"|(?P<dom>(?:st|nd|rd|th)\s(?:of\s)?(?:each|every|the)\s(?:calendar\s)?month\b)"
    r"|(?P<h247>(?<=24)/7\b)"
    r"|(?P<d618>(?<=618)(?=\s?(?:大促|活动|期间|购物节|年中|sale|promotion|shopping|and|or|,|，|、)))"
    r"|(?P<bare>(?<=\d)|(?<=\d[万千]))"
    r")"
)
# Literal-prefixed forms: 百分之二十, 每月15日, 双十一, Double 11, 半价.
_PREFIXED_RE = re.compile(
    r"百分之(?P<pz>[零一二两三四五六七八九十百]+|\d+(?:\.\d+)?)(?:点(?P<pzd>[零一二三四五六七八九]+))?"
    r"|每月(?P<dom>\d{1,2}|[一二三四五六七八九十]{1,3})\s?[日号]"
    r"|双\s?(?P<dbl>11|十一|12|十二)"
    r"|double\s?(?P<dbl2>11|12|eleven|twelve)\b"
    r"|singles'? ?day(?P<sd>)"
    r"|半价(?P<hp>)|对折(?P<hp2>)|half[\s-]price(?P<hp3>)"
)
# English number words before a unit: "two days", "a one-year warranty", "three times", "twice".
_EN_NUMWORD_RE = re.compile(
    r"(?P<w>an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|half|twice|once)"
    r"(?:[\s-](?:(?P<bd>business|working|calendar)[\s-])?(?P<u>days?|hours?|hrs?|minutes?|mins?|seconds?|weeks?"
    r"|months?|years?)\b|\s(?:[a-z]+\s)?(?P<cu>times|installments?|coupons?|items?|pages?|lessons?)\b"
    r"|(?<=twice)\b|(?<=once)\b(?! (?:you|we|it|the|your|they|a|an|that|this|shipped|approved|received|delivered"
    r"|paid|confirmed|processed|issued)))"
)
_EN_MONTH_RE = re.compile(
    rf"(?P<mon>{_MONTH_ALT})(?P<rest>[a-z]*)\.?\s(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])(?:,?\s(?P<y>(?:19|20)\d\d))?"
)
_MONTHS = {m: i for i, m in enumerate(_MONTH_ALT.split("|"), start=1)}
_MONTH_NAMES = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december", "sept"}

_DIGITS_RE = re.compile(r"\d+")
_MD_DAY_RE = re.compile(r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s?[日号]$")
_CUR_BEFORE = re.compile(r"(?:us\$|hk\$|[¥￥$]|rmb|cny|usd|hkd)\s?$")
_CTX_BEFORE = re.compile(r"(?:满|减|降|仅需|只需|只要|售价|价格为?|原价|现价|到手价|低至|返现|定金)\s?$")
_TIME_PRE = frozenset(("上午", "下午", "晚上", "早上", "中午", "凌晨", "傍晚"))
_TIME_AFTER_ZH = re.compile(r"半|整|前|后|之前|之后|以前|以后|到|至|开始|截止|左右")
_TIME_AFTER_OK = re.compile(r"半|整|前|后|之前|之后|以前|以后|到|至|[-~～]|开始|截止|左右|\d|[，。；！？,.!?、\s]|$")
_EN_A_OK = re.compile(r"(?:within|in|after|for|about|around|over|than|up to|takes?|only|just|least|most|every)\s*$")
_PCT_OFF_BEFORE = re.compile(r"(?:优惠|减|降|便宜|立减|直降|save|saves|discount of)\s?$")

_DUR_UNIT_MIN: dict[str, float] = {
    "工作日": 1440, "工作天": 1440, "自然日": 1440, "天": 1440, "日": 1440, "小时": 60, "钟头": 60, "分钟": 1,
    "秒": 1 / 60, "秒钟": 1 / 60, "星期": 10080, "礼拜": 10080, "周": 10080, "月": 43200, "年": 518400,
    "day": 1440, "hour": 60, "hr": 60, "h": 60, "minute": 1, "min": 1, "second": 1 / 60, "sec": 1 / 60,
    "week": 10080, "month": 43200, "year": 518400,
}
_COUNT_UNITS = {
    "次": "times", "回": "times", "time": "times", "张": "sheets", "coupon": "sheets", "件": "items", "item": "items",
    "期": "installments", "installment": "installments", "倍": "x", "x": "x", "页": "pages", "page": "pages",
    "节": "lessons", "lesson": "lessons", "class": "lessons", "盒": "boxes", "box": "boxes", "位": "chars",
    "character": "chars",
}

_EMAIL_RE = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
_TLDS = frozenset(
    "com cn net org io co me info biz shop top xyz app dev ai hk tw uk us jp de fr edu gov tv cc vip store online "
    "site tech link ly ru in sg au ca".split()
)
_DOT_RE = re.compile(r"\.(?=[a-z])")
_HOST_RE = re.compile(
    r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+(?P<path>/[a-z0-9\-._~/?=&%#+:@]*)?"
)
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")

_PHONE_FORMS = re.compile(
    r"(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}"  # mobile
    r"|[48]00[-\s]?(?:\d{3}[-\s]?\d{4}|\d{4}[-\s]?\d{3})"  # 400 / 800 hotline
    r"|(?:\+?1[-\s.])?\(?[2-9]\d{2}\)?[-\s.]\d{3}[-\s.]\d{4}"  # North American
    r"|(?:\+?86[-\s]?)?(?:\(0\d{2,3}\)\s?|0\d{2,3}[-\s])\d{7,8}"  # landline with area code
)
_PHONE_CTX_HINT = re.compile(r"拨|致电|电话|热线|call|phone|hotline|dial")
_PHONE_CTX_RE = re.compile(
    r"(?:拨打|致电|电话|热线|call|phone|hotline|dial)[^\d\n]{0,8}?(?<!\d)(?P<n>\d{5,6})(?![\d-])"
)

# --------------------------------------------------------------------------------------------------------------
# Policy terms, by group. Order matters: at one position the first term that matches wins, so specific terms come
# first. Each term starts with a literal character (the patterns are joined into one alternation whose first
# characters the regex engine can scan for). English terms must start a word. Groups in _CONTEXT_GROUPS are
# generic words ("free", "guarantee"); a source supports them only when the clause around the term shares a content
# word with the reply's clause (free pickup does not support free returns).

_POLICY_TERMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("multi_comp", ("退一赔[一二三四五六七八九十\\d]+", "假一赔[一二三四五六七八九十\\d]+",
        "赔[一二三四五六七八九十\\d]+倍", "triple (?:the )?(?:compensation|refund|money)",
        "double (?:the )?(?:compensation|refund|money)", "three[- ]?times (?:the )?(?:compensation|refund|money)",
        "ten[- ]?times")),
    ("full_refund", ("全额退款", "全额退还", "全额返还", "全额退回", "全额退", "全额", "退全款", "全款退[还回款]?",
        "全部退款", "全部‸金额", "full refund", "full amount", "full price back", "fully refund(?:ed)?",
        "refunds? in full", "refunded in full", "refund (?:you )?the full (?:amount|price)")),
    ("no_reason_return", ("无‸理由(?:退货|退换货?|退款)?", "no[- ]questions?[- ]asked", "no[- ]reason",
        "for any reason")),
    ("coupon", ("优惠‸券", "代金‸券", "满减‸券", "新人‸券", "生日‸券", "包邮‸券", "现金‸券", "折扣‸券", "无门槛‸券",
        "店铺‸券", "运费‸券", "coupons?\\b", "vouchers?\\b")),
    ("free_shipping", ("包邮", "免运费", "免邮费?", "运费‸全免", "不‸收运费", "免配送费", "免费配送", "免费送货",
        "包运费", "free[- ](?:shipping|delivery)", "ships? (?:for )?free", "shipping is free", "delivery is free")),
    ("lifetime", ("终身", "永久", "终生", "永不过期", "不会‸过期", "长期‸有效", "lifetime", "for life\\b", "forever",
        "permanent(?:ly)?", "never expires?")),
    ("price_protection", ("价格保护", "价保", "保价", "退差价", "补差价", "差价", "price protection",
        "price match(?:ing)?", "price guarantee", "refund the difference")),
    ("cod", ("货‸到付款", "cash on delivery", "pay on delivery", "cod\\b")),
    ("interest_free", ("免息", "零利息", "interest[- ]free", "zero interest", "no interest")),
    ("exception", ("特批", "破例", "特殊处理", "特事特办", "通‸融", "make an exception", "special exception",
        "as an exception")),
    ("insurance", ("退货运费‸险", "运费‸险", "退货‸险", "shipping insurance", "return(?: shipping)? insurance")),
    ("onsite", ("上‸门(?:取件|取货|回收|安装|维修)?", "free ‸pickup", "home ‸pickup", "book a ‸pickup",
        "schedule a ‸pickup", "door[- ]to[- ]door", "on-?site")),
    ("reship", ("补发", "重发", "再发一件", "resend", "re-send", "reship",
        "send (?:you )?(?:a |the )?(?:new one|replacement|missing item)", "replacement")),
    ("unconditional", ("无‸条件", "不问‸原因", "不需要任何‸理由", "不需要‸理由", "unconditional(?:ly)?",
        "no strings attached", "no matter what")),
    ("compensation", ("赔偿", "补偿", "赔付", "赔款", "理赔", "赔给", "compensat(?:e|ed|es|ion|ing)\\b",
        "reimburs(?:e|ed|ement)\\b", "payout", "claim up to")),
    ("assurance", ("保证(?!金)", "承‸诺", "担保", "百分之百", "百分百", "绝对",
        "一‸定(?=会|能|可以|给|为|帮|退|送|到|赔|是|让|在)", "肯‸定(?=会|能|可以|给|为|帮|退|送|到|是)",
        "guarantee[sd]?\\b", "guaranteeing", "promise[sd]?\\b", "definitely", "certainly will")),
    ("warranty", ("保修", "质保", "包修", "保固", "三‸包", "warrant(?:y|ies|ied)\\b")),
    ("priority", ("加急", "优先(?:发货|处理|安排|退款)", "expedite[sd]?\\b", "priority")),
    ("gift", ("赠品", "赠送", "附赠", "送您", "送你", "买一送一", "返现", "红包", "礼品(?!卡)", "礼包", "free gift",
        "gifts?\\b(?! cards?)", "cash ?back", "bonus", "freebie")),
    ("free", ("免费", "不‸收费", "不‸收取(?:任何)?(?:手续费|费用)", "零元", "无需支付‸费用", "无需付‸费用",
        "无需‸费用", "免手续费", "free of charge", "for free", "at no (?:extra |additional )?(?:cost|charge)",
        "no (?:extra |additional )?(?:charges?|fees?)\\b", "don't charge", "do not charge", "won't charge",
        "free\\b(?!\\s+to\\b)(?!-)(?<!feel free)(?<!toll-free)(?<!toll free)")),
    ("refund", ("退款", "退钱", "退回货款", "退还货款", "原路‸退回", "原路‸返还", "原路‸退还", "自动‸退回",
        "refund(?:s|ed|ing)?\\b", "money back")),
    ("return", ("退货", "退换", "退回商品",
        "return(?:s|ed|ing)?\\b(?! to (?:the )?(?:home|main|previous|menu|page)| shipping| postage| label| address)")),
    ("exchange", ("换货", "换新", "调换", "exchang(?:e|es|ed|ing)\\b")),
)


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
_CONTEXT_GROUPS = frozenset({"free", "assurance", "compensation", "gift", "lifetime", "unconditional", "coupon"})

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

_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_RUN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_TOKEN_RE = re.compile(r"[\u3400-\u9fff]+|[a-z]{3,}|\d+(?:\.\d+)?")
_STOP_TOKENS = frozenset(
    "我们 您的 为您 可以 如果 请您 您可 会为 的话 一下 需要 我们会 您可以 会在 将为 您在 是否 以及 或者 "
    "我们将 给您 帮您 都会 "
    "the and for you your our we will can with that this are any all get have has not its from into also been".split()
)
_STRIP_FOR_LANG = re.compile(r"```.*?```|`[^`\n]*`|\[[^\[\]\n]{1,16}\]", re.S)
_ASCII_LETTER = re.compile(r"[a-z]")
_PREFIX_CHARS = re.compile(r"[百每双半对]")
_PREFIX_WORDS = re.compile(r"double|singles|half")
_PLACEHOLDER_RE = re.compile(r"\[[^\[\]\n]{1,16}\]|【[^【】\n]{1,16}】|<[A-Z_]{2,20}>")
_WITHIN_AFTER = re.compile(r"\s?(?:以内|之内|内)")
_WITHIN_BEFORE = re.compile(r"(?:within|up to|no more than|at most|in under|最多|最迟|最长|不超过|至多)\s?$")
_DIFF_CONTEXT = re.compile(r"差|便宜|省|少|降|减|优惠|save|less|cheaper|off|difference|remaining|short")


# --------------------------------------------------------------------------------------------------------------
# Extraction. Internally a claim is a tuple (kind, start, end, value); Claim objects are made only for callers.

_Raw = tuple[str, int, int, str]
_EMPTY: frozenset[int] = frozenset()


def _numeric(low: str, bare: list[tuple[int, float]] | None, runs: list[str] | None = None) -> list[_Raw]:
    """Claims that start with a number; digit numbers that carry no unit go to `bare` (for tables and lists) and
    digit runs that may be phone numbers to `runs`."""
    out: list[_Raw] = []
    pos = 0
    while m := _NUMERIC_RE.search(low, pos):
        pos = m.end()
        kind = m.lastgroup
        s = m.start()
        te = m.start(kind) if kind else m.end()
        tok = low[s:te]
        if kind == "tel" or (kind == "bare" and te - s >= 7 and tok.isdigit()):
            a = s - 1 if s > 0 and low[s - 1] in "+(" else s
            e = m.end() if kind == "tel" else te
            cand = low[a:e]
            if runs is not None:
                runs.append(cand)
            if _PHONE_FORMS.fullmatch(cand):
                out.append(("phone", a, e, _phone_digits(cand)))
                continue
            if kind == "tel":
                kind = "bare"  # not a phone number (a range such as 1000-2000元): read on after this number
                pos = te
        if kind == "bare":
            prev = low[max(0, s - 5):s].rstrip()
            last = prev[-1:]
            if not last:
                pass
            elif last in "¥￥$bydk":
                cm = _CUR_BEFORE.search(low, max(0, s - 5), s)
                v = _num(tok)
                if cm and v is not None:
                    sym = cm.group().strip()
                    cur = "USD" if sym in ("$", "us$", "usd") else "HKD" if sym in ("hk$", "hkd") else "CNY"
                    e = te
                    if e < len(low) and low[e] in "万千":
                        v *= 10_000 if low[e] == "万" else 1000
                        e += 1
                    out.append(("amount", cm.start(), e, f"{cur}:{_fmt(v)}"))
                    continue
            elif last in "满减降需要价格为至现金" and _CTX_BEFORE.search(low, max(0, s - 4), s):
                v = _num(tok)
                if v is not None and not low.startswith(("%", "％", "折", "积分"), te):
                    out.append(("amount", s, te, f"CNY:{_fmt(v)}"))
                    continue
            if bare is not None and (s == 0 or not ("a" <= low[s - 1] <= "z")):
                v = _num(tok)
                if v is not None:
                    bare.append((s, v))
            continue
        raw = _classify(low, m, kind or "", s, te, tok)
        if raw is not None:
            out.append(raw)
    return out


def _classify(low: str, m: re.Match[str], kind: str, s: int, te: int, tok: str) -> _Raw | None:
    e = m.end()
    if kind == "amt":
        v = _num(tok)
        if v is None:
            return None
        suffix = low[te:e].lstrip()
        c0 = suffix[0]
        cur = "USD" if c0 in "美dbu" else "HKD" if c0 in "港h" else "CNY"
        if c0 == "块" and len(suffix) > 1 and suffix[1] != "钱":
            v += (_num(suffix[1]) or 0) / 10
        if s > 0 and low[s - 1] in "¥￥$":
            s -= 1
        return ("amount", s, e, f"{cur}:{_fmt(v)}")
    if kind == "jiao":
        v = _num(tok)
        return None if v is None or v >= 10 else ("amount", s, e, f"CNY:{_fmt(v / 10)}")
    if kind in ("pct", "disc"):
        v = _num(tok)
        if v is None:
            return None
        if kind == "pct":
            if low[te:e].rstrip().endswith("off") or _PCT_OFF_BEFORE.search(low, max(0, s - 12), s):
                v = 100 - v  # 20% off is the same discount as 八折: the customer pays 80%
        elif tok[0].isdigit():
            v = v * 10 if len(tok) == 1 or "." in tok else v
            if v > 100:
                return None
        else:
            if len(tok) > 2:
                return None
            v = v * 10 if len(tok) == 1 else v
        return ("percent", s, e, _fmt(v))
    if kind == "dur":
        return _duration(low, m, s, e, tok)
    if kind == "cnt":
        if s > 0 and low[s - 1] in "第每":
            return None
        v = _num(tok)
        cu = m.group("cu")
        key = cu[0] if cu[0] > "\u3000" else cu[:-2] if cu in ("boxes", "classes") else cu.rstrip("s") or cu
        unit = _COUNT_UNITS.get(key)
        return None if v is None or not unit else ("count", s, e, f"{_fmt(v)}:{unit}")
    if kind in ("ymd", "md", "ordmon", "d618"):
        return _date(low, m, kind, s, e, tok)
    if kind == "dom":
        d = _num(tok)
        return ("date", s, e, f"day-{int(d):02d}") if d and 1 <= d <= 31 else None
    if kind == "h247":
        return ("duration", s, e, "1440") if tok == "24" else None
    if kind in ("hm", "oclock", "ampm"):
        return _time(low, m, kind, s, te, e, tok)
    return None


def _date(low: str, m: re.Match[str], kind: str, s: int, e: int, tok: str) -> _Raw | None:
    if kind == "ymd":
        parts = _DIGITS_RE.findall(low, s, e)
        if len(parts) != 3 or len(parts[0]) != 4:
            return None
        mo, d = int(parts[1]), int(parts[2])
        return ("date", s, e, f"{parts[0]}-{mo:02d}-{d:02d}") if 1 <= mo <= 12 and 1 <= d <= 31 else None
    if kind == "md":
        mo_f = _num(tok)
        dm = _MD_DAY_RE.search(low, s, e)
        d_f = _num(dm.group(1)) if dm else None
        if mo_f and d_f and 1 <= mo_f <= 12 and 1 <= d_f <= 31:
            return ("date", s, e, f"{int(mo_f):02d}-{int(d_f):02d}")
        return None
    if kind == "ordmon":
        d = _num(tok)
        mo = _MONTHS.get(m.group("mon2") or "", 0)
        return ("date", s, e, f"{mo:02d}-{int(d):02d}") if d and 1 <= d <= 31 and mo else None
    return ("date", s, e, "06-18") if tok == "618" else None


def _time(low: str, m: re.Match[str], kind: str, s: int, te: int, e: int, tok: str) -> _Raw | None:
    """A time of day as time:HH:MM; 下午4点 and 4pm are 16:00, a bare 4点 stays 04:00 (compared ±12 h)."""
    a = s - 1 if s > 0 and low[s - 1] == " " else s
    pre = low[a - 2:a] if a >= 2 and low[a - 2:a] in _TIME_PRE else ""
    suffix = low[te:e]
    if kind == "oclock" and not pre and not (_TIME_AFTER_OK if tok[0].isdigit() else _TIME_AFTER_ZH).match(low, e):
        return None  # 一点 in 便宜一点 is not a time
    hf = _num(tok)
    if hf is None or hf != int(hf):
        return None
    h, mi = int(hf), 0
    if kind == "hm":
        mi = int(suffix[1:3])
    elif "半" in suffix:
        mi = 30
    elif "分" in suffix:
        digits = "".join(ch for ch in suffix if ch.isdigit())
        mi = int(digits) if digits else 0
    if h > 24 or mi > 59:
        return None
    tail = suffix.replace(".", "").rstrip()
    ap = "p" if tail.endswith("pm") else "a" if tail.endswith("am") else ""
    if (ap == "p" or pre in ("下午", "晚上", "傍晚")) and h < 12:
        h += 12
    if (ap == "a" or pre in ("上午", "早上", "凌晨")) and h == 12:
        h = 0
    return ("date", a - 2 if pre else s, e, f"time:{h:02d}:{mi:02d}")


def _duration(low: str, m: re.Match[str], s: int, e: int, tok: str) -> _Raw | None:
    u, half, b_s = m.group("u", "half", "b")
    half = half or ""
    if u[0].isascii():
        u = u.replace("-", " ").split()[-1]
        u = u[:-1] if u.endswith("s") and u not in ("hrs",) else u.rstrip("s")
    elif u == "月" and "个" not in half:
        return None  # 3月 is March; a duration in months is 3个月
    if s > 0 and low[s - 1] in "第每":
        return None
    unit_min = _DUR_UNIT_MIN.get(u)
    a = _num(tok)
    if unit_min is None or a is None:
        return None
    if u == "年" and (a > 100 or (tok[0].isdigit() and len(tok) >= 4)):
        return None  # 2024年 is a year
    if u == "日" and s > 0 and low[s - 1] in "月号":
        return None
    b = _num(b_s) if b_s else None
    if b is None and not tok[0].isdigit() and len(tok) == 2 and all(c in _ZH_DIGIT for c in tok):
        x, y = _ZH_DIGIT[tok[0]], _ZH_DIGIT[tok[1]]
        if y > x:
            a, b = float(x), float(y)  # 两三天, 三五天: a colloquial range
    if half.endswith("半") and tok != "半":
        a += 0.5
    lo = a * unit_min
    value = f"{_fmt(lo)}-{_fmt(b * unit_min)}" if b is not None and b > a else _fmt(lo)
    return ("duration", s, e, value)


def _prefixed(low: str) -> list[_Raw]:
    out: list[_Raw] = []
    for m in _PREFIXED_RE.finditer(low):
        g = m.lastgroup
        s, e = m.span()
        if g in ("pz", "pzd"):
            v = _num(m.group("pz"))
            if v is not None:
                if m.group("pzd"):
                    v += float("0." + "".join(str(_ZH_DIGIT[c]) for c in m.group("pzd")))
                out.append(("percent", s, e, _fmt(v)))
        elif g == "dom":
            d = _num(m.group("dom"))
            if d and 1 <= d <= 31:
                out.append(("date", s, e, f"day-{int(d):02d}"))
        elif g in ("dbl", "dbl2", "sd"):
            which = m.group("dbl") or m.group("dbl2") or "11"
            out.append(("date", s, e, "12-12" if which in ("12", "十二", "twelve") else "11-11"))
        elif g in ("hp", "hp2", "hp3"):
            out.append(("percent", s, e, "50"))
    return out


def _en_words(low: str) -> list[_Raw]:
    out: list[_Raw] = []
    for m in _EN_NUMWORD_RE.finditer(low):
        s, e = m.span()
        if s > 0 and low[s - 1].isalpha():
            continue
        w = m.group("w")
        if w == "once":
            if low.endswith(("ed ", "be ", "only ", "just "), 0, s):
                out.append(("count", s, e, "1:times"))  # "can be exchanged once", not "once it ships"
            continue
        if w == "twice":
            out.append(("count", s, e, "2:times"))
            continue
        v = _EN_NUM.get(w)
        if v is None:
            continue
        if w in ("a", "an", "half") and not _EN_A_OK.search(low, max(0, s - 12), s):
            continue  # "twice a day" and "24 hours a day" are not time limits
        if m.group("u"):
            u = m.group("u")
            u = u[:-1] if u.endswith("s") else u
            out.append(("duration", s, e, _fmt(v * _DUR_UNIT_MIN[u])))
        elif m.group("cu"):
            unit = _COUNT_UNITS.get(m.group("cu").rstrip("s"))
            if unit:
                out.append(("count", s, e, f"{_fmt(v)}:{unit}"))
    for m in _EN_MONTH_RE.finditer(low):
        s, e = m.span()
        word = m.group("mon") + m.group("rest")
        if (s > 0 and low[s - 1].isalpha()) or (m.group("rest") and word not in _MONTH_NAMES):
            continue
        d = int(m.group("d"))
        if 1 <= d <= 31:
            mo = _MONTHS[m.group("mon")]
            out.append(("date", s, e, f"{m.group('y')}-{mo:02d}-{d:02d}" if m.group("y") else f"{mo:02d}-{d:02d}"))
    return out


def _links(low: str) -> list[_Raw]:
    out: list[_Raw] = []
    last = -1
    for d in _DOT_RE.finditer(low):
        i = d.start()
        if i < last:
            continue
        s = i
        while s > 0 and low[s - 1] in _HOST_CHARS:
            s -= 1
        m = _HOST_RE.match(low, s)
        if not m or m.end() <= i:
            continue
        e = m.end()
        host = low[s:m.start("path")] if m.group("path") else low[s:e]
        if s > 0 and low[s - 1] == "@":
            last = e
            continue  # the domain of an e-mail address
        tld = host.rsplit(".", 1)[-1]
        if tld not in _TLDS:
            continue
        path = (m.group("path") or "").rstrip(".,;:!?'\")")
        e = (m.start("path") if m.group("path") else e) + len(path)
        if low.startswith(("http://", "https://"), max(0, s - 8)) and low[s - 3:s] == "://":
            s = low.rfind("http", 0, s)
        host = host[4:] if host.startswith("www.") else host
        path = path.split("?")[0].split("#")[0].strip("/")
        out.append(("link", s, e, f"{host}/{path}" if path else host))
        last = e
    return out


def _phone_digits(s: str) -> str:
    d = "".join(ch for ch in s if ch.isdigit())
    if (len(d) == 13 and d.startswith("861")) or (len(d) >= 12 and d.startswith("860")):
        d = d[2:]  # +86
    return d


def _emails(low: str) -> list[_Raw]:
    return [("email", m.start(), m.end(), m.group()) for m in _EMAIL_RE.finditer(low)]


def _lower(text: str) -> str:
    low = text.lower()
    return low if len(low) == len(text) else text  # a few Unicode letters change length when lower-cased


# Claim kinds in priority order when two spans overlap: an e-mail's domain is not a link, a date is not a phone.
_PRIORITY = {"email": 0, "link": 1, "phone": 2, "date": 3, "percent": 4, "amount": 5, "duration": 6, "count": 7}


def _start_priority(r: _Raw) -> tuple[int, int]:
    return r[1], _PRIORITY[r[0]]


def _raw_claims(
    low: str, runs: list[str] | None = None, bare: list[tuple[int, float]] | None = None
) -> list[_Raw]:
    """All non-policy claims of a lower-cased text, overlaps resolved by kind priority, in reading order."""
    numeric = _numeric(low, bare, runs)
    cands: list[_Raw] = []
    if _PHONE_CTX_HINT.search(low):
        cands += [("phone", m.start("n"), m.end("n"), m.group("n")) for m in _PHONE_CTX_RE.finditer(low)]
    if "." in low:
        cands += _links(low)
    if "@" in low:
        cands += _emails(low)
    ascii_letters = _ASCII_LETTER.search(low) is not None
    if _PREFIX_CHARS.search(low) or (ascii_letters and _PREFIX_WORDS.search(low)):
        cands += _prefixed(low)
    if ascii_letters:
        cands += _en_words(low)
    if not cands:
        return numeric  # one scan: in order, no overlaps
    cands += numeric
    cands.sort(key=_start_priority)
    kept: list[_Raw] = []
    for c in cands:
        if kept and c[1] < kept[-1][2]:  # overlaps the last kept claim (the only one it can overlap)
            if _PRIORITY[c[0]] < _PRIORITY[kept[-1][0]]:
                kept[-1] = c
            continue
        kept.append(c)
    return kept


# A policy term found in a text: (group, start, end, negated). Its clause is read only when needed (_context).
_Mention = tuple[str, int, int, bool]


def _negated(low: str, start: int, end: int, cues: Sequence[int]) -> bool:
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
            before = low[max(0, start - 24):start]
            if _NEG_BEFORE_ZH.search(before[-10:]) or _NEG_LIST_ZH.search(before):
                return True
        if low[start - 1:start].isascii() and _NEG_BEFORE_EN.search(low, max(0, start - 48), start):
            return True
    j = bisect_left(cues, end, i)
    if j == len(cues) or cues[j] >= end + 40:
        return False
    return bool(_NEG_AFTER_ZH.match(low, end, end + 40) or _NEG_AFTER_EN.match(low, end, end + 40))


def _clause(low: str, start: int, end: int) -> tuple[int, int]:
    """The clause (between punctuation, at most 40 characters either side) around a span."""
    lo = max(0, start - 40)
    m = _LAST_MARK.match(low, lo, start)
    if m:
        lo = m.end()
    m2 = _CLAUSE_END.search(low, end, end + 40)
    return lo, (m2.start() if m2 else min(len(low), end + 40))


@lru_cache(maxsize=8192)
def _tokens(s: str) -> frozenset[str]:
    """Content tokens of a clause for a rough overlap test: CJK bigrams, 5-letter word stems, numbers."""
    out: set[str] = set()
    for m in _TOKEN_RE.finditer(s):
        t = m.group()
        if "\u3400" <= t[0] <= "\u9fff":
            out.update(t[i:i + 2] for i in range(len(t) - 1))
        elif t[0].isdigit():
            out.add(t)
        else:
            out.add(t[:5])
    return frozenset(out - _STOP_TOKENS)


def _context(low: str, start: int, end: int) -> str:
    """The clause around a policy term, the term itself left out: what the term is said about."""
    lo, hi = _clause(low, start, end)
    return low[lo:start] + " " + low[end:hi]


def _policy_terms(low: str, skip: Sequence[tuple[int, int]]) -> list[tuple[str, int, int]]:
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
def _cues(low: str) -> list[int]:
    """Sorted positions of negation words in a text."""
    cues = [c.start() for c in _NEG_CUE_ZH.finditer(low)]
    if _ASCII_LETTER.search(low):
        cues = sorted(cues + [c.start() for c in _NEG_CUE_EN.finditer(low)])
    return cues


@lru_cache(maxsize=16384)
def _stated(where: tuple[str, int, int]) -> bool:
    """Whether a source's policy term is stated, not negated (cached with the source)."""
    low, s, e = where
    return not _negated(low, s, e, _cues(low))


def _policy_mentions(low: str, skip: Sequence[tuple[int, int]]) -> list[_Mention]:
    terms = _policy_terms(low, skip)
    if not terms:
        return []
    cues = _cues(low)
    return [(group, s, e, _negated(low, s, e, cues)) for group, s, e in terms]


def extract_claims(text: str) -> list[Claim]:
    """Every checkable claim in a text, in reading order; negated policy terms (不支持包邮) are not claims."""
    low = _lower(text)
    raw = _raw_claims(low)
    claims = [Claim(k, text[s:e], s, e, v) for k, s, e, v in raw]
    spans = [(r[1], r[2]) for r in raw if r[0] in ("link", "email")]
    for group, s, e, negated in _policy_mentions(low, spans):
        if not negated:
            claims.append(Claim("policy", text[s:e], s, e, group))
    claims.sort(key=lambda c: (c.start, c.end))
    return claims


# --------------------------------------------------------------------------------------------------------------
# Support: what the sources and the customer's own words allow a reply to say


@dataclass
class _Facts:
    """Normalised values found in one text, by kind (policy terms are kept apart, in _policy_facts)."""

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


class _Union:
    """The facts of several texts, each field merged the first time it is read (most replies need few kinds)."""

    def __init__(self, parts: Sequence[_Facts]) -> None:
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

    # For the type checker: the fields of _Facts.
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
def _facts(text: str) -> _Facts:
    """Normalised facts of one source or customer text, cached: the same FAQ answers come back turn after turn."""
    f = _Facts()
    low = _lower(text)
    runs: list[str] = []
    bare: list[tuple[int, float]] = []
    raw = _raw_claims(low, runs, bare)
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
        d = _phone_digits(run)
        if len(d) >= 5:
            f.phones.add(d)
    for _p, v in bare:
        f.bare_numbers.add(v)
        f.bare_cents.add(round(v * 100))
        if 1900 <= v <= 2099 and v == int(v):
            f.years.add(str(int(v)))
    return f


# Where a source states a policy: (lower-cased source, start, end), its clause read only if a reply needs it.
_Where = tuple[str, int, int]


@lru_cache(maxsize=4096)
def _policy_facts(text: str) -> dict[str, list[_Where]]:
    """The policies a source mentions, each with where; whether the mention is negated is read on demand."""
    low = _lower(text)
    skip = [(r[1], r[2]) for r in _links(low) + _emails(low)] if ("." in low or "@" in low) else []
    out: dict[str, list[_Where]] = {}
    for group, s, e in _policy_terms(low, skip):
        out.setdefault(group, []).append((low, s, e))  # negation is read when a reply makes this claim
    return out


def prepare_sources(texts: Iterable[str]) -> None:
    """Normalise sources ahead (when the knowledge base is loaded or a passage is indexed), so that checking a reply
    only reads their cached facts: a first sight of three 300-character sources costs more than the reply."""
    for t in texts:
        if t:
            _facts(t)
            _policy_facts(t)


def clear_source_cache() -> None:
    """Forget the cached normalisation of source and customer texts: benchmarks measure a first sight."""
    _facts.cache_clear()
    _policy_facts.cache_clear()
    _tokens.cache_clear()
    _cues.cache_clear()
    _stated.cache_clear()
    _names.cache_clear()
    _cjk_runs.cache_clear()


def _amount_ok(cur: str, v: float, src: _Union, cust: _Union, low: str, s: int, e: int) -> bool:
    """An amount is supported when a text states it, or it is the difference between the customer's amount and a
    source amount (还差20元), or between two source amounts in a comparison (便宜50元), or a stated discount of one."""
    c = round(v * 100)
    have_s: set[int] | frozenset[int] = src.amounts.get(cur, _EMPTY)
    have_c: set[int] | frozenset[int] = cust.amounts.get(cur, _EMPTY)
    if cur == "CNY":
        have_c = have_c | cust.bare_cents
    if c in have_s or c in have_c or (cur == "CNY" and c in src.bare_cents):
        return True
    percents = src.percents | cust.percents
    compare = _DIFF_CONTEXT.search(low, max(0, s - 8), min(len(low), e + 4)) is not None
    for a in have_s:
        if a - c in have_c or a + c in have_c:
            return True
        if compare and (a - c in have_s or a + c in have_s):
            return True
    # A stated rate applied to a stated amount (10万元按0.02%计算 → 20元).
    return bool(percents) and any(a and round(c * 100 / a, 2) in percents for a in (*have_s, *have_c))


def _upper_bound(low: str, s: int, e: int) -> bool:
    """Whether a duration is stated as a limit (3天内, within 24 hours): it may not be the short end of a range."""
    return bool(_WITHIN_AFTER.match(low, e) or _WITHIN_BEFORE.search(low, max(0, s - 14), s))


def _year_forms(v: float) -> tuple[float, ...]:
    """A year is 12 months of 30 days here, and 365 days in a source that says 365天: both forms of N years."""
    if v and v % 518400 == 0:
        return v, v / 518400 * 525600
    if v and v % 525600 == 0:
        return v, v / 525600 * 518400
    return (v,)


def _duration_ok(value: str, facts: _Union, low: str, s: int, e: int) -> bool:
    lo_s, _, hi_s = value.partition("-")
    lo = float(lo_s)
    if not hi_s:
        forms = _year_forms(lo)
        if any(f in facts.dur_bounds for f in forms):
            return True
        return any(f in facts.dur_points for f in forms) and not _upper_bound(low, s, e)
    hi = float(hi_s)
    if (lo, hi) in facts.dur_ranges or (lo in facts.dur_points and hi in facts.dur_points):
        return True
    # "3-7 for bank cards": a range whose unit the source gave once, earlier in the sentence.
    ends = _DIGITS_RE.findall(low, s, e)
    return len(ends) == 2 and all(float(x) in facts.bare_numbers for x in ends)


def _date_ok(value: str, facts: _Union) -> bool:
    if value.startswith("time:"):
        if value in facts.times:
            return True
        h, mi = int(value[5:7]), value[8:10]
        return any(f"time:{(h + d) % 24:02d}:{mi}" in facts.times for d in (12, -12))
    if value in facts.dates:
        return True
    if value.startswith("day-"):
        return any(d.endswith(value[3:]) for d in facts.dates if not d.startswith("time:"))
    if len(value) == 5:  # MM-DD: any stated date on that day
        return any(d.endswith(value) for d in facts.dates)
    return value[5:] in facts.dates and value[:4] in facts.years


def _link_ok(value: str, facts: _Union) -> bool:
    if value in facts.links:
        return True
    host, _, path = value.partition("/")
    for have in facts.links:
        h_host, _, h_path = have.partition("/")
        if h_host == host and (not path or h_path == path or h_path.startswith(path + "/")):
            return True
    return False


def _phone_ok(value: str, facts: _Union) -> bool:
    if value in facts.phones:
        return True
    if len(value) >= 10:
        return any(len(p) >= 10 and (p.endswith(value) or value.endswith(p)) for p in facts.phones)
    return False


def _count_ok(value: str, facts: _Union) -> bool:
    if value in facts.counts:
        return True
    n = float(value.partition(":")[0])
    return n >= 2 and n in facts.bare_numbers  # a table cell, or "3, 6 or 12 installments"


def _is_zh(tokens: frozenset[str]) -> bool:
    return any("\u3400" <= t[0] <= "\u9fff" for t in tokens)


def _policy_ok(group: str, reply_context: str, policies: dict[str, list[_Where]]) -> bool:
    mentions = policies.get(group)
    reply_tokens = _tokens(reply_context) if group in _CONTEXT_GROUPS else frozenset()
    if group == "free" and not mentions:
        mentions = policies.get("free_shipping")
        if mentions and not (reply_tokens & _SHIPPING_TOKENS):
            mentions = None
        elif mentions:
            return True
    if not mentions and group in _IMPLIED_BY:
        mentions = [w for g in _IMPLIED_BY[group] for w in policies.get(g, ())]
    if not mentions:
        return False
    if group not in _CONTEXT_GROUPS or not reply_tokens:
        return True
    reply_zh = _is_zh(reply_tokens)
    for where in mentions:
        toks = _tokens(_context(*where))
        # A bare term, or a source in another language than the reply, has no words to compare: the term must do.
        if not toks or reply_tokens & toks or reply_zh != _is_zh(toks):
            return True
    return False


def _universal(low: str, start: int, end: int) -> bool:
    """Whether the clause states a policy for everything (所有商品, 全场, 一律, all orders): an over-generalisation
    unless a source says it as broadly."""
    if not _UNIVERSAL.search(low, max(0, start - 40), end + 40):
        return False
    lo, hi = _clause(low, start, end)
    lo = max(lo, low.rfind("、", lo, start) + 1)
    cut = low.find("、", end, hi)
    hi = hi if cut < 0 else cut
    return _UNIVERSAL.search(low, lo, start) is not None or _UNIVERSAL.search(low, end, hi) is not None


_UNIVERSAL = re.compile(
    r"所有|全部|全场|全国|一律|任何|无论|不论|均可|always|every(?:thing|one)?\b"
    r"|all (?:orders|items|products|purchases|returns)|any (?:order|item|product|purchase)"
)
# A source stating the key (无理由退货) states the general policy (退货) too.
_IMPLIED_BY = {"refund": ("full_refund",), "return": ("no_reason_return",), "compensation": ("multi_comp",)}
# Source groups a reply claim may be checked against.
_RELATED = {**_IMPLIED_BY, "free": ("free_shipping",)}
_SHIPPING_TOKENS = frozenset({"运费", "邮费", "配送", "shipp", "deliv", "快递"})


def _supported(kind: str, value: str, low: str, s: int, e: int, src: _Union, ground: _Union, cust: _Union) -> bool:
    if kind == "amount":
        cur, _, n = value.partition(":")
        return _amount_ok(cur, float(n), src, cust, low, s, e)
    if kind == "percent":
        return float(value) in ground.percents
    if kind == "date":
        return _date_ok(value, ground)
    if kind == "duration":
        return _duration_ok(value, ground, low, s, e)
    if kind == "count":
        return _count_ok(value, ground)
    if kind == "link":
        return _link_ok(value, ground)
    if kind == "phone":
        return _phone_ok(value, ground)
    if kind == "email":
        return value in ground.emails
    return True


# --------------------------------------------------------------------------------------------------------------
# Language


def _lang_weights(text: str, forgive_words: set[str], forgive_cjk: set[str]) -> tuple[float, float]:
    """Chinese and English weight of a text, in rough word units; quoted names from the sources do not count."""
    zh = 0.0
    for run in _CJK_RUN_RE.findall(text):
        if run not in forgive_cjk:
            zh += len(run) / 1.7
    en = 0.0
    for w in _WORD_RE.findall(text):
        low = w.lower()
        if (len(w) == 1 and low not in ("a", "i")) or low in forgive_words:
            continue
        if w.islower():
            en += 1.0
        elif w.isupper():
            en += 0.2  # VIP, SKU, PDF: acronyms are used in Chinese text too
        else:
            en += 0.5  # AirPods, Visa: product and brand names
    return zh, en


def _question_lang(question: str) -> str:
    """zh, en or any (a mixed question accepts either). Capitalised names (iPhone 15 Pro) do not make it English."""
    cjk = len(_CJK_RE.findall(question))
    zh, en = _lang_weights(question, set(), set())
    if cjk >= 2 and 1.5 * en <= cjk:
        return "zh"
    if zh + en < 0.5:
        return "any"
    share = zh / (zh + en)
    if share >= 0.55:
        return "zh"
    if share <= 0.3:
        return "en"
    return "any"


@lru_cache(maxsize=4096)
def _names(text: str) -> frozenset[str]:
    """Words of a source that are names (capitalised, or with digits), lower-cased: quoting them is not English."""
    return frozenset(w.lower() for w in _WORD_RE.findall(text) if not w.islower())


@lru_cache(maxsize=4096)
def _cjk_runs(text: str) -> frozenset[str]:
    return frozenset(_CJK_RUN_RE.findall(text))


def _language_problem(
    reply: str, question: str, sources: Sequence[str], spans: Sequence[tuple[int, int]] = ()
) -> str | None:
    """None when the reply is in the question's language (or too short to tell), else why not.

    `spans` (links, e-mail addresses) are left out, as are code and [placeholders].
    """
    want = _question_lang(question)
    if want == "any" or (want == "zh" and not _WORD_RE.search(reply)) or (want == "en" and not _CJK_RE.search(reply)):
        return None
    body = reply
    for a, b in sorted(spans, reverse=True):
        body = body[:a] + " " + body[b:]
    if "`" in body or "[" in body:
        body = _STRIP_FOR_LANG.sub(" ", body)
    if want == "zh":
        # Product and brand names quoted from the sources, and any word the customer used, are not English prose.
        named = {w.lower() for w in _WORD_RE.findall(question)}
        for t in sources:
            named |= _names(t)
        zh, en = _lang_weights(body, named, set())
    else:
        runs: set[str] = set()
        for t in (*sources, question):
            runs |= _cjk_runs(t)
        zh, en = _lang_weights(body, set(), runs)
    if zh + en < 3:
        return None
    share = zh / (zh + en)
    if want == "zh" and share < 0.5:
        return f"question is Chinese, reply is {1 - share:.0%} English"
    if want == "en" and share > 0.5:
        return f"question is English, reply is {share:.0%} Chinese"
    return None


# --------------------------------------------------------------------------------------------------------------
# The check


def check_reply(
    reply: str,
    sources: Sequence[str],
    *,
    question: str,
    customer_texts: Sequence[str] = (),
    pii_detector: Callable[[str], list[tuple[int, int, str]]] | None = None,
) -> OutputVerdict:
    """Check a generated reply against the sources given to the model and what the customer said.

    Numbers, dates, links, phones and e-mails may come from the sources or the customer (their own order amount,
    their own phone number); policy promises only from the sources. `pii_detector` returns (start, end, kind)
    spans; a span whose text the customer did not give in this session (nor a source, such as the shop's own
    contact) is a leak.
    """
    low = _lower(reply)
    problems: list[Problem] = []
    raw = _raw_claims(low)
    if raw:
        src_parts = [_facts(t) for t in sources if t]
        cust_parts = [_facts(t) for t in (question, *customer_texts) if t]
        src, cust = _Union(src_parts), _Union(cust_parts)
        ground = _Union(src_parts + cust_parts)
        for kind, s, e, v in raw:
            if not _supported(kind, v, low, s, e, src, ground, cust):
                c = Claim(kind, reply[s:e], s, e, v)
                problems.append(Problem("unsupported_claim", c, f"{kind} {c.text!r} ({v}) is not in the sources"))
    spans = [(r[1], r[2]) for r in raw if r[0] in ("link", "email")]
    mentions = [mt for mt in _policy_mentions(low, spans) if not mt[3]]
    policies: dict[str, list[_Where]] = {}
    if mentions:
        wanted = {mt[0] for mt in mentions} | {g for mt in mentions for g in _RELATED.get(mt[0], ())}
        for t in sources:
            for group, wheres in _policy_facts(t).items() if t else ():
                if group in wanted:
                    stated = [w for w in wheres if _stated(w)]
                    if stated:
                        policies.setdefault(group, []).extend(stated)
    for group, s, e, _negated_term in mentions:
        ok = _policy_ok(group, _context(low, s, e) if group in _CONTEXT_GROUPS else "", policies)
        if ok and _universal(low, s, e):
            ok = any(_universal(*where) for where in policies.get(group, ()))
        if not ok:
            c = Claim("policy", reply[s:e], s, e, group)
            problems.append(Problem("unsupported_claim", c, f"policy {c.text!r} ({group}) is not stated by a source"))

    lang_detail = _language_problem(reply, question, sources, spans)
    if lang_detail:
        problems.append(Problem("wrong_language", None, lang_detail))

    if pii_detector is not None:
        problems.extend(_pii_leaks(reply, pii_detector, (question, *customer_texts, *sources)))

    problems.sort(key=lambda p: p.claim.start if p.claim else -1)
    return OutputVerdict(ok=not problems, problems=tuple(problems), lang_ok=lang_detail is None)


def _norm_for_pii(s: str) -> str:
    return re.sub(r"(?<=\d)[\s\-()]+(?=\d)", "", s).lower().replace(" ", "")


def _pii_leaks(
    reply: str, detector: Callable[[str], list[tuple[int, int, str]]], given_texts: Sequence[str]
) -> Iterable[Problem]:
    spans = detector(reply)
    if not spans:
        return
    placeholders = [m.span() for m in _PLACEHOLDER_RE.finditer(reply)]
    given = "\n".join(_norm_for_pii(t) for t in given_texts if t)
    for start, end, kind in spans:
        text = reply[start:end]
        if not text.strip() or any(a <= start and end <= b for a, b in placeholders):
            continue
        key = _norm_for_pii(text)
        digits = _phone_digits(text)
        if len(digits) >= 7 and len(digits) >= len(re.sub(r"\W", "", text)) * 0.6:
            key = digits
        if key in given:
            continue
        claim = Claim("pii", text, start, end, kind)
        yield Problem("pii_leak", claim, f"{kind} {text!r} was not given by the customer")
