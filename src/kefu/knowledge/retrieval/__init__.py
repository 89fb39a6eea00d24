"""Search over a tenant's knowledge: a keyword index, a vector index, and their fusion.

- `texts`: `IndexedText` (a text of a document: an FAQ question, paraphrase or answer, or a chunk),
  `faq_texts`, and the map from rows to documents (a document scores its best text).
- `keyword`: `KeywordIndex`, BM25 (bm25s) over jieba words and Chinese character bigrams.
- `vector`: `VectorIndex`, L2-normalised embeddings in a numpy matrix, dot-product top-k.
- `hybrid`: `HybridRetriever` (weighted or RRF fusion, a rerank hook) and its `Candidate`s.

Embedders are in `kefu.knowledge.embedders`, the FAQ matcher in `kefu.knowledge.matcher`.
"""

from kefu.knowledge.retrieval.hybrid import Candidate, Fusion, HybridRetriever, Reranker
from kefu.knowledge.retrieval.keyword import KeywordIndex
from kefu.knowledge.retrieval.texts import IndexedText, faq_texts
from kefu.knowledge.retrieval.vector import VectorIndex

__all__ = [
    "Candidate",
    "Fusion",
    "HybridRetriever",
    "IndexedText",
    "KeywordIndex",
    "Reranker",
    "VectorIndex",
    "faq_texts",
]
