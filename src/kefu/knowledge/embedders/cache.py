"""The caching layer over any embedder, and the one embedder per process the settings name.

`CachedEmbedder` keeps vectors in memory (an index rebuilt after one edit embeds only what changed, a
question asked again is not embedded again) and, through `preload`, in the store's `kb_embeddings` table
(so a restart, another worker or another instance embeds only new texts).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from kefu.knowledge.embedders.base import Embedder, Kind
from kefu.knowledge.embedders.local import get_embedder
from kefu.knowledge.embedders.remote import REMOTE_KINDS, remote_embedder

if TYPE_CHECKING:
    from kefu.ops.settings import Settings
    from kefu.store.repo import Store

__all__ = ["CachedEmbedder", "embedder_from_settings", "shared_embedder", "text_hash"]


class CachedEmbedder:
    """An embedder that remembers its vectors: an index rebuilt after one edit embeds only what changed,
    and a question asked again (the frequent ones) is not embedded again."""

    def __init__(self, inner: Embedder, maxsize: int = 200_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.maxsize = maxsize
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    @property
    def dim(self) -> int:  # a remote embedder learns it from its first answer: not asked for at start-up
        return self.inner.dim

    def embed(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        todo: list[int] = []
        for i, t in enumerate(texts):
            v = self._cache.get((kind, t))
            if v is None:
                todo.append(i)
            else:
                out[i] = v
        if todo:
            fresh = self.inner.embed([texts[i] for i in todo], kind)
            for i, v in zip(todo, fresh, strict=True):
                out[i] = v
                self._cache[(kind, texts[i])] = v
            while len(self._cache) > self.maxsize:
                self._cache.popitem(last=False)
        return out

    def preload(self, store: Store, kind: Kind, texts: Sequence[str]) -> int:
        """Bring the vectors of `texts` into memory: from the store's embedding cache where another build
        (or instance) made them, else by embedding them, storing the new ones. Returns how many were new."""
        missing = {text_hash(t): t for t in dict.fromkeys(texts) if (kind, t) not in self._cache}
        if not missing:
            return 0
        for h, blob in store.get_embeddings(self.name, kind, missing).items():
            self._cache[(kind, missing.pop(h))] = np.frombuffer(blob, np.float32)
        if not missing:
            return 0
        hashes, todo = list(missing), list(missing.values())
        vectors = np.concatenate(
            [self.embed(todo[i : i + 256], kind) for i in range(0, len(todo), 256)]
        )  # fills the memory cache
        store.put_embeddings(self.name, kind, [(h, v.tobytes()) for h, v in zip(hashes, vectors, strict=True)])
        return len(todo)


def text_hash(text: str) -> str:
    """The key of a text's vector in the store's embedding table (sha1 of the UTF-8 text)."""
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@lru_cache(maxsize=4)
def shared_embedder(name: str | None) -> CachedEmbedder | None:
    """One cached embedder per packaged model per process: tenants and rebuilds share its vectors."""
    inner = get_embedder(name)
    return None if inner is None else CachedEmbedder(inner)


@lru_cache(maxsize=4)
def _shared_remote(
    kind: str, url: str | None, model: str, api_key: str | None, timeout_s: float, qp: str, pp: str
) -> CachedEmbedder:
    emb = remote_embedder(kind, url, model, api_key=api_key, timeout_s=timeout_s, query_prefix=qp, passage_prefix=pp)
    return CachedEmbedder(emb)


def embedder_from_settings(settings: Settings) -> CachedEmbedder | None:
    """The knowledge base's embedder as the settings name it (`kb_embedder` and, for "ollama" / "openai",
    the `kb_embed_*` fields): one per process and configuration, with its vectors cached (and kept in the
    database by the knowledge base). None for "none"."""
    kind = settings.kb_embedder
    if kind not in REMOTE_KINDS:
        return shared_embedder(kind)
    key = settings.kb_embed_api_key
    return _shared_remote(
        kind,
        settings.kb_embed_url,
        settings.kb_embed_model or "",
        key.get_secret_value() if key is not None else None,
        settings.kb_embed_timeout_s,
        settings.kb_embed_query_prefix,
        settings.kb_embed_passage_prefix,
    )
