"""Degenerate replies (loops, recited instructions) are caught while they stream; good text is not."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kefu.guard.output.degenerate import LoopWatch, degenerate
from kefu.guard.service import ReplyFilter
from kefu.knowledge.importer import Parsed, parse
from kefu.knowledge.service import demo_documents, demo_faq
from kefu.store.repo import DEFAULT_SYSTEM_PROMPT

DATA = Path(__file__).parents[1] / "data"
FALLBACK = "【知识库答案】退款1-3个工作日到账。"


def good_texts() -> list[str]:
    """Text a good reply looks like: the demo FAQ answers and document chunks, and the replies and sources of the
    output guard's labelled set (none of them written to pass this check)."""
    texts = [r.answer for r in demo_faq()]
    for name, data in demo_documents():
        parsed = parse((name, data))
        assert isinstance(parsed, Parsed)
        texts += [t for _section, t in parsed.chunks]
    for line in (DATA / "output_guard_zh.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts += [row["reply"], *row["sources"]]
    return sorted(set(texts))


def test_no_false_alarm_on_good_text() -> None:
    texts = good_texts()
    assert len(texts) >= 600
    flagged = [(degenerate(t, DEFAULT_SYSTEM_PROMPT), t[:60]) for t in texts]
    assert [f for f in flagged if f[0]] == []


def test_every_loop_is_caught() -> None:
    """The replies SmolLM2-135M gave on `make run` (and the shapes the answer-policy issue lists)."""
    rows = [json.loads(x) for x in (DATA / "degenerate_replies.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 15
    for row in rows:
        assert degenerate(row["reply"], row["instructions"]) == row["why"], row["reply"][:40]


def test_digits_and_markup_are_not_loops() -> None:
    texts = ("请拨打88888888或400-820-8820。", "订单号2020202020202020已发货。", "| 项目 | --- | --- | --- | --- |")
    for text in texts:
        assert degenerate(text) is None, text
    watch = LoopWatch()
    assert watch.add("好的。") is None and watch.add("好的。") is None and watch.add("好的。") is None  # short


async def _deltas(text: str, step: int = 2, sent: list[int] | None = None) -> AsyncIterator[str]:
    for i in range(0, len(text), step):
        if sent is not None:
            sent[0] += 1
        yield text[i : i + step]


@pytest.mark.parametrize(
    "loop",
    ["福制阳光\n\n" * 40, "福制" * 200, "我是一家网店的智能客服。只根据【参考资料】回答顾客的问题；资料里没有的内容。"],
    ids=["sentences", "no-punctuation", "recited"],
)
async def test_a_streamed_loop_is_replaced_and_the_engine_stopped(loop: str) -> None:
    """Before, the filter passed every one of these to the customer in full."""
    check = ReplyFilter("退款多久到账", ["退款1-3个工作日到账。"], ["退款多久到账"], lambda partial: FALLBACK,
                        DEFAULT_SYSTEM_PROMPT)  # fmt: skip
    sent = [0]
    out = [d async for d in check(_deltas(loop, sent=sent))]
    assert out[-1] == FALLBACK and "".join(out).count("福制") < 8
    assert check.problems and check.problems[0].kind == "degenerate"
    assert sent[0] < len(loop) / 2  # the engine was stopped before the end of its reply


async def test_a_good_reply_streams_unchanged() -> None:
    reply = "退款会在1-3个工作日内原路退回。如果超过时间仍未到账，请联系在线客服。"
    check = ReplyFilter("退款多久到账", [reply], ["退款多久到账"], lambda partial: FALLBACK, DEFAULT_SYSTEM_PROMPT)
    assert "".join([d async for d in check(_deltas(reply))]) == reply and not check.problems
