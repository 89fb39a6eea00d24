"""The matcher's fitted model, shipped in `matcher_model.npz` (written by bench/train_matcher.py) and read once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "DEFAULT_COEF",
    "DEFAULT_THRESHOLD",
    "MODEL_FILE",
    "NO_EMBEDDER_COSINE",
    "TEXT_COEF",
    "PairModel",
    "pair_model",
]


MODEL_FILE = "matcher_model.npz"


@dataclass(frozen=True)
class PairModel:
    """The fitted model shipped in `matcher_model.npz` (written by bench/train_matcher.py): logistic
    coefficients with and without an embedder, and the projection behind the "emb" feature."""

    coef: dict[str, float]
    coef_text: dict[str, float]
    emb_proj: np.ndarray  # (2 x dim,): weights over [u*v, |u-v|] of the two questions' embeddings
    emb_offset: float
    threshold: float
    embedder: str  # the embedder whose vectors the projection was learnt on


@lru_cache(maxsize=1)
def pair_model() -> PairModel:
    from importlib import resources

    with resources.files("kefu.knowledge").joinpath(MODEL_FILE).open("rb") as f:
        z = np.load(f, allow_pickle=False)
        names = [str(x) for x in z["names"]]
        text_names = [str(x) for x in z["text_names"]]
        return PairModel(
            coef=dict(zip(names, (round(float(x), 4) for x in z["coef"]), strict=True)),
            coef_text=dict(zip(text_names, (round(float(x), 4) for x in z["coef_text"]), strict=True)),
            emb_proj=np.ascontiguousarray(z["emb_proj"], dtype=np.float32),
            emb_offset=float(z["emb_offset"]),
            threshold=float(z["threshold"]),
            embedder=str(z["embedder"]),
        )


# Logistic-regression coefficients over `FaqMatcher.features` (with an embedder), fitted by
# bench/train_matcher.py on tests/data/match_train_zh.tsv and the BANKING77 tuning messages; see
# docs/embeddings.md. `TEXT_COEF` is the same fit without the embedding features (no embedder).
DEFAULT_COEF: dict[str, float] = dict(pair_model().coef)
TEXT_COEF: dict[str, float] = dict(pair_model().coef_text)
# The cosine reported in `features` when there is no embedder (the text-only model does not use it).
NO_EMBEDDER_COSINE = 0.95
# The same-question threshold, validated with the model (the Chinese fast path's precision on questions the
# model was not fitted on; docs/embeddings.md).
DEFAULT_THRESHOLD: float = round(pair_model().threshold, 2)
