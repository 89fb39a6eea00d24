"""Hybrid search: keyword + vector, fused by reciprocal rank ("rrf") or by normalised scores ("weighted"),
then an optional rerank hook. docs/embeddings.md has the measurements behind the defaults."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from kefu.knowledge.embedders.base import Embedder
from kefu.knowledge.retrieval.keyword import KeywordIndex
from kefu.knowledge.retrieval.texts import faq_texts
from kefu.knowledge.retrieval.vector import VectorIndex

if TYPE_CHECKING:
    from kefu.store.knowledge import FaqRecord

__all__ = ["Candidate", "Fusion", "HybridRetriever", "Reranker"]


@dataclass(frozen=True)
class Candidate:
    """A document found by hybrid search. `score` is the fused score (RRF sum, or the weighted sum of the
    normalised scores, in [0, 1]); the per-index scores and ranks (1-based) are None where that index did
    not return the document."""

    id: str
    score: float
    keyword_score: float | None = None
    vector_score: float | None = None
    keyword_rank: int | None = None
    vector_rank: int | None = None


Reranker = Callable[[str, list[Candidate]], list[Candidate]]
"""A rerank hook: (query, fused candidates best first) -> candidates in the new order (may drop some)."""

Fusion = Literal["rrf", "weighted"]


class HybridRetriever:
    """Keyword + vector search fused, then reranked.

    fusion="rrf": score = sum over indexes of weight / (rrf_k + rank).
    fusion="weighted": score = (w_kw x bm25 / best bm25 + w_vec x min-max-scaled cosine) / (w_kw + w_vec),
    over the union of both lists (a document missing from a list counts 0 there).
    Each index contributes its `depth` best documents; `rerank` sees the fused list before it is cut to k.
    Either index may be None (keyword-only, vector-only).
    """

    def __init__(
        self,
        keyword: KeywordIndex | None,
        vector: VectorIndex | None = None,
        embedder: Embedder | None = None,
        *,
        fusion: Fusion = "weighted",
        weights: tuple[float, float] = (1.0, 2.0),
        rrf_k: float = 20.0,
        depth: int = 50,
        rerank: Reranker | None = None,
    ) -> None:
        if fusion not in ("rrf", "weighted"):
            raise ValueError(f"fusion must be 'rrf' or 'weighted', not {fusion!r}")
        if vector is not None and embedder is None:
            raise ValueError("a vector index needs the embedder that built it")
        if keyword is None and vector is None:
            raise ValueError("a retriever needs a keyword index, a vector index, or both")
        self.keyword = keyword
        self.vector = vector
        self.embedder = embedder
        self.fusion = fusion
        self.weights = weights
        self.rrf_k = rrf_k
        self.depth = depth
        self.rerank = rerank

    @classmethod
    def for_faq(
        cls,
        records: Sequence[FaqRecord],
        embedder: Embedder | None = None,
        *,
        answer_weight: float = 0.5,
        **kwargs,
    ) -> HybridRetriever:
        """Both indexes over an FAQ table (vectors only when an embedder is given)."""
        texts = faq_texts(records, answer_weight=answer_weight)
        kw = KeywordIndex(texts)
        vec = None
        if embedder is not None:
            # the answer's embedding is a passage, on another scale than question-question cosines: the
            # vector side compares the customer's question with the entry's phrasings only
            vec = VectorIndex.build([t for t in texts if t.kind == "question"], embedder)
        return cls(kw, vec, embedder, **kwargs)

    def embed_query(self, query: str) -> np.ndarray | None:
        return None if self.embedder is None else self.embedder.embed([query], "query")[0]

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        query_vector: np.ndarray | None = None,
        fusion: Fusion | None = None,
        weights: tuple[float, float] | None = None,
    ) -> list[Candidate]:
        """The `k` best documents. `fusion` / `weights` override the retriever's for this query (a bot's own
        hybrid search over the tenant's shared indexes)."""
        if fusion not in (None, "rrf", "weighted"):
            raise ValueError(f"fusion must be 'rrf' or 'weighted', not {fusion!r}")
        if k <= 0 or not query.strip():
            return []
        kw = self.keyword.search(query, self.depth) if self.keyword is not None else []
        vec: list[tuple[str, float]] = []
        if self.vector is not None:
            qv = query_vector if query_vector is not None else self.embed_query(query)
            vec = self.vector.search(qv, self.depth)
        fused = self._fuse(kw, vec, fusion or self.fusion, weights or self.weights)
        if self.rerank is not None:
            fused = list(self.rerank(query, fused))
        return fused[:k]

    def _fuse(
        self, kw: list[tuple[str, float]], vec: list[tuple[str, float]], fusion: Fusion, weights: tuple[float, float]
    ) -> list[Candidate]:
        wk, wv = weights
        kw_pos = {d: (i + 1, s) for i, (d, s) in enumerate(kw)}
        vec_pos = {d: (i + 1, s) for i, (d, s) in enumerate(vec)}
        ids = list(dict.fromkeys([d for d, _ in kw] + [d for d, _ in vec]))
        if fusion == "rrf":

            def fused(d: str) -> float:
                s = 0.0
                if d in kw_pos:
                    s += wk / (self.rrf_k + kw_pos[d][0])
                if d in vec_pos:
                    s += wv / (self.rrf_k + vec_pos[d][0])
                return s

        else:
            kmax = kw[0][1] if kw else 1.0
            vmax = vec[0][1] if vec else 1.0
            vmin = vec[-1][1] if vec else 0.0
            span = (vmax - vmin) or 1.0
            total = (wk if kw else 0.0) + (wv if vec else 0.0) or 1.0

            def fused(d: str) -> float:
                s = 0.0
                if d in kw_pos and kmax > 0:
                    s += wk * kw_pos[d][1] / kmax
                if d in vec_pos:
                    s += wv * (vec_pos[d][1] - vmin) / span
                return s / total

        out = [
            Candidate(
                d,
                fused(d),
                kw_pos[d][1] if d in kw_pos else None,
                vec_pos[d][1] if d in vec_pos else None,
                kw_pos[d][0] if d in kw_pos else None,
                vec_pos[d][0] if d in vec_pos else None,
            )
            for d in ids
        ]
        out.sort(key=lambda c: c.score, reverse=True)
        return out
