"""Claim extraction: the checkable statements in a text (amounts, percentages and discounts, dates and times,
durations, counts, links, phone numbers, e-mail addresses) with their normalised values, and `extract_claims`, which
adds the policy promises of kefu.guard.output.policy.

Every scanning pattern starts with a literal or a character class, so that the regex engine skips uninteresting
positions in C; numbers are found once and classified by what follows them. All patterns run on the lower-cased text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kefu.guard.output.numbers import EN_NUM, ZH_DIGIT, fmt_number, parse_number
from kefu.guard.output.policy import policy_mentions

CLAIM_KINDS = ("amount", "percent", "date", "duration", "count", "link", "phone", "email", "policy")


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


# --------------------------------------------------------------------------------------------------------------
# Patterns, compiled once.

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
_MONTH_NAMES = {
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "sept",
}

DIGITS_RE = re.compile(r"\d+")
_MD_DAY_RE = re.compile(r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s?[日号]$")
_CUR_BEFORE = re.compile(r"(?:us\$|hk\$|[¥￥$]|rmb|cny|usd|hkd)\s?$")
_CTX_BEFORE = re.compile(r"(?:满|减|降|仅需|只需|只要|售价|价格为?|原价|现价|到手价|低至|返现|定金)\s?$")
_TIME_PRE = frozenset(("上午", "下午", "晚上", "早上", "中午", "凌晨", "傍晚"))
_TIME_AFTER_ZH = re.compile(r"半|整|前|后|之前|之后|以前|以后|到|至|开始|截止|左右")
_TIME_AFTER_OK = re.compile(r"半|整|前|后|之前|之后|以前|以后|到|至|[-~～]|开始|截止|左右|\d|[，。；！？,.!?、\s]|$")
_EN_A_OK = re.compile(r"(?:within|in|after|for|about|around|over|than|up to|takes?|only|just|least|most|every)\s*$")
# what `release` needs to know of the patterns above: where a number can begin
NUMERAL_CHARS = _NC
EN_A_OK = _EN_A_OK
_PCT_OFF_BEFORE = re.compile(r"(?:优惠|减|降|便宜|立减|直降|save|saves|discount of)\s?$")

_DUR_UNIT_MIN: dict[str, float] = {
    "工作日": 1440,
    "工作天": 1440,
    "自然日": 1440,
    "天": 1440,
    "日": 1440,
    "小时": 60,
    "钟头": 60,
    "分钟": 1,
    "秒": 1 / 60,
    "秒钟": 1 / 60,
    "星期": 10080,
    "礼拜": 10080,
    "周": 10080,
    "月": 43200,
    "年": 518400,
    "day": 1440,
    "hour": 60,
    "hr": 60,
    "h": 60,
    "minute": 1,
    "min": 1,
    "second": 1 / 60,
    "sec": 1 / 60,
    "week": 10080,
    "month": 43200,
    "year": 518400,
}
_COUNT_UNITS = {
    "次": "times",
    "回": "times",
    "time": "times",
    "张": "sheets",
    "coupon": "sheets",
    "件": "items",
    "item": "items",
    "期": "installments",
    "installment": "installments",
    "倍": "x",
    "x": "x",
    "页": "pages",
    "page": "pages",
    "节": "lessons",
    "lesson": "lessons",
    "class": "lessons",
    "盒": "boxes",
    "box": "boxes",
    "位": "chars",
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

_ASCII_LETTER = re.compile(r"[a-z]")
_PREFIX_CHARS = re.compile(r"[百每双半对]")
_PREFIX_WORDS = re.compile(r"double|singles|half")

# --------------------------------------------------------------------------------------------------------------
# Extraction. Internally a claim is a tuple (kind, start, end, value); Claim objects are made only for callers.

Raw = tuple[str, int, int, str]


def _numeric(low: str, bare: list[tuple[int, float]] | None, runs: list[str] | None = None) -> list[Raw]:
    """Claims that start with a number; digit numbers that carry no unit go to `bare` (for tables and lists) and
    digit runs that may be phone numbers to `runs`."""
    out: list[Raw] = []
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
                out.append(("phone", a, e, phone_digits(cand)))
                continue
            if kind == "tel":
                kind = "bare"  # not a phone number (a range such as 1000-2000元): read on after this number
                pos = te
        if kind == "bare":
            prev = low[max(0, s - 5) : s].rstrip()
            last = prev[-1:]
            if not last:
                pass
            elif last in "¥￥$bydk":
                cm = _CUR_BEFORE.search(low, max(0, s - 5), s)
                v = parse_number(tok)
                if cm and v is not None:
                    sym = cm.group().strip()
                    cur = "USD" if sym in ("$", "us$", "usd") else "HKD" if sym in ("hk$", "hkd") else "CNY"
                    e = te
                    if e < len(low) and low[e] in "万千":
                        v *= 10_000 if low[e] == "万" else 1000
                        e += 1
                    out.append(("amount", cm.start(), e, f"{cur}:{fmt_number(v)}"))
                    continue
            elif last in "满减降需要价格为至现金" and _CTX_BEFORE.search(low, max(0, s - 4), s):
                v = parse_number(tok)
                if v is not None and not low.startswith(("%", "％", "折", "积分"), te):
                    out.append(("amount", s, te, f"CNY:{fmt_number(v)}"))
                    continue
            if bare is not None and (s == 0 or not ("a" <= low[s - 1] <= "z")):
                v = parse_number(tok)
                if v is not None:
                    bare.append((s, v))
            continue
        raw = _classify(low, m, kind or "", s, te, tok)
        if raw is not None:
            out.append(raw)
    return out


def _classify(low: str, m: re.Match[str], kind: str, s: int, te: int, tok: str) -> Raw | None:
    e = m.end()
    if kind == "amt":
        v = parse_number(tok)
        if v is None:
            return None
        suffix = low[te:e].lstrip()
        c0 = suffix[0]
        cur = "USD" if c0 in "美dbu" else "HKD" if c0 in "港h" else "CNY"
        if c0 == "块" and len(suffix) > 1 and suffix[1] != "钱":
            v += (parse_number(suffix[1]) or 0) / 10
        if s > 0 and low[s - 1] in "¥￥$":
            s -= 1
        return ("amount", s, e, f"{cur}:{fmt_number(v)}")
    if kind == "jiao":
        v = parse_number(tok)
        return None if v is None or v >= 10 else ("amount", s, e, f"CNY:{fmt_number(v / 10)}")
    if kind in ("pct", "disc"):
        v = parse_number(tok)
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
        return ("percent", s, e, fmt_number(v))
    if kind == "dur":
        return _duration(low, m, s, e, tok)
    if kind == "cnt":
        if s > 0 and low[s - 1] in "第每":
            return None
        v = parse_number(tok)
        cu = m.group("cu")
        key = cu[0] if not cu[0].isascii() else cu[:-2] if cu in ("boxes", "classes") else cu.rstrip("s") or cu
        unit = _COUNT_UNITS.get(key)
        return None if v is None or not unit else ("count", s, e, f"{fmt_number(v)}:{unit}")
    if kind in ("ymd", "md", "ordmon", "d618"):
        return _date(low, m, kind, s, e, tok)
    if kind == "dom":
        d = parse_number(tok)
        return ("date", s, e, f"day-{int(d):02d}") if d and 1 <= d <= 31 else None
    if kind == "h247":
        return ("duration", s, e, "1440") if tok == "24" else None
    if kind in ("hm", "oclock", "ampm"):
        return _time(low, m, kind, s, te, e, tok)
    return None


def _date(low: str, m: re.Match[str], kind: str, s: int, e: int, tok: str) -> Raw | None:
    if kind == "ymd":
        parts = DIGITS_RE.findall(low, s, e)
        if len(parts) != 3 or len(parts[0]) != 4:
            return None
        mo, d = int(parts[1]), int(parts[2])
        return ("date", s, e, f"{parts[0]}-{mo:02d}-{d:02d}") if 1 <= mo <= 12 and 1 <= d <= 31 else None
    if kind == "md":
        mo_f = parse_number(tok)
        dm = _MD_DAY_RE.search(low, s, e)
        d_f = parse_number(dm.group(1)) if dm else None
        if mo_f and d_f and 1 <= mo_f <= 12 and 1 <= d_f <= 31:
            return ("date", s, e, f"{int(mo_f):02d}-{int(d_f):02d}")
        return None
    if kind == "ordmon":
        d = parse_number(tok)
        mo = _MONTHS.get(m.group("mon2") or "", 0)
        return ("date", s, e, f"{mo:02d}-{int(d):02d}") if d and 1 <= d <= 31 and mo else None
    return ("date", s, e, "06-18") if tok == "618" else None


def _time(low: str, m: re.Match[str], kind: str, s: int, te: int, e: int, tok: str) -> Raw | None:
    """A time of day as time:HH:MM; 下午4点 and 4pm are 16:00, a bare 4点 stays 04:00 (compared ±12 h)."""
    a = s - 1 if s > 0 and low[s - 1] == " " else s
    pre = low[a - 2 : a] if a >= 2 and low[a - 2 : a] in _TIME_PRE else ""
    suffix = low[te:e]
    if kind == "oclock" and not pre and not (_TIME_AFTER_OK if tok[0].isdigit() else _TIME_AFTER_ZH).match(low, e):
        return None  # 一点 in 便宜一点 is not a time
    hf = parse_number(tok)
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


def _duration(low: str, m: re.Match[str], s: int, e: int, tok: str) -> Raw | None:
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
    a = parse_number(tok)
    if unit_min is None or a is None:
        return None
    if u == "年" and (a > 100 or (tok[0].isdigit() and len(tok) >= 4)):
        return None  # 2024年 is a year
    if u == "日" and s > 0 and low[s - 1] in "月号":
        return None
    b = parse_number(b_s) if b_s else None
    if b is None and not tok[0].isdigit() and len(tok) == 2 and all(c in ZH_DIGIT for c in tok):
        x, y = ZH_DIGIT[tok[0]], ZH_DIGIT[tok[1]]
        if y > x:
            a, b = float(x), float(y)  # 两三天, 三五天: a colloquial range
    if half.endswith("半") and tok != "半":
        a += 0.5
    lo = a * unit_min
    value = f"{fmt_number(lo)}-{fmt_number(b * unit_min)}" if b is not None and b > a else fmt_number(lo)
    return ("duration", s, e, value)


def _prefixed(low: str) -> list[Raw]:
    out: list[Raw] = []
    for m in _PREFIXED_RE.finditer(low):
        g = m.lastgroup
        s, e = m.span()
        if g in ("pz", "pzd"):
            v = parse_number(m.group("pz"))
            if v is not None:
                if m.group("pzd"):
                    v += float("0." + "".join(str(ZH_DIGIT[c]) for c in m.group("pzd")))
                out.append(("percent", s, e, fmt_number(v)))
        elif g == "dom":
            d = parse_number(m.group("dom"))
            if d and 1 <= d <= 31:
                out.append(("date", s, e, f"day-{int(d):02d}"))
        elif g in ("dbl", "dbl2", "sd"):
            which = m.group("dbl") or m.group("dbl2") or "11"
            out.append(("date", s, e, "12-12" if which in ("12", "十二", "twelve") else "11-11"))
        elif g in ("hp", "hp2", "hp3"):
            out.append(("percent", s, e, "50"))
    return out


def _en_words(low: str) -> list[Raw]:
    out: list[Raw] = []
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
        v = EN_NUM.get(w)
        if v is None:
            continue
        if w in ("a", "an", "half") and not _EN_A_OK.search(low, max(0, s - 12), s):
            continue  # "twice a day" and "24 hours a day" are not time limits
        if m.group("u"):
            u = m.group("u")
            u = u[:-1] if u.endswith("s") else u
            out.append(("duration", s, e, fmt_number(v * _DUR_UNIT_MIN[u])))
        elif m.group("cu"):
            unit = _COUNT_UNITS.get(m.group("cu").rstrip("s"))
            if unit:
                out.append(("count", s, e, f"{fmt_number(v)}:{unit}"))
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


def find_links(low: str) -> list[Raw]:
    out: list[Raw] = []
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
        host = low[s : m.start("path")] if m.group("path") else low[s:e]
        if s > 0 and low[s - 1] == "@":
            last = e
            continue  # the domain of an e-mail address
        tld = host.rsplit(".", 1)[-1]
        if tld not in _TLDS:
            continue
        path = (m.group("path") or "").rstrip(".,;:!?'\")")
        e = (m.start("path") if m.group("path") else e) + len(path)
        if low.startswith(("http://", "https://"), max(0, s - 8)) and low[s - 3 : s] == "://":
            s = low.rfind("http", 0, s)
        host = host[4:] if host.startswith("www.") else host
        path = path.split("?")[0].split("#")[0].strip("/")
        out.append(("link", s, e, f"{host}/{path}" if path else host))
        last = e
    return out


def phone_digits(s: str) -> str:
    d = "".join(ch for ch in s if ch.isdigit())
    if (len(d) == 13 and d.startswith("861")) or (len(d) >= 12 and d.startswith("860")):
        d = d[2:]  # +86
    return d


def find_emails(low: str) -> list[Raw]:
    return [("email", m.start(), m.end(), m.group()) for m in _EMAIL_RE.finditer(low)]


def lowered(text: str) -> str:
    low = text.lower()
    return low if len(low) == len(text) else text  # a few Unicode letters change length when lower-cased


# Claim kinds in priority order when two spans overlap: an e-mail's domain is not a link, a date is not a phone.
_PRIORITY = {"email": 0, "link": 1, "phone": 2, "date": 3, "percent": 4, "amount": 5, "duration": 6, "count": 7}


def _start_priority(r: Raw) -> tuple[int, int]:
    return r[1], _PRIORITY[r[0]]


def raw_claims(low: str, runs: list[str] | None = None, bare: list[tuple[int, float]] | None = None) -> list[Raw]:
    """All non-policy claims of a lower-cased text, overlaps resolved by kind priority, in reading order."""
    numeric = _numeric(low, bare, runs)
    cands: list[Raw] = []
    if _PHONE_CTX_HINT.search(low):
        cands += [("phone", m.start("n"), m.end("n"), m.group("n")) for m in _PHONE_CTX_RE.finditer(low)]
    if "." in low:
        cands += find_links(low)
    if "@" in low:
        cands += find_emails(low)
    ascii_letters = _ASCII_LETTER.search(low) is not None
    if _PREFIX_CHARS.search(low) or (ascii_letters and _PREFIX_WORDS.search(low)):
        cands += _prefixed(low)
    if ascii_letters:
        cands += _en_words(low)
    if not cands:
        return numeric  # one scan: in order, no overlaps
    cands += numeric
    cands.sort(key=_start_priority)
    kept: list[Raw] = []
    for c in cands:
        if kept and c[1] < kept[-1][2]:  # overlaps the last kept claim (the only one it can overlap)
            if _PRIORITY[c[0]] < _PRIORITY[kept[-1][0]]:
                kept[-1] = c
            continue
        kept.append(c)
    return kept


def extract_claims(text: str) -> list[Claim]:
    """Every checkable claim in a text, in reading order; negated policy terms (不支持包邮) are not claims."""
    low = lowered(text)
    raw = raw_claims(low)
    claims = [Claim(k, text[s:e], s, e, v) for k, s, e, v in raw]
    spans = [(r[1], r[2]) for r in raw if r[0] in ("link", "email")]
    for group, s, e, negated in policy_mentions(low, spans):
        if not negated:
            claims.append(Claim("policy", text[s:e], s, e, group))
    claims.sort(key=lambda c: (c.start, c.end))
    return claims
