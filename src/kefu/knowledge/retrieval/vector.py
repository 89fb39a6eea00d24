"""The vector index: L2-normalised embeddings in one numpy matrix, dot-product top-k."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kefu.knowledge.embedders.base import Embedder
from kefu.knowledge.retrieval.texts import DocMap, IndexedText

__all__ = ["VectorIndex"]


class VectorIndex:
    """L2-normalised embeddings in a float32 matrix; dot-product (cosine) top-k; a document scores its best
    row (rows of kind "answer" scaled by their weight)."""

    def __init__(self, texts: Sequence[IndexedText], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"{len(texts)} texts but vectors of shape {vectors.shape}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.matrix = np.ascontiguousarray(vectors / np.where(norms == 0, 1, norms))
        self.texts = list(texts)
        self._docs = DocMap(self.texts)
        self._rows: dict[str, list[int]] = {}
        for i, t in enumerate(self.texts):
            self._rows.setdefault(t.doc_id, []).append(i)
        w = self._docs.row_weight
        self._weight = None if np.all(w == 1) else w

    @classmethod
    def build(cls, texts: Sequence[IndexedText], embedder: Embedder, *, batch: int = 256) -> VectorIndex:
        texts = list(texts)
        vecs = np.zeros((len(texts), embedder.dim), np.float32)
        for kind in ("query", "passage"):
            rows = [i for i, t in enumerate(texts) if (t.kind == "question") == (kind == "query")]
            for s in range(0, len(rows), batch):
                part = rows[s : s + batch]
                vecs[part] = embedder.embed([texts[i].text for i in part], kind)  # type: ignore[arg-type]
        return cls(texts, vecs)

    def __len__(self) -> int:
        return len(self._docs.doc_ids)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def row_scores(self, qvec: np.ndarray) -> np.ndarray:
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(q))
        s = self.matrix @ (q / norm if norm > 0 else q)
        return s * self._weight if self._weight is not None else s

    def rows_of(self, doc_ids: Sequence[str]) -> list[int]:
        """The rows of these documents (unknown ids have none), for reading their vectors or scores."""
        return [i for d in doc_ids for i in self._rows.get(d, ())]

    def search(self, qvec: np.ndarray, k: int = 10) -> list[tuple[str, float]]:
        """[(doc id, cosine)], best first."""
        if not self.texts:
            return []
        return self._docs.best(self.row_scores(qvec), k)
