"""Chunking: chunks follow headings and paragraphs, end at sentence ends, overlap, and never pass the max."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from kefu.knowledge.chunking import Chunk, chunk_blocks, chunk_document, chunk_text, split_sentences
from kefu.knowledge.loaders import Block, Document, parse_markdown

ZH_SENTENCES = [
    "自签收之日起七天内可申请无理由退货。",
    "商品需保持完好，不影响二次销售！",
    "退款会在三个工作日内原路返回。",
    "请问您的订单号是多少？",
    "偏远地区的运费由买家承担；",
    "质量问题的运费由商家承担。",
    "“我们会尽快处理。”",
    "大促期间发货可能延迟至48小时内。",
]


def zh_text(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(ZH_SENTENCES) for _ in range(n))


def test_split_sentences_keeps_every_character() -> None:
    text = '你好。我想退货！可以吗？当然；请稍等……He said "ok." Then, e.g. this costs 3.5 dollars. 1. First\nsecond'
    parts = split_sentences(text)
    assert "".join(parts) == text
    assert parts == [
        "你好。",
        "我想退货！",
        "可以吗？",
        "当然；",
        "请稍等……",
        'He said "ok." ',
        "Then, e.g. this costs 3.5 dollars. ",
        "1. First\n",
        "second",
    ]
    assert split_sentences("“好的。”然后呢？") == ["“好的。”", "然后呢？"]


@pytest.mark.parametrize(("max_chars", "overlap"), [(400, 60), (120, 30), (50, 10), (30, 0)])
def test_no_chunk_over_the_max_and_no_sentence_cut(max_chars: int, overlap: int) -> None:
    paragraphs = [zh_text(random.Random(i).randint(1, 25), seed=i) for i in range(12)]
    chunks = chunk_text("\n\n".join(paragraphs), max_chars=max_chars, overlap=overlap)
    assert chunks and all(len(c) <= max_chars for c in chunks)
    whole = set(ZH_SENTENCES)
    for c in chunks:  # every sentence of every chunk is a whole sentence of the source ...
        first, *rest = (s.strip() for s in split_sentences(c))
        assert set(rest) <= whole, c
        # ... but an overlap may start with the last clauses of a sentence longer than the overlap
        assert first in whole or any(s.endswith(first) and "，" in s for s in whole), c
    body = "".join(paragraphs)
    for s in set(split_sentences(body)):
        assert any(s in c for c in chunks)  # nothing lost


def test_overlap_repeats_the_last_sentences() -> None:
    chunks = chunk_text(zh_text(60), max_chars=120, overlap=40)
    assert len(chunks) > 3
    for prev, nxt in itertools.pairwise(chunks):
        sentences = split_sentences(prev)
        tails = ["".join(sentences[-k:]) for k in range(1, len(sentences))]
        assert any(len(t) <= 40 and nxt.startswith(t) for t in tails), (prev, nxt)


def test_no_overlap_when_zero() -> None:
    chunks = chunk_text(zh_text(60), max_chars=120, overlap=0)
    assert "".join(chunks) == zh_text(60)


def test_long_sentence_overlap_uses_its_last_clauses() -> None:
    long = "This sentence is long, it has clauses, and the last clause fits in the overlap. "
    chunks = chunk_text(long * 4, max_chars=170, overlap=45)
    assert chunks[1].startswith("and the last clause fits in the overlap. This sentence")


def test_an_over_long_sentence_is_cut_at_clauses_then_spaces() -> None:
    sentence = "，".join(f"第{i}个条款说明退货的细节" for i in range(40)) + "。"
    chunks = chunk_text(sentence + "短句。", max_chars=100, overlap=0)
    assert all(len(c) <= 100 for c in chunks)
    assert "".join(chunks) == sentence + "短句。"
    assert all(c.endswith(("，", "。")) for c in chunks)  # cut after a clause mark
    words = " ".join(["refund"] * 100)
    pieces = chunk_text(words, max_chars=50, overlap=0)
    assert all(len(p) <= 50 and p.replace("refund", "").strip() == "" for p in pieces)
    assert chunk_text("x" * 250, max_chars=100, overlap=0) == ["x" * 100, "x" * 100, "x" * 50]


def test_chunks_follow_headings_and_paragraphs() -> None:
    blocks = [
        Block("前言。", ()),
        Block(zh_text(10, 1), ("退货政策",), 1),
        Block(zh_text(10, 2), ("退货政策",), 1),
        Block(zh_text(3, 3), ("退货政策", "运费"), 2),
        Block(zh_text(30, 4), ("换货",), 1),
    ]
    chunks = chunk_blocks(blocks, doc_id="doc-1", doc_name="手册.md", max_chars=200, overlap=40)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(isinstance(c, Chunk) and (c.doc_id, c.doc_name) == ("doc-1", "手册.md") for c in chunks)
    sections = [c.section for c in chunks]
    assert sections == sorted(sections, key=["", "退货政策", "退货政策 > 运费", "换货"].index)
    assert sections.count("") == 1 and sections.count("退货政策 > 运费") == 1
    by_section = {s: [c.text for c in chunks if c.section == s] for s in sections}
    assert by_section["退货政策 > 运费"] == [blocks[3].text]  # a chunk never spans two sections
    assert "\n" in "".join(by_section["退货政策"])  # paragraphs of one section share chunks, a line apart


def test_a_paragraph_that_does_not_fit_starts_a_new_chunk() -> None:
    p1, p2, p3 = ZH_SENTENCES[0] * 7, ZH_SENTENCES[1] * 8, ZH_SENTENCES[3] * 3  # 126, 128 and 33 characters
    chunks = chunk_text(f"{p1}\n\n{p2}\n\n{p3}", max_chars=200, overlap=0)
    assert chunks == [p1, f"{p2}\n{p3}"]


def test_chunk_document_from_markdown() -> None:
    _, blocks = parse_markdown("# 退货\n\n" + zh_text(20) + "\n\n## 运费\n\n满99元包邮。\n")
    doc = Document(source="faq.md", title="退货", format="markdown", blocks=blocks)
    chunks = chunk_document(doc, max_chars=150, overlap=30)
    assert {c.doc_id for c in chunks} == {doc.id} and {c.doc_name for c in chunks} == {"faq.md"}
    assert chunks[-1].section == "退货 > 运费" and chunks[-1].text == "满99元包邮。"
    assert all(c.section == "退货" for c in chunks[:-1])


def test_pages_are_kept() -> None:
    blocks = [Block("Page one.", ("A",), 1, 1), Block("Page two.", ("A",), 1, 2), Block("Page three.", ("B",), 1, 3)]
    chunks = chunk_blocks(blocks, doc_id="d", doc_name="d.pdf")
    assert [(c.section, c.page, c.text) for c in chunks] == [("A", 1, "Page one.\nPage two."), ("B", 3, "Page three.")]


def test_bad_settings() -> None:
    with pytest.raises(ValueError):
        chunk_text("x", max_chars=0)
    with pytest.raises(ValueError):
        chunk_text("x", max_chars=100, overlap=100)
    assert chunk_text("  \n\n ") == []


def test_fast() -> None:
    text = "\n\n".join(zh_text(20, i) for i in range(300))  # about 100k characters
    start = time.perf_counter()
    chunks = chunk_text(text)
    assert time.perf_counter() - start < 2.0
    assert len(chunks) > 200
