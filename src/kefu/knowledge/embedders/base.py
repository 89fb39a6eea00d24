"""The one interface every embedding model of the knowledge base has, local or remote."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

__all__ = ["Embedder", "Kind"]

Kind = Literal["query", "passage"]


@runtime_checkable
class Embedder(Protocol):
    """An embedding model: L2-normalised float32 rows. `kind` is "query" (a question) or "passage".
    `name` keys its vectors in the database, so vectors of different models never mix."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str], kind: Kind = "query") -> np.ndarray: ...
