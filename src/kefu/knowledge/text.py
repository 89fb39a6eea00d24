"""The tokenisation the keyword index and the FAQ matcher share (over `kefu.text.normalise`, the one
normalisation every part uses).

- `words`: jieba words for Chinese (one private jieba tokenizer, loaded once, quiet, with the shop terms of
  `terms.json`, so that 收货地址 or 借记卡 stay whole), plain words for English (with a light plural stemmer),
  stopwords removed.
- `tokens`: what the BM25 index sees: `words` plus the Chinese character bigrams, so a typo (推款 for 退款)
  or a word jieba cut differently still shares most of its terms with the FAQ.
- `bigrams`: Chinese character bigrams and English words, the unit of the matcher's overlap signal.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable
from functools import lru_cache

from kefu.knowledge.terms import SHOP_TERMS
from kefu.text import HAN_RUN_RE, normalise

__all__ = [
    "bigrams",
    "char_bigrams",
    "informative_coverage",
    "jieba_tokenizer",
    "tokens",
    "weighted_share",
    "weighted_words",
    "words",
]

ZH_STOPWORDS: frozenset[str] = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "嘛",
        "哦",
        "哈",
        "噢",
        "呗",
        "啦",
        "哟",
        "嗯",
        "吖",
        "滴",
        "得",
        "地",
        "着",
        "过",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "就",
        "都",
        "也",
        "还",
        "又",
        "我",
        "你",
        "您",
        "他",
        "她",
        "它",
        "我们",
        "你们",
        "他们",
        "这",
        "那",
        "这个",
        "那个",
        "请问",
        "请",
        "一下",
        "麻烦",
        "谢谢",
        "你好",
        "您好",
        "亲",
        "在吗",
        "想",
        "要",
        "一个",
        "有",
        "没",
        "可以",
        "能",
        "能不能",
        "可不可以",
        "怎么",
        "怎么样",
        "如何",
        "咋",
        "咋整",
        "什么",
        "啥",
        "多少",
        "哪",
        "哪些",
        "为什么",
        "吗",
        "么",
    ]
)
EN_STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "am",
        "was",
        "were",
        "be",
        "been",
        "being",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "i",
        "my",
        "me",
        "mine",
        "you",
        "your",
        "we",
        "our",
        "us",
        "it",
        "its",
        "do",
        "does",
        "did",
        "doing",
        "can",
        "could",
        "how",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "would",
        "should",
        "shall",
        "please",
        "pls",
        "with",
        "from",
        "this",
        "that",
        "these",
        "those",
        "there",
        "have",
        "has",
        "had",
        "get",
        "got",
        "by",
        "as",
        "so",
        "if",
        "then",
        "than",
        "just",
        "about",
        "im",
        "i'm",
        "ive",
        "i've",
        "id",
        "i'd",
        "dont",
        "don't",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
    ]
)

# Particles dropped from a Chinese run before its character bigrams are taken (as the baseline did).
_ZH_PARTICLES = frozenset("的了吗呢吧啊呀么嘛哦哈呗啦")

_CJK_RUN = HAN_RUN_RE
_EN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

_lock = threading.Lock()
_tokenizer = None


def jieba_tokenizer(user_words: Iterable[str] = ()):
    """The process-wide jieba tokenizer, initialised once, quietly, with the shop terms (and `user_words`,
    which are added on any call)."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(60)
            tk = jieba.Tokenizer()
            tk.initialize()
            for w in SHOP_TERMS:
                tk.add_word(w, freq=200_000)
            _tokenizer = tk
        for w in user_words:
            _tokenizer.add_word(w, freq=200_000)
            _cut.cache_clear()
        return _tokenizer


@lru_cache(maxsize=65536)
def _cut(run: str) -> tuple[str, ...]:
    return tuple(jieba_tokenizer().lcut(run, HMM=False))


def _stem(w: str) -> str:
    """A light English stemmer: plurals only (cards -> card, fees -> fee, charges -> charge)."""
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def words(text: str, *, normalised: bool = False) -> list[str]:
    """jieba words for the Chinese runs and stemmed words for the rest, stopwords removed, in text order."""
    t = text if normalised else normalise(text)
    out: list[str] = []
    pos = 0
    for m in _CJK_RUN.finditer(t):
        out.extend(_stem(w) for w in _EN_WORD.findall(t[pos : m.start()]) if w not in EN_STOPWORDS)
        out.extend(w for w in _cut(m.group()) if w not in ZH_STOPWORDS)
        pos = m.end()
    out.extend(_stem(w) for w in _EN_WORD.findall(t[pos:]) if w not in EN_STOPWORDS)
    return out


def char_bigrams(text: str, *, normalised: bool = False) -> list[str]:
    """Chinese character bigrams (a one-character run counts as itself), particles (的了吗呢...) dropped
    unless the run is nothing else."""
    t = text if normalised else normalise(text)
    out: list[str] = []
    for run in _CJK_RUN.findall(t):
        run = "".join(c for c in run if c not in _ZH_PARTICLES) or run
        if len(run) == 1:
            out.append(run)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def tokens(text: str) -> list[str]:
    """The terms the keyword index sees: `words` plus Chinese character bigrams (prefixed `#`, so a
    two-character word and the same bigram count as two terms)."""
    t = normalise(text)
    return words(t, normalised=True) + ["#" + b for b in char_bigrams(t, normalised=True)]


def bigrams(text: str) -> set[str]:
    """The matcher's unit of overlap: Chinese character bigrams plus English (stemmed) words."""
    t = normalise(text)
    en = [_stem(w) for w in _EN_WORD.findall(_CJK_RUN.sub(" ", t)) if w not in EN_STOPWORDS]
    return set(char_bigrams(t, normalised=True)) | set(en)


def word_weight(w: str) -> float:
    """How much a word says: -log of its share of jieba's corpus counts (a word jieba does not know counts as
    a rare one; an English word as an ordinary content word). 怎么 ~7, 积分 ~13, 礼品 ~14."""
    if not _CJK_RUN.match(w):
        return 10.0
    if w in SHOP_TERMS:  # counted up in the tokenizer so that it keeps them whole: not their real frequency
        return 12.0
    tk = jieba_tokenizer()
    return math.log(tk.total / (tk.FREQ.get(w, 0) + 1.0))


@lru_cache(maxsize=8192)
def _normalised(text: str) -> str:
    return normalise(text)


def weighted_words(question: str) -> list[tuple[str, float]]:
    """The question's words (stopwords out, each once) with their `word_weight`."""
    return [(w, word_weight(w)) for w in dict.fromkeys(words(question))]


def weighted_share(weighted: list[tuple[str, float]], text: str) -> float:
    """The share of `weighted_words`' weight that `text` holds (1.0 when there is nothing to weigh)."""
    total = sum(x for _, x in weighted)
    if not total:
        return 1.0
    t = _normalised(text)
    return sum(x for w, x in weighted if w in t) / total


def informative_coverage(question: str, text: str) -> float:
    """The share of the question's words, weighted by how much each says (`word_weight`), that `text` holds:
    "积分能换礼品吗" against an answer about points as cash holds 积分 but not 礼品. Stopwords do not count."""
    return weighted_share(weighted_words(question), text)
