"""`kefu eval answers`: what customers get, sorted. Every question of a labelled set goes through the whole
turn pipeline (the configured engine, knowledge and guard; each question its own conversation) and every
reply is sorted into right, clarified, wrong or degenerate.

A line: {"text": "...", "expect": "faq:<id>" | "doc:<section title>" | "decline" | "handoff"}.
- faq: right when answered from that entry (its answer, or a generated reply citing it first and carrying
  its facts); clarified when the entry is among a clarification's suggestions.
- doc: right when answered from a passage of that section (quoted, or generated from it first).
- decline: right when declined honestly or handed to a person. handoff: right when handed off.
- degenerate: a generated reply the loop check (guard/output/degenerate.py) calls a loop or a recital.

The summary's shares are between 0 and 1; `confidence` pairs every answer's confidence with whether it was
right, for the calibration error. `fit` fits the confidence model (conversation/confidence.py) on a set's
lookups alone, without the engine.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kefu.conversation.confidence import (
    ConfidenceModel,
    JointExample,
    candidate_features,
    document_features,
    expected_calibration_error,
    fit_joint_calibrated,
    fit_platt,
)
from kefu.conversation.handoff import handoff_ask, without_declined_request
from kefu.conversation.pipeline import Pipeline
from kefu.conversation.types import Reply, Turn
from kefu.guard.output.degenerate import degenerate
from kefu.knowledge.matcher import is_identical
from kefu.knowledge.service import KnowledgeBase
from kefu.knowledge.text import bigrams

ANSWERED = ("faq", "document", "cache")
# the replies whose confidence is a probability of being right: answers, clarifications (the entry meant is
# offered) and declines (nothing in the knowledge base answers)
CALIBRATED = (*ANSWERED, "clarify", "decline")


@dataclass(frozen=True)
class Question:
    text: str
    expect: str

    @property
    def kind(self) -> str:
        return self.expect.split(":", 1)[0]

    @property
    def target(self) -> str:
        return self.expect.split(":", 1)[1] if ":" in self.expect else ""


def read_questions(path: str | Path) -> list[Question]:
    """The labelled questions; a line that is not one raises ValueError with its number."""
    out = []
    for n, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            q = Question(str(row["text"]), str(row["expect"]))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{n}: not a {{text, expect}} line ({e})") from None
        if q.kind not in ("faq", "doc", "decline", "handoff") or (q.kind in ("faq", "doc") and not q.target):
            raise ValueError(f"{path}:{n}: expect must be faq:<id>, doc:<section>, decline or handoff: {q.expect!r}")
        out.append(q)
    return out


def in_section(section: str, title: str) -> bool:
    """A chunk's section path ("售后服务细则 > 礼品卡") ends with the section's title."""
    return section == title or section.endswith("> " + title)


def _carries(reply: str, answer: str) -> bool:
    """A generated reply carries an answer's facts: most of its bigrams come from that answer."""
    mine = bigrams(reply)
    return bool(mine) and len(mine & bigrams(answer)) / len(mine) >= 0.5


def sort_reply(q: Question, reply: Reply, answers: dict[str, str]) -> str:
    """right | clarified | wrong | degenerate."""
    by, first = reply.answered_by, (reply.sources[0] if reply.sources else None)
    generated = ":" in by  # the engine wrote it ("<backend>:<model>"); kefu's own texts are not checked
    if generated and degenerate(reply.text) is not None:
        return "degenerate"
    if q.kind == "handoff":
        return "right" if reply.handed_off else "wrong"
    if q.kind == "decline":
        return "right" if by in ("decline", "handoff") else "wrong"
    if by == "clarify":
        return "clarified" if q.kind == "faq" and q.target in {s["id"] for s in reply.suggestions} else "wrong"
    if first is None:
        return "wrong"
    if q.kind == "faq":
        if first.id != q.target:
            return "wrong"
        return "right" if by in ANSWERED or (generated and _carries(reply.text, answers.get(q.target, ""))) else "wrong"
    # doc: answered from a passage of that section
    cited = next((s for s in reply.sources if s.kind == "chunk"), None)
    if cited is None or not in_section(cited.section, q.target):
        return "wrong"
    return "right" if by == "document" or generated else "wrong"


