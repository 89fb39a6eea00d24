"""The keyword index: BM25 (bm25s, Lucene variant) over jieba words and Chinese character bigrams."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kefu.knowledge import text as textmod
from kefu.knowledge.retrieval.texts import DocMap, IndexedText

__all__ = ["KeywordIndex"]


class KeywordIndex:
    """BM25 (bm25s, Lucene variant) over `tokens` of each text: jieba words + Chinese character bigrams,
    English words. A document scores max(weight x BM25) over its texts."""

    def __init__(
        self,
        texts: Sequence[IndexedText],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        tokenizer: Callable[[str], list[str]] = textmod.tokens,
    ) -> None:
        import bm25s

        self.texts = list(texts)
        self.tokenizer = tokenizer
        self._docs = DocMap(self.texts)
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        corpus = [tokenizer(t.text) for t in self.texts]
        self._empty = not any(corpus)
        if not self._empty:
            self._bm25.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return len(self._docs.doc_ids)

    def row_scores(self, query: str) -> np.ndarray:
        """weight x BM25 of every text (0 where no term is shared)."""
        if self._empty:
            return np.zeros(len(self.texts), np.float32)
        ids = sorted(set(self._bm25.get_tokens_ids(self.tokenizer(query))))
        if not ids:
            return np.zeros(len(self.texts), np.float32)
        return self._bm25.get_scores_from_ids(ids) * self._docs.row_weight

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """[(doc id, BM25 score)], best first; documents sharing no term are left out."""
        return self._docs.best(self.row_scores(query), k, floor=0.0)
