"""What the FAQ matcher reads in a pair of questions: overlap of words and characters, contrasting key
terms, numbers, a one-slot substitution in a shared frame, and the question's shape (the kind of answer asked
for, negation, opposite characters). The trade's vocabulary (`CONTRASTS`, `SYNONYMS`) comes from
`terms.json`; the language's own grammar (question words, negation, opposite characters) is here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kefu.knowledge import text as textmod
from kefu.knowledge.terms import CONTRASTS, SYNONYMS
from kefu.text import has_han, normalise

__all__ = [
    "QUESTION_TYPES",
    "TextInfo",
    "content_words",
    "contrast_conflicts",
    "frame_substitution",
    "group_conflicts",
    "numbers",
    "question_shape",
    "shape_of",
    "text_info",
    "word_idf",
]

# Question words and fillers: left out of the content words the two questions are compared by.
_EXTRA_STOP = frozenset(
    "怎样 怎么办 咋办 如何处理 怎么处理 怎么弄 处理 一般 大概 需要 支持 能否 可不可以 能不能 不 吗 呢 哪里 在哪 "
    "在哪里 哪 一直 还 现在 想 问 问下 一下 下 帮 帮忙 我 我的 你们 你们的 是 有 没有 什么".split()
)

# What a question asks for. Two questions on one topic that ask for different kinds of answer (退货要多久 /
# 退货要多少钱 / 退货地址在哪) are different questions; "how" and "can I" questions are compatible with any.
# Members: time, money, quantity, place, reason, how, can (a longer form hides the shorter ones inside it).
QUESTION_TYPES: tuple[tuple[str, ...], ...] = (
    (
        *"多久 多长时间 几天 多少天 什么时候 啥时候 何时 几点 多快 几个小时 几个工作日 时效 多长".split(),
        "how long",
        "when",
    ),
    (
        *"多少钱 收费 收钱 要钱 费用 价格 几块 免费 手续费 花钱 资费 多贵 月租 加钱".split(),
        "how much",
        "fee",
        "charge",
        "cost",
    ),
    ("在哪", "哪里", "哪儿", "什么地方", "入口", "where"),
    (*"多少 几个 几次 几张 几件 额度 上限 最多 最少 最高 最低 限额".split(), "how many", "limit"),
    ("为什么", "为啥", "怎么还", "咋还", "怎么不", "咋不", "怎么没", "咋没", "什么原因", "why"),
    ("怎么", "如何", "咋", "怎样", "流程", "步骤", "how"),
    ("能不能", "可不可以", "能否", "可以", "能", "行不行", "支持", "吗", "can", "is it possible"),
)
# question type -> its kind of answer (money and quantity are both "how much"); how/can have none
_ANSWER_KIND = {0: 0, 1: 1, 3: 1, 2: 2, 4: 3}
# 不/没 in a yes-no frame (能不能, 有没有, a final 不) is not a negation
_NOT_NEGATION = re.compile(
    r"能不能|可不可以?|行不行|要不要|是不是|有没有|会不会|好不好|对不对"
    r"|[^\s不没]不[?？!！~。.]*$"
)
_NEGATION = re.compile(
    r"[不没未]|无法|\b(?:not|no|never|didn't|doesn't|don't|can't|cannot|won't|isn't|hasn't|haven't)\b"
)
# Characters of opposite meaning: 开/关, 存/取, 升/降 ...; one in what each text says and the other does not.
_ANTONYM_PAIRS = (
    "开关 上下 存取 升降 增减 前后 内外 新旧 高低 大小 早晚 长短 有无 买卖 收发 进出 入出 借还 正反 加减 "
    "充提 首末 首续 今明 公私 主副 男女 全半 冷热 快慢 远近 绑解 收寄 成败 对错 多少 真假 整零 单双"
).split()
_NONE: frozenset[str] = frozenset()
_ANTONYMS: dict[str, frozenset[str]] = {}
for _p in _ANTONYM_PAIRS:
    _ANTONYMS[_p[0]] = _ANTONYMS.get(_p[0], frozenset()) | {_p[1]}
    _ANTONYMS[_p[1]] = _ANTONYMS.get(_p[1], frozenset()) | {_p[0]}

_ZH_NUM = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = re.compile(r"\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+(?=[天日个元块小时周月年次件张%])")


def _zh_number(s: str) -> str:
    """A Chinese numeral as digits (七 -> 7, 十五 -> 15, 一百 -> 100, 两千五 -> 2500); digits unchanged."""
    if s[0].isdigit():
        return s
    total = section = digit = 0
    for c in s:
        if c in _ZH_NUM:
            digit = _ZH_NUM[c]
        elif c in "十百千":
            section += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[c]
            digit = 0
        elif c == "万":
            total += (section + digit) * 10_000
            section = digit = 0
    if len(s) > 1 and all(c in _ZH_NUM for c in s):  # 一二三 read digit by digit
        return "".join(str(_ZH_NUM[c]) for c in s)
    if digit and len(s) > 1 and s[-2] in "百千万":  # 两千五 = 2500, 一百五 = 150
        digit *= {"百": 10, "千": 100, "万": 1000}[s[-2]]
    return str(total + section + digit)


def numbers(t: str) -> frozenset[str]:
    """The numbers in a normalised text (七天 -> 7, 十五天 -> 15, 一百元 -> 100)."""
    return frozenset(_zh_number(m) for m in _NUMBER.findall(t))


@lru_cache(maxsize=256)
def _forms(group: tuple[tuple[str, ...], ...]) -> list[tuple[str, int]]:
    return sorted(((f, i) for i, m in enumerate(group) for f in m), key=lambda x: -len(x[0]))


@lru_cache(maxsize=256)
def _any_form(group: tuple[tuple[str, ...], ...]) -> re.Pattern[str]:
    """One regex for all the group's forms: most texts name no member of most groups, and one search
    says so faster than looking for each form."""
    return re.compile("|".join(re.escape(f) for f, _ in _forms(group)))


def _members(t: str, group: tuple[tuple[str, ...], ...]) -> frozenset[int]:
    found: set[int] = set()
    spans: list[tuple[int, int]] = []
    for form, i in _forms(group):
        start = 0
        while (j := t.find(form, start)) >= 0:
            end = j + len(form)
            if form.isascii() and ((j > 0 and t[j - 1].isalnum()) or (end < len(t) and t[end].isalnum())):
                start = end  # an English form must be a whole word
                continue
            if not any(a <= j and end <= b for a, b in spans):
                spans.append((j, end))
                found.add(i)
            start = end
    return frozenset(found)


@lru_cache(maxsize=1)
def _member_synonyms() -> dict[str, str]:
    out = dict(SYNONYMS)
    for group in CONTRASTS:
        for member in group:
            for form in member[1:]:
                out.setdefault(form, member[0])
    return out


@lru_cache(maxsize=65536)
def content_words(text: str) -> frozenset[str]:
    """The text's words with question words and fillers dropped and synonyms mapped to one form."""
    syn = _member_synonyms()
    return frozenset(syn.get(w, w) for w in textmod.words(text) if w not in _EXTRA_STOP)


