"""The confidence of an answer: a calibrated probability that it is right, so that the bot's threshold
("置信度低于0.85转人工") means what it says.

Two small logistic models over what the knowledge base already computed for the question: one for the
best FAQ entry (the matcher's same-question probability, its margin over the runner-up), one for the best
document passage (its vector cosine, how much of the question it covers, how strong the best FAQ entry is
beside it). They are fitted by `kefu eval answers --fit` on a labelled set of customer questions
(tests/data/answers_fit.jsonl, never the measurement set) and kept in `confidence_model.json`; the
expected calibration error on the measurement set is in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kefu.knowledge.matcher import is_identical
from kefu.knowledge.service import Lookup, Passage

MODEL_PATH = Path(__file__).with_name("confidence_model.json")
_EPS = 1e-4


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def faq_features(look: Lookup) -> list[float] | None:
    """The best FAQ candidate's: the matcher's probability (logit) and its lead over the runner-up, the vector
    cosine and its lead, whether keyword search ranks it first too, how the best document chunk compares,
    how much of the question the entry's wordings hold; None without an FAQ candidate."""
    g = look.signals
    if "faq_p" not in g:
        return None
    lead = _logit(g["faq_p"]) - _logit(g["faq_runner_p"])
    doc_lead = (g.get("doc_cos", g["faq_cos"]) - g["faq_cos"]) * 10
    return [_logit(g["faq_p"]), lead, g["faq_cos"] * 10, g["faq_cos_gap"] * 10, g["faq_kw_top"], doc_lead,
            g["faq_cov"], g.get("doc_title_cov", 0.0), 1.0]  # fmt: skip


def document_features(look: Lookup) -> list[float] | None:
    """The best document chunk's: its cosine, its lead over the best FAQ entry's, the matcher's probability
    for that entry, its keyword score, how much of the question it and its section title hold."""
    g = look.signals
    if "doc_cos" not in g:
        return None
    faq_cos = g.get("faq_cos", g["doc_cos"])
    return [g["doc_cos"] * 10, _logit(g.get("faq_p", 0.0)), (g["doc_cos"] - faq_cos) * 10, math.log1p(g["doc_kw"]),
            g["doc_cov"], g["doc_title_cov"], g.get("faq_cov", 0.0), 1.0]  # fmt: skip


@dataclass
class ConfidenceModel:
    # unfitted: the matcher's own probability for FAQ entries, documents never sure enough to answer alone
    faq_w: list[float] = field(default_factory=lambda: [1.0] + [0.0] * 8)
    doc_w: list[float] = field(default_factory=lambda: [0.0] * 7 + [-5.0])
    fitted_on: str = ""

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> ConfidenceModel:
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text("utf-8"))
        return cls(raw["faq"], raw["doc"], raw.get("fitted_on", ""))

    def save(self, path: Path = MODEL_PATH, **about: object) -> None:
        body = {"faq": self.faq_w, "doc": self.doc_w, "fitted_on": self.fitted_on}
        path.write_text(json.dumps(body | about, ensure_ascii=False, indent=1) + "\n", "utf-8")

    def faq(self, look: Lookup) -> float:
        """P(the best FAQ entry's answer is right for this question)."""
        if look.matches and is_identical(look.matches[0]):
            return 1.0  # the entry's own wording
        x = faq_features(look)
        return 0.0 if x is None else _sigmoid(float(np.dot(self.faq_w, x)))

    def document(self, look: Lookup) -> tuple[float, Passage | None]:
        """P(the best document passage answers the question), and that passage."""
        x = document_features(look)
        if x is None or look.best_chunk is None:
            return 0.0, None
        return _sigmoid(float(np.dot(self.doc_w, x))), look.best_chunk


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50) -> list[float]:
    """Logistic regression by Newton's method with a small ridge (the bias is the last column, not shrunk)."""
    w = np.zeros(x.shape[1])
    ridge = np.eye(x.shape[1]) * l2
    ridge[-1, -1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -40, 40)))
        grad = x.T @ (p - y) + ridge @ w
        hess = (x.T * (p * (1 - p))) @ x + ridge + np.eye(x.shape[1]) * 1e-9
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return [round(float(v), 5) for v in w]


def expected_calibration_error(conf: list[float], right: list[bool], bins: int = 10) -> float:
    """The mean gap between confidence and accuracy over equal-width bins, weighted by their counts."""
    if not conf:
        return 0.0
    c, r = np.asarray(conf), np.asarray(right, dtype=float)
    idx = np.minimum((c * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += sel.sum() * abs(c[sel].mean() - r[sel].mean())
    return float(total / len(c))
