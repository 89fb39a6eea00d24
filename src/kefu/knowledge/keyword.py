"""Keyword search over a tenant's FAQ: character bigrams for Chinese, words for English, weighted by
IDF, scored as the weighted Dice overlap of the question with an entry's best-matching phrasing.

A plain, dependency-free baseline; the knowledge-base issue replaces it with bm25s + vectors.
The score lies in [0, 1], so it doubles as the retrieval support of an answer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from kefu.knowledge.text import EN_STOPWORDS, normalise
from kefu.store.knowledge import FaqRecord

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_ZH_STOP = frozenset("的了吗呢吧啊呀么嘛哦")


def grams(text: str) -> set[str]:
    """Chinese character bigrams (and single characters of one-character runs) plus English words."""
    t = normalise(text)
    out: set[str] = set()
    for run in _CJK.findall(t):
        run = "".join(c for c in run if c not in _ZH_STOP) or run
        if len(run) == 1:
            out.add(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    out.update(w for w in _WORD.findall(t) if w not in EN_STOPWORDS)
    return out


@dataclass(frozen=True)
class Hit:
    key: str
    question: str
    answer: str
    category: str
    lang: str
    score: float

    def snippet(self, n: int = 120) -> str:
        return self.answer if len(self.answer) <= n else self.answer[:n] + "…"


class FaqIndex:
    def __init__(self, entries: list[FaqRecord]) -> None:
        self.entries = entries
        variants: list[tuple[int, set[str], float]] = []  # (entry index, grams, weight)
        for i, e in enumerate(entries):
            for q in [e.question, *e.similar]:
                variants.append((i, grams(q), 1.0))
            variants.append((i, grams(e.answer), 0.6))  # the answer's words count, less
        df: Counter[str] = Counter()
        for _, g, _ in variants:
            df.update(g)
        n = max(len(variants), 1)
        self._idf = {g: math.log(1 + n / c) for g, c in df.items()}
        self._default_idf = math.log(1 + n)
        self._variants = [(i, g, w, self._mass(g)) for i, g, w in variants]
        self._postings: dict[str, list[int]] = {}
        for vi, (_, g, _, _) in enumerate(self._variants):
            for gram in g:
                self._postings.setdefault(gram, []).append(vi)

    def _mass(self, g: set[str]) -> float:
        return sum(self._idf.get(x, self._default_idf) for x in g)

    def search(self, text: str, k: int = 3) -> list[Hit]:
        q = grams(text)
        if not q or not self.entries:
            return []
        q_mass = self._mass(q)
        shared: dict[int, float] = {}
        for gram in q:
            w = self._idf.get(gram, self._default_idf)
            for vi in self._postings.get(gram, ()):
                shared[vi] = shared.get(vi, 0.0) + w
        best: dict[int, float] = {}
        for vi, s in shared.items():
            i, _, weight, v_mass = self._variants[vi]
            score = weight * 2 * s / (q_mass + v_mass)
            if score > best.get(i, 0.0):
                best[i] = score
        ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)[:k]
        return [
            Hit(
                self.entries[i].key,
                self.entries[i].question,
                self.entries[i].answer,
                self.entries[i].category,
                self.entries[i].lang,
                round(min(s, 1.0), 4),
            )
            for i, s in ranked
        ]
