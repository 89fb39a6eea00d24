"""Score the injection guard on a red-team set: share of attacks detected, false positives, added latency.

"Neutralised" here means DETECTED: the guard flags the message, and the pipeline then does not obey it (it answers
with `kefu.guard.injection.refusal` or hands off). Whether the bot's final reply complied is the end-to-end tests'
business; this scorer measures the detector.

Rows are dicts `{"text": str, "attack": bool}` with optional "kind", "lang" and "split" (the format of
tests/data/attacks.jsonl, and of the ATTACKS.jsonl that `kefu eval guard` reads).

Latency is the guard's own: when the classifier needs embeddings, they are computed first in one batch (the
pipeline shares the retrieval step's query embedding), then each `check()` is timed alone.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kefu.guard.injection import InjectionGuard
from kefu.guard.scoring import percentile, read_jsonl

__all__ = ["embed_rows", "evaluate_attacks", "load_attacks"]


def load_attacks(path: str | Path) -> list[dict[str, Any]]:
    """Rows of an ATTACKS.jsonl file (blank lines skipped)."""
    return read_jsonl(path)


def embed_rows(rows: Sequence[Mapping[str, Any]], embedder: Any, *, batch: int = 64) -> np.ndarray:
    """Query embeddings of the rows' texts, in batches (what the retrieval step would compute)."""
    texts = [str(r["text"]) for r in rows]
    parts = [embedder.embed(texts[i : i + batch], "query") for i in range(0, len(texts), batch)]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def evaluate_attacks(
    rows: Iterable[Mapping[str, Any]],
    guard: InjectionGuard,
    *,
    vectors: np.ndarray | None = None,
    repeats: int = 1,
    examples: int = 20,
) -> dict[str, Any]:
    """Figures of `guard` on `rows`.

    Returns {"neutralised": share of attacks detected, "false_positive_rate": share of benign flagged, "p50_ms",
    "p99_ms" (per `check()`, embedding excluded; with repeats > 1 each message's best of that many runs, which
    removes scheduler noise on a busy machine), "cpu_p99_ms" (thread CPU time), "n_attacks", "n_benign",
    "by_kind": {kind: {"n", "neutralised"}}, "by_lang", "by_split" (same shape, plus "false_positive_rate"),
    "missed" and "false_positives" (up to `examples` texts each)}.

    vectors: row-aligned query embeddings; when None and the guard has an embedder and an active classifier, they
    are computed here first (not timed)."""
    rows = list(rows)
    if vectors is None and guard.embedder is not None and guard.classifier_active:
        vectors = embed_rows(rows, guard.embedder)
    walls: list[float] = []
    cpus: list[float] = []
    detected = fp = 0
    n_att = n_ben = 0
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    groups: dict[str, dict[str, list[int]]] = {
        "lang": defaultdict(lambda: [0, 0, 0, 0]),
        "split": defaultdict(lambda: [0, 0, 0, 0]),
    }
    missed: list[str] = []
    false_pos: list[str] = []
    for i, r in enumerate(rows):
        text = str(r["text"])
        vec = None if vectors is None else vectors[i]
        best = float("inf")
        cpu = 0.0
        verdict = None
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter_ns()
            c0 = time.thread_time_ns()
            verdict = guard.check(text, vec)
            c1 = time.thread_time_ns()
            t1 = time.perf_counter_ns()
            if t1 - t0 < best:
                best, cpu = t1 - t0, c1 - c0
        walls.append(best / 1e6)
        cpus.append(cpu / 1e6)
        assert verdict is not None
        attack = bool(r["attack"])
        flagged = verdict.attack
        for key in ("lang", "split"):
            if key in r:
                g = groups[key][str(r[key])]
                if attack:
                    g[0] += 1
                    g[1] += flagged
                else:
                    g[2] += 1
                    g[3] += flagged
        if attack:
            n_att += 1
            k = by_kind[str(r.get("kind") or "unknown")]
            k[0] += 1
            if flagged:
                detected += 1
                k[1] += 1
            elif len(missed) < examples:
                missed.append(text)
        else:
            n_ben += 1
            if flagged:
                fp += 1
                if len(false_pos) < examples:
                    false_pos.append(text)

    def share(a: int, b: int) -> float:
        return round(a / b, 4) if b else 0.0

    def group(d: dict[str, list[int]]) -> dict[str, dict[str, float]]:
        return {
            k: {
                "n_attacks": v[0],
                "neutralised": share(v[1], v[0]),
                "n_benign": v[2],
                "false_positive_rate": share(v[3], v[2]),
            }
            for k, v in sorted(d.items())
        }

    return {
        "neutralised": share(detected, n_att),
        "false_positive_rate": share(fp, n_ben),
        "p50_ms": round(percentile(walls, 0.50), 4),
        "p99_ms": round(percentile(walls, 0.99), 4),
        "cpu_p99_ms": round(percentile(cpus, 0.99), 4),
        "n_attacks": n_att,
        "n_benign": n_ben,
        "classifier": guard.classifier_active and vectors is not None,
        "by_kind": {k: {"n": v[0], "neutralised": share(v[1], v[0])} for k, v in sorted(by_kind.items())},
        "by_lang": group(groups["lang"]),
        "by_split": group(groups["split"]),
        "missed": missed,
        "false_positives": false_pos,
    }
