"""What the indexes hold: texts, each belonging to a document, and the map from rows to documents.

An FAQ entry's question, its paraphrases and its answer are separate texts of one document, weighted; a
chunk is one text. A document scores its best text in every index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only its fields are used: key, question, similar, answer
    from kefu.store.knowledge import FaqRecord

__all__ = ["DocMap", "IndexedText", "faq_texts"]


@dataclass(frozen=True)
class IndexedText:
    """One indexed text of a document. `kind` is "question" (an FAQ question or paraphrase: embedded as a
    query, since a customer's question is compared with it), "answer" or "chunk" (embedded as a passage)."""

    doc_id: str
    text: str
    kind: str = "chunk"
    weight: float = 1.0


def faq_texts(records: Iterable[FaqRecord], *, answer_weight: float = 0.5) -> list[IndexedText]:
    """An FAQ entry as texts: its question and each paraphrase at weight 1, its answer at `answer_weight`
    (0 leaves the answer out)."""
    out: list[IndexedText] = []
    for r in records:
        for q in dict.fromkeys([r.question, *r.similar]):
            if q.strip():
                out.append(IndexedText(r.key, q, "question", 1.0))
        if answer_weight > 0 and r.answer.strip():
            out.append(IndexedText(r.key, r.answer, "answer", answer_weight))
    return out


class DocMap:
    """Rows (texts) to documents, and the best row per document."""

    def __init__(self, texts: Sequence[IndexedText]) -> None:
        self.doc_ids: list[str] = list(dict.fromkeys(t.doc_id for t in texts))
        pos = {d: i for i, d in enumerate(self.doc_ids)}
        self.row_doc = np.fromiter((pos[t.doc_id] for t in texts), dtype=np.int64, count=len(texts))
        self.row_weight = np.fromiter((t.weight for t in texts), dtype=np.float32, count=len(texts))
        self.one_row_per_doc = len(self.doc_ids) == len(texts)

    def best(self, row_scores: np.ndarray, k: int, *, floor: float | None = None) -> list[tuple[str, float]]:
        """The `k` best documents by their best row, [(doc id, score)], best first; rows at or below `floor`
        are left out."""
        if k <= 0 or row_scores.size == 0:
            return []
        rows = np.flatnonzero(row_scores > floor) if floor is not None else np.arange(row_scores.size)
        if rows.size == 0:
            return []
        s = row_scores[rows]
        if self.one_row_per_doc:
            if rows.size > k:
                part = np.argpartition(-s, k - 1)[:k]
                rows, s = rows[part], s[part]
            order = np.argsort(-s, kind="stable")
            return [(self.doc_ids[self.row_doc[r]], float(v)) for r, v in zip(rows[order], s[order], strict=True)]
        # several rows a document: take enough of the best rows to cover k documents
        n = min(rows.size, max(4 * k, 32))
        while True:
            top = np.argpartition(-s, n - 1)[:n] if n < rows.size else np.arange(rows.size)
            top = top[np.argsort(-s[top], kind="stable")]
            seen: dict[int, float] = {}
            for i in top:
                d = int(self.row_doc[rows[i]])
                if d not in seen:
                    seen[d] = float(s[i])
                    if len(seen) == k:
                        break
            if len(seen) == k or n >= rows.size:
                return [(self.doc_ids[d], v) for d, v in seen.items()]
            n = min(rows.size, n * 4)