def _soft_match(x: str, ys: Iterable[str]) -> bool:
    return any(set(x) & set(y) for y in ys)


def frame_substitution(wa: frozenset[str], wb: frozenset[str]) -> float:
    """1 when two questions' content words share a frame and each puts one or two other words in it that do
    not look alike (自动续费怎么开 / 自动续费怎么关): a sign that they ask about different things."""
    ua, ub = wa - wb, wb - wa
    if not (wa & wb) or not ua or not ub or len(ua) > 2 or len(ub) > 2:
        return 0.0
    if any(_soft_match(x, ub) for x in ua):
        return 0.0
    return 1.0


def contrast_conflicts(a: str, b: str, contrasts: Sequence[tuple[tuple[str, ...], ...]] = CONTRASTS) -> int:
    """How many contrast groups name different members in `a` and `b` (and no common one), plus one when
    both name numbers and share none."""
    contrasts = tuple(contrasts)
    return group_conflicts(text_info(a, contrasts), text_info(b, contrasts))


@dataclass(frozen=True, slots=True)
class TextInfo:
    """What the matcher needs of one text, computed once (an FAQ phrasing's is kept across queries)."""

    bigrams: frozenset[str]
    words: frozenset[str]  # content words, synonyms mapped
    mass: float  # their IDF mass
    chars: dict[str, int]  # the characters of the content words, as a multiset
    n_chars: int
    groups: dict[int, frozenset[int]]  # contrast group -> the members the text names (named groups only)
    numbers: frozenset[str]
    kinds: frozenset[int]  # kinds of answer asked for (`QUESTION_TYPES`)
    negated: bool
    latin: bool  # no Chinese character


