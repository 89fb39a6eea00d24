"""`kefu eval answers` on the measurement set (tests/data/answers.jsonl, never fitted or tuned on) with the
default policy as the embedded engine gets it (generation "auto" is off for SmolLM2: docs/policy.md). The
floors sit just under the figures in docs/policy.md; the STAND-IN engine is never reached with generation off."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kefu.conversation.evaluation import Question, evaluate_answers, read_questions, sort_reply
from kefu.conversation.types import Delivered, Reply, Source
from kefu.engines.testing import QueueEngine
from kefu.ops.settings import PolicySettings
from kefu.services import build_services
from tests.conftest import make_settings

DATA = Path(__file__).resolve().parents[1] / "data"


async def test_the_measurement_set_meets_its_floors(tmp_path: Path) -> None:
    engine = QueueEngine(default_reply="STAND-IN: never reached")
    services = build_services(make_settings(tmp_path, policy=PolicySettings(generation="off")), engine=engine)
    try:
        result = await evaluate_answers(services.pipeline, "default", read_questions(DATA / "answers.jsonl"))
    finally:
        services.store.close()
    assert result["questions"] == 446 and engine.prompts == []
    assert result["degenerate"] == 0
    # measured at the commit that set them: 0.686, 0.923, 0.771, 0.878, 0.98, 0.983, ECE 0.068 (answers alone 0.021)
    assert result["faq_right"] >= 0.66 and result["faq_right_or_clarified"] >= 0.90
    assert result["doc_right"] >= 0.74
    assert result["decline_right"] >= 0.84
    assert result["handoff_right"] >= 0.95
    assert result["answered_right"] >= 0.96  # an answer goes out at 0.85 or more: at least 85 in 100 are right
    assert result["ece"] <= 0.08 and result["ece_answers"] <= 0.04


def test_the_sets_are_what_docs_say() -> None:
    sets = (
        ("answers.jsonl", 446),
        ("answers_fit.jsonl", 394),
        ("answers_fit_b.jsonl", 398),
        ("answers_fit_c.jsonl", 410),
        ("answers_fit_d.jsonl", 418),
    )
    for name, lines in sets:
        qs = read_questions(DATA / name)
        assert len(qs) == lines
        zh = sum(any("\u4e00" <= ch <= "\u9fff" for ch in q.text) for q in qs)
        assert zh >= (300 if name == "answers.jsonl" else 240) and len(qs) - zh >= 100
        measured = name == "answers.jsonl"  # the minimums; the fit sets are smaller in places
        assert sum(q.kind == "decline" for q in qs) >= 60
        assert sum(q.kind == "handoff" for q in qs) >= (40 if measured else 28)
    measured = {q.text for q in read_questions(DATA / "answers.jsonl")}
    fitted = {q.text for f, _ in sets[1:] for q in read_questions(DATA / f)}
    assert not measured & fitted  # nothing the confidence was fitted on is measured
    key = lambda t: re.sub(r"[\W_]+", "", t.lower())  # noqa: E731
    assert not {key(t) for t in measured} & {key(t) for t in fitted}  # not even with other punctuation


@pytest.mark.parametrize(
    ("line", "problem"),
    [('{"text": "x"}', "not a {text, expect}"), ('{"text": "x", "expect": "faq:"}', "expect must be"),
     ('{"text": "x", "expect": "maybe"}', "expect must be"), ("not json", "not a {text, expect}")],
)  # fmt: skip
def test_a_bad_line_names_its_number(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"text": "ok", "expect": "decline"}\n' + line + "\n", "utf-8")
    with pytest.raises(ValueError, match=f"q.jsonl:2: {problem}"):
        read_questions(path)


async def _reply(text: str, by: str, sources: list[Source], **kw: object) -> Reply:
    async def deltas():
        yield text

    reply = Reply("s", sources, 0.9, deltas(), answered_by=by, **kw)  # type: ignore[arg-type]
    reply = await reply.collect()
    reply.final = Delivered(text)  # what deliver() sets when the stream ends
    return reply


async def test_replies_are_sorted_by_what_the_customer_got() -> None:
    faq = [Source("zh-refund-time", "退款多久能到账？", "", 1.0)]
    answers = {"zh-refund-time": "支付宝、微信支付一般1-3个工作日到账"}
    q = Question("退款几天到", "faq:zh-refund-time")
    assert sort_reply(q, await _reply("…", "faq", faq), answers) == "right"
    assert (
        sort_reply(
            q, await _reply("…", "clarify", faq, suggestions=[{"id": "zh-refund-time", "question": "…"}]), answers
        )
        == "clarified"
    )
    assert sort_reply(q, await _reply("支付宝、微信支付一般1-3个工作日到账。", "llamacpp:m", faq), answers) == "right"
    assert (
        sort_reply(q, await _reply("福制福制福制福制福制福制福制福制福制", "llamacpp:m", faq), answers) == "degenerate"
    )
    assert sort_reply(q, await _reply("抱歉", "decline", []), answers) == "wrong"
    assert (
        sort_reply(Question("天气", "decline"), await _reply("…", "handoff", [], handed_off=True), answers) == "right"
    )
    assert sort_reply(Question("转人工", "handoff"), await _reply("…", "decline", []), answers) == "wrong"
    doc = [Source("c3", "t", "", 1.0, "chunk", "售后服务细则.md", "售后服务细则 > 礼品卡", 3)]
    assert sort_reply(Question("礼品卡", "doc:礼品卡"), await _reply("…", "document", doc), answers) == "right"
    assert sort_reply(Question("礼品卡", "doc:价格保护"), await _reply("…", "document", doc), answers) == "wrong"


def test_the_command_ends_with_one_json_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from kefu.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEFU_POLICY__GENERATION", "off")
    questions = tmp_path / "q.jsonl"
    lines = [("运费怎么收", "faq:zh-shipping-fee"), ("转人工", "handoff"), ("帮我写首诗", "decline")]
    questions.write_text("\n".join(json.dumps({"text": t, "expect": e}, ensure_ascii=False) for t, e in lines), "utf-8")
    db = f"sqlite:///{tmp_path / 'kefu.db'}"
    result = CliRunner().invoke(app, ["eval", "answers", str(questions), "--json", "--database-url", db])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert {"faq_right", "faq_clarified", "doc_right", "decline_right", "handoff_right", "degenerate"} <= set(summary)
    assert summary["faq_right"] == 1.0 and summary["handoff_right"] == 1.0 and summary["degenerate"] == 0
    bad = CliRunner().invoke(app, ["eval", "answers", str(tmp_path / "missing.jsonl")])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
