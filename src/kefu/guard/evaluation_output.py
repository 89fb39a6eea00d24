"""Scoring the output guard on labelled replies (tests/data/output_guard_zh.jsonl).

Each row: {"question", "sources", "reply", "ok", "problems": [...], "split"?, "customer_texts"?}. A "bad" row is one
with ok false; the guard catches it when its verdict is not ok. Figures: accuracy, precision and recall of "not ok",
the false-alarm rate on good rows, recall per labelled problem kind, and the check's latency per row (the source
cache is cleared before each row, so every source is normalised from scratch as on a new question).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kefu.guard import output
from kefu.guard.output import PROBLEM_KINDS, check_reply
from kefu.guard.scoring import percentile

PiiDetector = Callable[[str], list[tuple[int, int, str]]]

_STANDIN_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_STANDIN_DIGITS_RE = re.compile(r"(?:\+86[-\s]?)?\d(?<![\d+]\d)[\d\s-]{9,21}[\dXx](?![\dXx])")
_STANDIN_KIND = re.compile(r"(?P<id>\d{17}[\dXx]|\d{15})|(?P<card>\d{16,19})|(?P<mobile>(?:86)?1[3-9]\d{9})")


def standin_pii_detector(text: str) -> list[tuple[int, int, str]]:
    """A STAND-IN for kefu's real PII detector (guard/pii.py): e-mails, 11-digit mobiles, ID and card numbers.

    Good enough to score the leak check on this data set; it knows no names or addresses.
    """
    out = []
    if "@" in text:
        out = [(m.start(), m.end(), "email") for m in _STANDIN_EMAIL_RE.finditer(text)]
    for m in _STANDIN_DIGITS_RE.finditer(text):
        digits = re.sub(r"[\s-]", "", m.group()).lstrip("+")
        k = _STANDIN_KIND.fullmatch(digits)
        if k:
            out.append((m.start(), m.end(), k.lastgroup or "pii"))
    return out


def _score(rows: Sequence[dict[str, Any]], flagged: Sequence[set[str]], ms: Sequence[float]) -> dict[str, Any]:
    bad = [i for i, r in enumerate(rows) if not r["ok"]]
    good = [i for i, r in enumerate(rows) if r["ok"]]
    caught = [i for i in bad if flagged[i]]
    alarms = [i for i in good if flagged[i]]
    n_flagged = len(caught) + len(alarms)
    per_problem: dict[str, dict[str, float]] = {}
    for kind in PROBLEM_KINDS:
        labelled = [i for i in bad if kind in rows[i].get("problems", ())]
        if labelled:
            hit = sum(1 for i in labelled if kind in flagged[i])
            per_problem[kind] = {"n": len(labelled), "recall": round(hit / len(labelled), 4)}
    return {
        "n": len(rows),
        "n_bad": len(bad),
        "n_good": len(good),
        "accuracy": round((len(caught) + len(good) - len(alarms)) / len(rows), 4) if rows else 0.0,
        "precision": round(len(caught) / n_flagged, 4) if n_flagged else 1.0,
        "recall": round(len(caught) / len(bad), 4) if bad else 1.0,
        "false_alarm_rate": round(len(alarms) / len(good), 4) if good else 0.0,
        "per_problem_recall": per_problem,
        "p50_ms": round(percentile(ms, 0.5), 4),
        "p99_ms": round(percentile(ms, 0.99), 4),
    }


def evaluate_output(
    rows: Iterable[dict[str, Any]], *, pii_detector: PiiDetector | None = None, by_split: bool = True
) -> dict[str, Any]:
    """Run the output guard over labelled rows and score it; with by_split, figures per "split" value as well.

    pii_detector defaults to the stand-in above; pass kefu's real detector to score with it.
    """
    rows = list(rows)
    detector = pii_detector or standin_pii_detector
    flagged: list[set[str]] = []
    ms: list[float] = []
    for r in rows:
        output.clear_source_cache()
        t0 = time.perf_counter()
        verdict = check_reply(
            r["reply"],
            r.get("sources", ()),
            question=r.get("question", ""),
            customer_texts=r.get("customer_texts", ()),
            pii_detector=detector,
        )
        ms.append((time.perf_counter() - t0) * 1000)
        flagged.append({p.kind for p in verdict.problems})
    result = _score(rows, flagged, ms)
    if by_split:
        splits = sorted({r.get("split") for r in rows if r.get("split")})
        if splits:
            result["splits"] = {}
            for name in splits:
                idx = [i for i, r in enumerate(rows) if r.get("split") == name]
                result["splits"][name] = _score([rows[i] for i in idx], [flagged[i] for i in idx], [ms[i] for i in idx])
    return result