async def evaluate_answers(pipeline: Pipeline, tenant: str, questions: Iterable[Question]) -> dict:
    """Each question its own conversation, through `Pipeline.answer`; the replies sorted and summed up."""
    idx = await pipeline.kb.index(tenant)
    answers = {k: r.answer for k, r in idx.faqs.items()}
    rows, conf, right = [], [], []
    for i, q in enumerate(questions):
        reply = await (await pipeline.answer(Turn(tenant, "eval", f"eval-{i}", None, q.text))).collect()
        verdict = sort_reply(q, reply, answers)
        rows.append({"text": q.text, "expect": q.expect, "verdict": verdict, "answered_by": reply.answered_by,
                     "confidence": round(reply.confidence, 4), "handed_off": reply.handed_off,
                     "source": reply.sources[0].id if reply.sources else None, "reply": reply.text[:200]})  # fmt: skip
        if reply.answered_by in CALIBRATED or ":" in reply.answered_by:  # hand-offs and small talk are not guesses
            conf.append(reply.confidence)
            right.append(verdict in ("right", "clarified"))
    return summarise(rows, conf, right)


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def summarise(rows: list[dict], conf: list[float], right: list[bool]) -> dict:
    by_kind: dict[str, Counter] = {}
    for r in rows:
        by_kind.setdefault(r["expect"].split(":", 1)[0], Counter())[r["verdict"]] += 1

    def share(kind: str, *verdicts: str) -> float:
        c = by_kind.get(kind, Counter())
        n = sum(c.values())
        return round(sum(c[v] for v in verdicts) / n, 4) if n else 0.0

    return {
        "questions": len(rows),
        "faq_right": share("faq", "right"),
        "faq_clarified": share("faq", "clarified"),
        "faq_right_or_clarified": share("faq", "right", "clarified"),
        "doc_right": share("doc", "right"),
        "decline_right": share("decline", "right"),
        "handoff_right": share("handoff", "right"),
        "degenerate": sum(r["verdict"] == "degenerate" for r in rows),
        "answered": sum(r["answered_by"] in ANSWERED or ":" in r["answered_by"] for r in rows),
        "answered_right": _share(
            [r["verdict"] == "right" for r in rows if r["answered_by"] in ANSWERED or ":" in r["answered_by"]]
        ),
        "ece": round(expected_calibration_error(conf, right), 4),
        # the answers' alone (FAQ answers, quoted documents, generated replies): whether 0.85 means 85 in 100
        "ece_answers": round(
            expected_calibration_error(
                [r["confidence"] for r in rows if r["answered_by"] in ANSWERED or ":" in r["answered_by"]],
                [r["verdict"] == "right" for r in rows if r["answered_by"] in ANSWERED or ":" in r["answered_by"]],
            ),
            4,
        ),
        "counts": {k: dict(v) for k, v in sorted(by_kind.items())},
        "rows": rows,
        "calibration": list(zip(conf, right, strict=True)),
    }


async def fit_confidence(kb: KnowledgeBase, tenant: str, questions: Iterable[Question], k: int = 3) -> ConfidenceModel:
    """The joint confidence model fitted on a labelled set's lookups: for each question its FAQ candidates' and
    best chunk's features, and which of them is right (the expected entry, a chunk of the expected section)
    or none."""
    joint = []
    for q in questions:
        if handoff_ask(q.text) is not None:
            continue  # handed off before the knowledge base is asked
        look = await kb.lookup(tenant, without_declined_request(q.text), k)  # as the pipeline searches
        if look.matches and is_identical(look.matches[0]):
            continue  # answered from the entry's own wording: nothing to weigh
        n = min(len(look.matches), len(look.signals.get("faq", [])))
        right: int | str | None = next((i for i, m in enumerate(look.matches[:n]) if q.expect == f"faq:{m.id}"), None)
        x = document_features(look) if look.best_chunk is not None else None
        if x is not None and look.best_chunk is not None and q.kind == "doc":
            right = "doc" if in_section(look.best_chunk.section, q.target) else right
        joint.append(JointExample([candidate_features(look, i) for i in range(n)], x, right))
    model = ConfidenceModel()
    model.faq_w, model.doc_w, model.faq_map, model.doc_map = fit_joint_calibrated(joint)
    return model


def reliability_plot(pairs: list[tuple[float, bool]], path: str | Path, title: str, bins: int = 10) -> None:
    """Confidence against accuracy per bin (the diagonal is perfect calibration), with each bin's count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = np.asarray([p for p, _ in pairs])
    r = np.asarray([float(ok) for _, ok in pairs])
    idx = np.minimum((c * bins).astype(int), bins - 1)
    xs, ys, ns = [], [], []
    for b in range(bins):
        sel = idx == b
        if sel.any():
            xs.append(c[sel].mean())
            ys.append(r[sel].mean())
            ns.append(int(sel.sum()))
    fig, ax = plt.subplots(figsize=(4.8, 4.8), dpi=100)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    ax.plot(xs, ys, marker="o", c="tab:blue")
    for x, y, n in zip(xs, ys, ns, strict=True):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("confidence (mean per bin)")
    ax.set_ylabel("share right")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


async def fit_policy_maps(pipeline: Pipeline, tenant: str, questions: list[Question]) -> ConfidenceModel:
    """The clarification and decline maps of the pipeline's confidence model, fitted on what its policy does
    with the fit set (their raw estimates against whether they were right); the rest of the model as it is."""
    model = pipeline.confidence
    model.clarify_map, model.decline_map = [], []  # raw estimates while the maps are fitted
    rows = (await evaluate_answers(pipeline, tenant, questions))["rows"]
    for kind, attr in (("clarify", "clarify_map"), ("decline", "decline_map")):
        mine = [r for r in rows if r["answered_by"] == kind]
        if mine:
            conf = np.asarray([r["confidence"] for r in mine])
            ok = np.asarray([float(r["verdict"] in ("right", "clarified")) for r in mine])
            setattr(model, attr, fit_platt(conf, ok))
    return model
