"""Score a PII detector on a labelled set (lines of `{"text": ..., "pii": [[start, end, kind], ...]}`).

Matching rule, chosen so that a detector is not punished for a span that differs by a prefix such as "+86"
or a trailing "室", but is punished for finding only a fragment:
- a gold span is FOUND (recall) when one detected span of the same kind overlaps it by at least 50% of the
  gold span's length;
- a detected span is CORRECT (precision) when it overlaps one gold span of the same kind by at least 50% of
  the detected span's length.
`benign_masked_rate` is the share of lines with an empty gold list on which anything at all was detected:
look-alikes (order and tracking numbers, SKUs, coupons, 400 hotlines, prices, dates) must stay untouched.
Latency is per call of the detector on every line (after a warm-up pass); with `repeat` > 1 each line is
timed that many times and the least time counts, so that a busy machine preempting the process is not counted
as detector time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kefu.guard.pii import KINDS, PiiSpan, detect
from kefu.guard.scoring import percentile, read_jsonl

Detector = Callable[[str], list[PiiSpan]]


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Lines of a PII.jsonl file."""
    return read_jsonl(path)


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def evaluate_pii(
    rows: Iterable[dict[str, Any]], detector: Detector = detect, repeat: int = 1, errors: bool = False
) -> dict[str, Any]:
    """Per-kind precision and recall, the share of benign lines masked, and detector latency (ms); with
    `errors`, also every missed and every spurious span (for working on the recognisers)."""
    rows = list(rows)
    for row in rows[:50]:  # warm-up: regex caches, first-call costs
        detector(row["text"])
    support = dict.fromkeys(KINDS, 0)
    found = dict.fromkeys(KINDS, 0)
    predicted = dict.fromkeys(KINDS, 0)
    correct = dict.fromkeys(KINDS, 0)
    benign = benign_hit = 0
    times: list[float] = []
    misses: list[dict[str, Any]] = []
    for row in rows:
        text, gold = row["text"], [tuple(g) for g in row["pii"]]
        best = float("inf")
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            spans = detector(text)
            best = min(best, time.perf_counter() - t0)
        times.append(best * 1000)
        if not gold:
            benign += 1
            benign_hit += bool(spans)
        for s, e, k in gold:
            support[k] += 1
            if any(sp.kind == k and _overlap(s, e, sp.start, sp.end) * 2 >= e - s for sp in spans):
                found[k] += 1
            else:
                misses.append({"text": text, "missed": [s, e, k], "got": [[p.start, p.end, p.kind] for p in spans]})
        for sp in spans:
            predicted[sp.kind] = predicted.get(sp.kind, 0) + 1
            if any(k == sp.kind and _overlap(s, e, sp.start, sp.end) * 2 >= sp.end - sp.start for s, e, k in gold):
                correct[sp.kind] = correct.get(sp.kind, 0) + 1
            else:
                misses.append({"text": text, "spurious": [sp.start, sp.end, sp.kind], "gold": [list(g) for g in gold]})
    per_kind = {
        k: {
            "precision": round(correct[k] / predicted[k], 4) if predicted[k] else 1.0,
            "recall": round(found[k] / support[k], 4) if support[k] else 1.0,
            "support": support[k],
        }
        for k in KINDS
    }
    out: dict[str, Any] = {
        "pii": per_kind,
        "benign_masked_rate": round(benign_hit / benign, 4) if benign else 0.0,
        "benign_lines": benign,
        "lines": len(rows),
        "p50_ms": round(percentile(times, 0.5), 4),
        "p99_ms": round(percentile(times, 0.99), 4),
    }
    if errors:
        out["errors"] = misses
    return out
