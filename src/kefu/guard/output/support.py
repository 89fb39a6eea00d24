"""Support: whether a claim of a reply is supported by the facts of the sources and of what the customer said.

Numbers, dates, links, phones and e-mails may come from either; policy promises only from the sources, stated (not
negated) and, for generic words (免费, 保证), said about the same thing.
"""

from __future__ import annotations

import re

from kefu.guard.output.claims import DIGITS_RE
from kefu.guard.output.facts import FactSet, Where
from kefu.guard.output.policy import CONTEXT_GROUPS, clause, clause_tokens, term_context
from kefu.text import is_han

_EMPTY: frozenset[int] = frozenset()
_WITHIN_AFTER = re.compile(r"\s?(?:以内|之内|内)")
_WITHIN_BEFORE = re.compile(r"(?:within|up to|no more than|at most|in under|最多|最迟|最长|不超过|至多)\s?$")
_DIFF_CONTEXT = re.compile(r"差|便宜|省|少|降|减|优惠|save|less|cheaper|off|difference|remaining|short")


def _amount_ok(cur: str, v: float, src: FactSet, cust: FactSet, low: str, s: int, e: int) -> bool:
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


def _duration_ok(value: str, facts: FactSet, low: str, s: int, e: int) -> bool:
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
    ends = DIGITS_RE.findall(low, s, e)
    return len(ends) == 2 and all(float(x) in facts.bare_numbers for x in ends)


def _date_ok(value: str, facts: FactSet) -> bool:
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


def _link_ok(value: str, facts: FactSet) -> bool:
    if value in facts.links:
        return True
    host, _, path = value.partition("/")
    for have in facts.links:
        h_host, _, h_path = have.partition("/")
        if h_host == host and (not path or h_path == path or h_path.startswith(path + "/")):
            return True
    return False


def _phone_ok(value: str, facts: FactSet) -> bool:
    if value in facts.phones:
        return True
    if len(value) >= 10:
        return any(len(p) >= 10 and (p.endswith(value) or value.endswith(p)) for p in facts.phones)
    return False


def _count_ok(value: str, facts: FactSet) -> bool:
    if value in facts.counts:
        return True
    n = float(value.partition(":")[0])
    return n >= 2 and n in facts.bare_numbers  # a table cell, or "3, 6 or 12 installments"


def _is_zh(tokens: frozenset[str]) -> bool:
    return any(is_han(t[0]) for t in tokens)


def policy_ok(group: str, reply_context: str, policies: dict[str, list[Where]]) -> bool:
    mentions = policies.get(group)
    reply_tokens = clause_tokens(reply_context) if group in CONTEXT_GROUPS else frozenset()
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
    if group not in CONTEXT_GROUPS or not reply_tokens:
        return True
    reply_zh = _is_zh(reply_tokens)
    for where in mentions:
        toks = clause_tokens(term_context(*where))
        # A bare term, or a source in another language than the reply, has no words to compare: the term must do.
        if not toks or reply_tokens & toks or reply_zh != _is_zh(toks):
            return True
    return False


def universal(low: str, start: int, end: int) -> bool:
    """Whether the clause states a policy for everything (所有商品, 全场, 一律, all orders): an over-generalisation
    unless a source says it as broadly."""
    if not _UNIVERSAL.search(low, max(0, start - 40), end + 40):
        return False
    lo, hi = clause(low, start, end)
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
RELATED = {**_IMPLIED_BY, "free": ("free_shipping",)}
_SHIPPING_TOKENS = frozenset({"运费", "邮费", "配送", "shipp", "deliv", "快递"})


def supported(kind: str, value: str, low: str, s: int, e: int, src: FactSet, ground: FactSet, cust: FactSet) -> bool:
    """Whether a claim (kind, value, at low[s:e]) is supported: `ground` is sources and customer together."""
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
