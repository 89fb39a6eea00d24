"""The confidence of an answer: a calibrated probability that it is right, so that the bot's threshold
("置信度低于0.85转人工") means what it says.

One small model weighs a question's candidates against each other: a linear score for each FAQ candidate (the
matcher's same-question probability, its lead over the others, cosines, keyword rank, how much of the question
its wordings and answer hold, how well its answer fits), one for the best document chunk (its cosine and lead,
BM25, coverage, how far it stands out among the chunks) and 0 for "none of them", through one softmax (a
conditional logit), then isotonic maps from the shares to the share right. Fitted by `kefu eval answers --fit`
on labelled customer questions (tests/data/answers_fit*.jsonl, never the measurement set) and kept in
`confidence_model.json`; the calibration error on the measurement set is in docs/policy.md. A file without
`"kind": "joint"` holds the older per-candidate logistic models, still read.
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
MAPS = ("faq_map", "doc_map", "clarify_map", "decline_map")
_EPS = 1e-4


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def candidate_features(look: Lookup, i: int) -> list[float]:
    """FAQ candidate i's (retrieval order): the matcher's probability (logit) and its lead over the other
    candidates, its cosine and lead, whether keyword search ranks it first, its rank, how much of the question
    its wordings hold, how well its answer fits the question (and beside the best-fitting answer), and how
    the best document chunk compares."""
    g = look.signals
    cands = g["faq"]
    c = cands[i]
    others = [o for j, o in enumerate(cands) if j != i]
    p_lead = _logit(c["p"]) - _logit(max((o["p"] for o in others), default=0.0))
    cos_lead = c["cos"] - max((o["cos"] for o in others), default=0.0)
    a = c["answer_cos"] if c["answer_cos"] is not None else 0.8
    a_best, a_second = g.get("answer_best", a), g.get("answer_second", a)
    return [_logit(c["p"]), p_lead, c["cos"] * 10, cos_lead * 10, c["kw_top"], float(i == 0), float(i == 1),
            c["cov"], a * 10, (a - a_best) * 10, (a_best - a_second) * 10,
            (g.get("doc_cos", c["cos"]) - c["cos"]) * 10, g.get("doc_title_cov", 0.0), g.get("kb_cov", 1.0),
            c.get("wcov", c["cov"]), 1.0]  # fmt: skip


def document_features(look: Lookup) -> list[float] | None:
    """The best document chunk's: its cosine, its lead over the best FAQ entry's, the matcher's probability
    for that entry, its keyword score, how much of the question it and its section title hold."""
    g = look.signals
    if "doc_cos" not in g:
        return None
    top = g["faq"][0] if g.get("faq") else {"p": 0.0, "cos": g["doc_cos"], "cov": 0.0, "wcov": 0.0}
    return [g["doc_cos"] * 10, _logit(top["p"]), (g["doc_cos"] - top["cos"]) * 10, math.log1p(g["doc_kw"]),
            g["doc_cov"], g["doc_title_cov"], top["cov"], g.get("kb_cov", 1.0), g.get("doc_wcov", g["doc_cov"]),
            top.get("wcov", top["cov"]), g.get("doc_lead", 0.0) * 10, 1.0]  # fmt: skip


@dataclass
class ConfidenceModel:
    # unfitted: the matcher's own probability for FAQ entries, documents never sure enough to answer alone
    faq_w: list[float] = field(default_factory=lambda: [1.0] + [0.0] * 15)
    doc_w: list[float] = field(default_factory=lambda: [0.0] * 11 + [-5.0])
    # each model's score mapped to the share right (isotonic, fitted on out-of-fold scores): [(score, p)]
    faq_map: list[tuple[float, float]] = field(default_factory=list)
    doc_map: list[tuple[float, float]] = field(default_factory=list)
    # a clarification's chance that the entry meant is offered, a decline's that nothing answers: their raw
    # estimates (sums of the candidates' probabilities) mapped to the share right, fitted on the policy's own
    # clarifications and declines of the fit set
    clarify_map: list[tuple[float, float]] = field(default_factory=list)
    decline_map: list[tuple[float, float]] = field(default_factory=list)
    fitted_on: str = ""
    # "joint": faq_w and doc_w score the FAQ candidates, the best chunk and "none of them" (score 0) against
    # each other in one softmax, so that the probabilities of one question add up to 1; "" (older files):
    # each candidate's own logistic model
    kind: str = "joint"

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> ConfidenceModel:
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text("utf-8"))
        maps = [[(float(x), float(y)) for x, y in raw.get(k, [])] for k in MAPS]
        return cls(raw["faq"], raw["doc"], *maps, raw.get("fitted_on", ""), raw.get("kind", ""))

    def save(self, path: Path = MODEL_PATH, **about: object) -> None:
        body = {
            "faq": self.faq_w,
            "doc": self.doc_w,
            **{k: getattr(self, k) for k in MAPS},
            "fitted_on": self.fitted_on,
            "kind": self.kind,
        }
        path.write_text(json.dumps(body | about, ensure_ascii=False, indent=1) + "\n", "utf-8")

    def faq(self, look: Lookup) -> list[float]:
        """P(candidate i's answer is right for this question), for each FAQ candidate of `look.matches`."""
        if look.matches and is_identical(look.matches[0]):
            return [1.0]  # the entry's own wording
        n = min(len(look.matches), len(look.signals.get("faq", [])))
        if self.kind == "joint":
            return [_mapped(self.faq_map, p) for p in self.joint(look)[0][:n]]
        return [
            _mapped(self.faq_map, _sigmoid(float(np.dot(self.faq_w, candidate_features(look, i))))) for i in range(n)
        ]

    def joint(self, look: Lookup) -> tuple[list[float], float]:
        """The raw softmax shares of the FAQ candidates and of the best chunk ("none" has the rest)."""
        n = min(len(look.matches), len(look.signals.get("faq", [])))
        z = [float(np.dot(self.faq_w, candidate_features(look, i))) for i in range(n)]
        x = document_features(look)
        zd = float(np.dot(self.doc_w, x)) if x is not None and look.best_chunk is not None else None
        return softmax_shares(z, zd)

    def clarified(self, offered: float) -> float:
        """P(the entry meant is among a clarification's suggestions), from the sum of their probabilities."""
        return _mapped(self.clarify_map, offered)

    def declined(self, none_right: float) -> float:
        """P(nothing in the knowledge base answers), from 1 - the sum of the candidates' probabilities."""
        return _mapped(self.decline_map, none_right)

    def document(self, look: Lookup) -> tuple[float, Passage | None]:
        """P(the best document passage answers the question), and that passage."""
        x = document_features(look)
        if x is None or look.best_chunk is None:
            return 0.0, None
        if self.kind == "joint":
            return _mapped(self.doc_map, self.joint(look)[1]), look.best_chunk
        return _mapped(self.doc_map, _sigmoid(float(np.dot(self.doc_w, x)))), look.best_chunk


def softmax_shares(z: list[float], zd: float | None) -> tuple[list[float], float]:
    """Scores of the FAQ candidates and the chunk (None: no chunk) against "none" (score 0), as shares."""
    allz = [*z, *([zd] if zd is not None else []), 0.0]
    m = max(allz)
    e = [math.exp(max(v - m, -60.0)) for v in allz]
    total = sum(e)
    faq = [v / total for v in e[: len(z)]]
    return faq, (e[len(z)] / total if zd is not None else 0.0)


@dataclass
class JointExample:
    """One question's candidates for the joint fit: FAQ candidates' features, the chunk's (or None), and
    which is right: an FAQ candidate's index, "doc", or None (none of them)."""

    faq: list[list[float]]
    doc: list[float] | None
    right: int | str | None


def fit_joint(examples: list[JointExample], l2: float = 0.3, steps: int = 300) -> tuple[list[float], list[float]]:
    """The softmax (conditional logit) over each question's candidates and "none", by Newton's method with a
    small ridge (the two biases not shrunk): FAQ weights and chunk weights."""
    nf = len(next(e.faq[0] for e in examples if e.faq)) if any(e.faq for e in examples) else 16
    nd = len(next(e.doc for e in examples if e.doc is not None)) if any(e.doc for e in examples) else 12
    dim = nf + nd
    w = np.zeros(dim)
    ridge = np.full(dim, l2)
    ridge[nf - 1] = ridge[dim - 1] = 0.0  # the biases (each feature list ends with 1.0)
    rows = []
    for e in examples:
        xs = [np.r_[np.asarray(f), np.zeros(nd)] for f in e.faq]
        if e.doc is not None:
            xs.append(np.r_[np.zeros(nf), np.asarray(e.doc)])
        xs.append(np.zeros(dim))  # none
        y = np.zeros(len(xs))
        y[e.right if isinstance(e.right, int) else (len(e.faq) if e.right == "doc" else len(xs) - 1)] = 1.0
        rows.append((np.vstack(xs), y))
    for _ in range(steps):
        grad, hess = ridge * w, np.diag(ridge + 1e-9)
        for x, y in rows:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            grad += x.T @ (p - y)
            xm = p @ x
            hess += (x.T * p) @ x - np.outer(xm, xm)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return [round(float(v), 5) for v in w[:nf]], [round(float(v), 5) for v in w[nf:]]


def fit_joint_calibrated(
    examples: list[JointExample], folds: int = 5, seed: int = 0
) -> tuple[list[float], list[float], list, list]:
    """The joint model on all examples, and the isotonic maps of its out-of-fold shares (FAQ candidates,
    chunks) to the share right."""
    fold = np.random.default_rng(seed).integers(0, folds, len(examples))
    fs, fr, ds, dr = [], [], [], []
    for f in range(folds):
        wf, wd = fit_joint([e for e, k in zip(examples, fold, strict=True) if k != f])
        for e, k in zip(examples, fold, strict=True):
            if k != f:
                continue
            z = [float(np.dot(wf, x)) for x in e.faq]
            zd = float(np.dot(wd, e.doc)) if e.doc is not None else None
            pf, pd = softmax_shares(z, zd)
            fs += pf
            fr += [float(e.right == i) for i in range(len(pf))]
            if e.doc is not None:
                ds.append(pd)
                dr.append(float(e.right == "doc"))
    wf, wd = fit_joint(examples)
    return wf, wd, fit_isotonic(np.asarray(fs), np.asarray(fr)), fit_isotonic(np.asarray(ds), np.asarray(dr))


def _mapped(points: list[tuple[float, float]], score: float) -> float:
    """The share right at this score, interpolated between the isotonic map's points (none: the score)."""
    if not points:
        return score
    return float(np.interp(score, [x for x, _ in points], [y for _, y in points]))


def fit_isotonic(
    scores: np.ndarray, right: np.ndarray, lo: float = 0.01, hi: float = 0.99
) -> list[tuple[float, float]]:
    """Pool-adjacent-violators: the non-decreasing step function of the share right against the score, as
    (mean score, share right) per block, kept within [lo, hi] (a few hundred examples prove no certainty)."""
    order = np.argsort(scores)
    blocks: list[list[float]] = []  # [sum of scores, sum right, count]
    for i in order:
        blocks.append([float(scores[i]), float(right[i]), 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            s, r, n = blocks.pop()
            blocks[-1] = [blocks[-1][0] + s, blocks[-1][1] + r, blocks[-1][2] + n]
    return [(round(s / n, 5), round(min(max(r / n, lo), hi), 5)) for s, r, n in blocks]


def fit_platt(scores: np.ndarray, right: np.ndarray) -> list[tuple[float, float]]:
    """A smooth map (a logistic curve over the score's logit, two parameters: for a few dozen examples, where an
    isotonic map would overfit), sampled at 21 points for `_mapped`."""
    x = np.column_stack([[_logit(float(v)) for v in scores], np.ones(len(scores))])
    a, b = fit_logistic(x, right, l2=1.0)
    grid = np.linspace(0.01, 0.99, 21)
    return [(round(float(g), 4), round(min(max(_sigmoid(a * _logit(float(g)) + b), 0.01), 0.99), 4)) for g in grid]


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
