"""The answer policy with its defaults: answers it is sure of, clarifications that answer when picked, honest
declines, hand-offs (asked for, angry, two failed turns) and the pending session that waits for an agent.
The engine is the STAND-IN queue engine; with the default policy these turns never reach it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kefu.conversation.policy import BotPolicy, PolicyState, Suggestion, pick, quote, small_talk
from kefu.conversation.types import Turn
from kefu.engines.testing import QueueEngine
from kefu.knowledge.service import Passage
from kefu.ops.settings import PolicySettings
from kefu.services import Services, build_services
from tests.conftest import make_settings

SUGGESTED = [Suggestion("a", "如何修改收货地址？"), Suggestion("b", "订单已经发货了，还能改地址吗？")]


@pytest.fixture
def services(tmp_path: Path, engine: QueueEngine) -> Iterator[Services]:
    engine.default_reply = "STAND-IN: never shown"
    # generation off, as for Chinese questions to the embedded engine by default ("auto")
    policy = PolicySettings(generation="off", handoff_phone="400-820-8820")
    s = build_services(make_settings(tmp_path, policy=policy), engine=engine)
    yield s
    s.store.close()


async def ask(services: Services, text: str, session: str | None = None):
    turn = Turn(tenant="default", channel="test", customer="c1", session=session, text=text)
    return await (await services.pipeline.answer(turn)).collect()


@pytest.mark.parametrize(
    ("text", "index"),
    [("1", 0), ("2", 1), ("第二个", 1), ("第1个", 0), ("the first one", 0), ("option 2", 1), ("①", 0),
     ("如何修改收货地址？", 0), ("订单已经发货了还能改地址吗", 1), ("3", None), ("我要退货", None), ("", None)],
)  # fmt: skip
def test_pick_reads_a_number_or_the_words(text: str, index: int | None) -> None:
    got = pick(text, SUGGESTED)
    assert got == (SUGGESTED[index] if index is not None else None)


def test_small_talk_is_only_small_talk() -> None:
    assert small_talk("你好呀") == "greet" and small_talk("谢谢！") == "thanks" and small_talk("bye") == "bye"
    assert small_talk("你是机器人吗") == "who"
    assert small_talk("你好，退款多久到账") is None and small_talk("hello how long does delivery take") is None


def test_service_hours_in_the_bots_time_zone() -> None:
    p = BotPolicy(0.85, 0.3, "auto", "09:00-21:00", "", "Asia/Shanghai", 2)
    tz = ZoneInfo("Asia/Shanghai")
    assert p.in_hours(datetime(2026, 12, 2, 9, 0, tzinfo=tz)) and not p.in_hours(
        datetime(2026, 12, 2, 21, 0, tzinfo=tz)
    )
    assert p.in_hours(datetime(2026, 12, 2, 2, 0, tzinfo=ZoneInfo("UTC")))  # 10:00 in Shanghai
    night = BotPolicy(0.85, 0.3, "auto", "21:00-09:00", "", "Asia/Shanghai", 2)
    assert night.in_hours(datetime(2026, 12, 2, 23, 0, tzinfo=tz)) and not night.in_hours(
        datetime(2026, 12, 2, 12, 0, tzinfo=tz)
    )


def test_policy_state_survives_garbage() -> None:
    assert PolicyState.load({"suggest": "nonsense", "failed": "x"}) == PolicyState()
    s = PolicyState(SUGGESTED, "地址", 1)
    assert PolicyState.load(s.dump()) == s


def test_quote_takes_the_sentences_that_answer() -> None:
    text = "礼品卡面值有100元、200元和500元三种，自购买之日起3年内有效。礼品卡丢失后，凭订单号可申请冻结余额。"
    p = Passage("c1", "chunk", "售后服务细则 › 礼品卡", text, 1.0, "售后服务细则", "售后服务细则 > 礼品卡", 3)
    q = quote("礼品卡丢了怎么办", p)
    assert q.startswith("根据《售后服务细则》“礼品卡”一节：") and "冻结余额" in q


async def test_a_request_for_a_person_hands_off_and_the_bot_then_waits(services: Services) -> None:
    reply = await ask(services, "我要转人工")
    assert reply.handed_off and reply.answered_by == "handoff" and "人工客服" in reply.text
    assert "400-820-8820" in reply.text or "稍候" in reply.text
    assert services.store.session_mode("default", reply.session_id) == ("pending", "request")
    later = await ask(services, "运费怎么收？", reply.session_id)
    assert later.handed_off and later.answered_by == "handoff" and "人工客服" in later.text
    assert "STAND-IN" not in later.text


async def test_not_a_request_when_negated(services: Services) -> None:
    reply = await ask(services, "不用转人工，运费怎么收？满多少包邮")
    assert not reply.handed_off and reply.answered_by == "faq" and "99元" in reply.text


async def test_a_declined_person_does_not_steer_the_search(services: Services) -> None:
    reply = await ask(services, "不用转人工，我就问下运费多少")
    assert not reply.handed_off
    offered = [s.id for s in reply.sources] + [s["id"] for s in reply.suggestions]
    assert offered[0] == "zh-shipping-fee" and "zh-service-human-agent" not in offered[:1], reply


async def test_an_angry_customer_is_handed_off_in_english_too(services: Services) -> None:
    reply = await ask(services, "This is a SCAM!!! I want to file a complaint")
    assert reply.handed_off and "agent" in reply.text.lower()


async def test_clarification_then_pick_answers_and_records_the_pair(services: Services) -> None:
    reply = await ask(services, "想改一下地址")
    assert reply.answered_by == "clarify" and len(reply.suggestions) >= 2, reply.text
    assert reply.text.startswith("您是想问") and "\n1. " in reply.text
    assert 0 < reply.confidence < 1  # the chance that the entry meant is among those offered
    second = reply.suggestions[1]
    picked = await ask(services, "2", reply.session_id)
    assert picked.answered_by == "faq" and picked.sources[0].id == second["id"]
    labels = services.store.match_labels("default")
    assert ("想改一下地址", second["id"], 1, "clarify_pick") in labels
    assert any(label == 0 for _, _, label, _ in labels)


async def test_out_of_knowledge_is_declined_then_handed_off(services: Services) -> None:
    first = await ask(services, "帮我写一首关于春天的诗")
    assert first.answered_by == "decline" and "知识库" in first.text and not first.handed_off
    assert first.sources == []
    second = await ask(services, "今天股市怎么样", first.session_id)
    assert second.handed_off and second.answered_by == "handoff"


async def test_small_talk_gets_a_set_reply_without_the_engine(services: Services, engine: QueueEngine) -> None:
    reply = await ask(services, "你好")
    assert reply.answered_by == "small_talk" and "您好" in reply.text and engine.prompts == []


async def test_a_generated_reply_about_something_else_is_replaced(tmp_path: Path, engine: QueueEngine) -> None:
    """The relatedness gate (on by default): a reply whose beginning is about neither the question nor the
    sources is stopped before a word goes out, and the policy's next option stands in."""
    from kefu.ops.settings import GuardSettings

    settings = make_settings(
        tmp_path, policy=PolicySettings(generation="always"),
        guard=GuardSettings(vault_key_file=str(tmp_path / "vault.key")),
    )  # fmt: skip
    s = build_services(settings, engine=engine)
    try:
        engine.push("Our office plants are watered every Tuesday. The canteen serves noodles on Fridays.")
        reply = await ask(s, "how long does a refund take to reach my alipay")
        assert "plants" not in reply.text and reply.final is not None
        assert reply.final.guarded == "output:unrelated" and reply.answered_by in ("faq", "clarify", "decline")
        engine.push("Refunds to Alipay usually arrive within 1-3 business days after the refund is approved.")
        reply = await ask(s, "how long does a refund take to reach my alipay")
        assert reply.text.startswith("Refunds to Alipay") and reply.final is not None and reply.final.guarded is None
    finally:
        s.store.close()