def text_info(text: str, contrasts: tuple[tuple[tuple[str, ...], ...], ...]) -> TextInfo:
    t = normalise(text)
    # a text of fillers only (你好呀, 在吗) is compared by its characters: it says nothing an FAQ says
    words = content_words(text) or frozenset(c for c in t if c.isalnum())
    chars: dict[str, int] = {}
    for w in words:
        for c in w:
            chars[c] = chars.get(c, 0) + 1
    return TextInfo(
        bigrams=_bigrams(text),
        words=words,
        mass=_mass(words),
        chars=chars,
        n_chars=sum(chars.values()),
        groups={i: m for i, g in enumerate(contrasts) if _any_form(g).search(t) and (m := _members(t, g))},
        numbers=numbers(t),
        kinds=frozenset(_ANSWER_KIND[i] for i in _members(t, QUESTION_TYPES) if i in _ANSWER_KIND),
        negated=bool(_NEGATION.search(_NOT_NEGATION.sub(" ", t))),
        latin=not has_han(t),
    )


def group_conflicts(ia: TextInfo, ib: TextInfo) -> int:
    n = sum(1 for g in ia.groups.keys() & ib.groups.keys() if not ia.groups[g] & ib.groups[g])
    if ia.numbers and ib.numbers and not ia.numbers & ib.numbers:
        n += 1
    return n


def _char_rest(ca: dict[str, int], cb: dict[str, int]) -> tuple[set[str], int]:
    """The characters of `ca` that `cb` lacks (as a set) and how many they are (as a multiset)."""
    rest: set[str] = set()
    n = 0
    for c, k in ca.items():
        extra = k - cb.get(c, 0)
        if extra > 0:
            rest.add(c)
            n += extra
    return rest, n


def shape_of(ia: TextInfo, ib: TextInfo) -> dict[str, float]:
    ra, na = _char_rest(ia.chars, ib.chars)
    rb, nb = _char_rest(ib.chars, ia.chars)
    antonym = bool(ra and rb) and any(_ANTONYMS.get(x, _NONE) & rb for x in ra)
    sa = na / max(ia.n_chars, 1)
    sb = nb / max(ib.n_chars, 1)
    ka, kb = ia.kinds, ib.kinds
    return {
        "qtype_conflict": float(bool(ka and kb and not ka & kb)),
        "qtype_one": float(bool(ka) != bool(kb)),
        "negation": float(ia.negated != ib.negated),
        "antonym": float(antonym),
        "char_rest_max": max(sa, sb),
        "char_rest_min": min(sa, sb),
        "char_rest_query": sa,
    }


def question_shape(a: str, b: str) -> dict[str, float]:
    """Signals about how two questions differ beyond their topic words: they ask for different kinds of
    answer (多久 / 多少钱 / 在哪), one is negated (没拆封 / 拆封了), the characters only one of them has include
    opposites (开/关, 存/取), and the share of each one's characters the other lacks (over the content words,
    synonyms mapped: a typo such as 推款 for 退款 is one character, refund for 退款 none)."""
    return shape_of(text_info(a, CONTRASTS), text_info(b, CONTRASTS))


@lru_cache(maxsize=65536)
def _bigrams(text: str) -> frozenset[str]:
    return frozenset(textmod.bigrams(text))


@lru_cache(maxsize=1)
def _jieba_idf() -> tuple[dict[str, float], float]:
    """jieba's general-purpose Chinese word IDF table (shipped in the jieba package) and its median."""
    from importlib import resources

    idf: dict[str, float] = {}
    with resources.files("jieba.analyse").joinpath("idf.txt").open(encoding="utf-8") as f:
        for line in f:
            w, _, v = line.strip().partition(" ")
            if v:
                idf[w] = float(v)
    med = float(np.median(list(idf.values()))) if idf else 10.0
    return idf, med


def word_idf(word: str) -> float:
    idf, med = _jieba_idf()
    if word in idf:
        return idf[word]
    return med if not word.isascii() else 0.8 * med


@lru_cache(maxsize=65536)
def _mass(words: frozenset[str]) -> float:
    return sum(map(word_idf, words))
