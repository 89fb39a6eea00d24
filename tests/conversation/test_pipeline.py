"""The turn pipeline with the STAND-IN queue engine: recording, FAQ answers, and degradation."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from kefu.conversation.types import Reply, Retraction, Turn
from kefu.engines.base import EngineError
from kefu.engines.testing import QueueEngine
from kefu.services import Services, build_services
from kefu.store.repo import MessageView, UnknownSession
from tests.conftest import make_settings


@pytest.fixture
def services(tmp_path: Path, engine: QueueEngine) -> AsyncIterator[Services]:
    s = build_services(make_settings(tmp_path), engine=engine)
    yield s
    s.store.close()


def no_fast_path(services: Services) -> None:
    """Every question goes to the engine: a threshold no same-question probability reaches."""
    from kefu.store.repo import DEFAULT_SYSTEM_PROMPT

    services.store.upsert_bot("default", "default", DEFAULT_SYSTEM_PROMPT, faq_threshold=1.01)


def turn(text: str, session: str | None = None) -> Turn:
    return Turn(tenant="default", channel="test", customer="c1", session=session, text=text)


async def test_generated_reply_is_streamed_and_recorded(services: Services, engine: QueueEngine) -> None:
    engine.push("您好！这是一个比较长的回复。还有第二句。")
    reply = await services.pipeline.answer(turn("你好呀"))
    parts = [d async for d in reply.deltas]
    # streamed as written, each sentence checked by the output guard as it ends: only what could still become
    # a claim waits for the check (一 may begin 一年质保, 第 does not)
    assert "".join(parts) == reply.text == "您好！这是一个比较长的回复。还有第二句。"
    assert parts[0] == "您好" and "还有" in parts
    assert reply.message_id is not None and not reply.degraded
    msgs = services.store.session_messages("default", reply.session_id)
    assert [m.role for m in msgs] == ["user", "assistant"]
    system = engine.prompts[0][0]
    assert system.role == "system" and "参考资料" in system.content


async def test_engine_down_gives_best_faq_answer(services: Services, engine: QueueEngine) -> None:
    no_fast_path(services)
    engine.fail = EngineError("connection refused", kind="connection")
    reply = await (await services.pipeline.answer(turn("收货地址填错了，发货前还能改吗"))).collect()
    assert reply.degraded
    # the policy's next option: the entry's answer as it stands (the engine was to write from it)
    assert "修改地址" in reply.text and reply.sources[0].id == "zh-address-change-before-ship"
    msgs = services.store.session_messages("default", reply.session_id)
    assert msgs[-1].degraded and msgs[-1].text == reply.text


async def test_engine_down_without_match_declines_honestly(services: Services, engine: QueueEngine) -> None:
    engine.fail = EngineError("boom")
    reply = await (await services.pipeline.answer(turn("你们老板叫什么名字"))).collect()
    assert reply.degraded and "知识库" in reply.text and "人工客服" in reply.text
    reply = await (await services.pipeline.answer(turn("what is the meaning of life"))).collect()
    assert reply.degraded and "knowledge base doesn't cover" in reply.text


async def test_first_token_timeout_degrades(services: Services, engine: QueueEngine) -> None:
    no_fast_path(services)
    services.settings.engine.first_token_timeout_s = 0.05
    engine.delay_s = 1.0
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    reply = await (await services.pipeline.answer(turn("退款一般多久能到"))).collect()
    assert reply.degraded and loop.time() - t0 < 0.5


async def test_failure_mid_stream_keeps_partial_and_apologises(services: Services) -> None:
    class Broken(QueueEngine):
        async def stream(self, messages, params, stats=None):  # type: ignore[no-untyped-def,override]
            yield "前半段"
            raise EngineError("connection reset", kind="broken")

    services.pipeline.engine = Broken()
    reply = await (await services.pipeline.answer(turn("你好呀"))).collect()
    assert reply.degraded and reply.text.startswith("前半段") and "回复中断" in reply.text


async def recorded(services: Services, session_id: str, n: int = 2) -> list[MessageView]:
    """The session's messages once `n` are written (the reply is written on the store's thread)."""
    for _ in range(100):
        msgs = services.store.session_messages("default", session_id)
        if len(msgs) >= n:
            return msgs
        await asyncio.sleep(0.02)
    return msgs


async def test_customer_leaving_mid_reply_records_what_was_sent(services: Services, engine: QueueEngine) -> None:
    no_fast_path(services)
    engine.token_delay_s = 0.01
    engine.push("第一句话。第二句话。第三句话。第四句话。")
    reply = await services.pipeline.answer(turn("你好呀"))
    reply.begin()
    stream = reply.stream()
    sent = [await anext(stream)]
    while "第二句话。" not in "".join(sent):
        sent.append(await anext(stream))
    await stream.aclose()  # the client went away in the middle of the reply
    assert "".join(sent).startswith("第一句话。第二句话。") and engine.open_streams == 0  # the engine was stopped
    msgs = await recorded(services, reply.session_id)
    assert [(m.role, m.text) for m in msgs] == [("user", "你好呀"), ("assistant", "".join(sent))]
    # a reply cut short is no answer to keep: the same first question goes to the engine again
    engine.token_delay_s = 0.0
    again = await (await services.pipeline.answer(turn("你好呀"))).collect()
    assert again.answered_by != "cache" and len(engine.prompts) == 2


async def test_reply_closed_before_its_first_token(services: Services, engine: QueueEngine) -> None:
    no_fast_path(services)
    engine.delay_s = 5.0
    reply = await services.pipeline.answer(turn("退款一般多久能到"))
    reply.begin()
    await asyncio.sleep(0.05)
    assert engine.open_streams == 1
    await reply.aclose()  # the client left before the body was read: the channel closes the reply
    assert engine.open_streams == 0
    msgs = await recorded(services, reply.session_id)
    assert [m.role for m in msgs] == ["user", "assistant"] and msgs[1].text == ""
    assert services.pipeline.sessions.__len__() == 0


async def test_reply_dropped_unread_is_closed_and_recorded(services: Services, engine: QueueEngine) -> None:
    """The safety net: a channel that neither streams nor closes its Reply."""
    no_fast_path(services)
    engine.delay_s = 5.0
    reply = await services.pipeline.answer(turn("退款一般多久能到"))
    session_id = reply.session_id
    reply.begin()
    await asyncio.sleep(0.05)
    del reply
    gc.collect()
    msgs = await recorded(services, session_id)
    assert [m.role for m in msgs] == ["user", "assistant"]
    for _ in range(50):
        if engine.open_streams == 0:
            break
        await asyncio.sleep(0.01)
    assert engine.open_streams == 0


async def test_turns_of_one_session_are_answered_in_order(services: Services, engine: QueueEngine) -> None:
    """Two messages sent at once on one session: the second turn's history holds the first turn's reply."""
    no_fast_path(services)
    first = await (await services.pipeline.answer(turn("你好呀"))).collect()
    engine.delay_s = 0.2
    engine.push("第一条的回复。")
    engine.push("第二条的回复。")

    async def send(text: str) -> Reply:
        return await (await services.pipeline.answer(turn(text, first.session_id))).collect()

    one, two = await asyncio.gather(send("第一条消息"), send("第二条消息"))
    assert (one.text, two.text) == ("第一条的回复。", "第二条的回复。")
    second_prompt = [(m.role, m.content) for m in engine.prompts[-1][1:]]
    assert second_prompt[-3:] == [("user", "第一条消息"), ("assistant", "第一条的回复。"), ("user", "第二条消息")]
    msgs = await recorded(services, first.session_id, 6)
    assert [m.text for m in msgs[2:]] == ["第一条消息", "第一条的回复。", "第二条消息", "第二条的回复。"]
    assert len(services.pipeline.sessions) == 0  # nothing kept for a session without a running turn


async def test_a_failed_turn_lets_the_next_one_in(services: Services) -> None:
    with pytest.raises(UnknownSession):
        await services.pipeline.answer(turn("你好", "no-such-session"))
    assert len(services.pipeline.sessions) == 0


async def test_slow_engine_without_punctuation_is_timed_by_its_own_tokens(
    services: Services, engine: QueueEngine
) -> None:
    """The output guard holds text until a sentence ends: the first-token limit and TTFT time the engine's
    first token, not the guard's first sentence."""
    no_fast_path(services)
    services.settings.engine.first_token_timeout_s = 0.3
    engine.token_delay_s = 0.1  # five deltas, half a second, no punctuation
    engine.push("一二三四五六七八九十")
    ttft_sum = REGISTRY.get_sample_value("kefu_time_to_first_token_seconds_sum") or 0.0
    t0 = time.perf_counter()
    reply = await (await services.pipeline.answer(turn("退款一般多久能到"))).collect()
    elapsed = time.perf_counter() - t0
    assert not reply.degraded and reply.text == "一二三四五六七八九十"
    ttft = REGISTRY.get_sample_value("kefu_time_to_first_token_seconds_sum") - ttft_sum
    assert elapsed >= 0.4 and ttft < elapsed - 0.3  # the engine's first token, not the end of the reply


async def test_turns_metric_has_bounded_channel_labels(services: Services) -> None:
    async def ask(channel: str) -> None:
        t = Turn(tenant="default", channel=channel, customer="c1", session=None, text="收货地址填错了，发货前还能改吗")
        await (await services.pipeline.answer(t)).collect()

    def count(channel: str) -> float:
        return REGISTRY.get_sample_value("kefu_turns_total", {"channel": channel, "outcome": "ok"}) or 0.0

    web, other = count("web"), count("other")
    await ask("web")
    await ask("made-up-channel-42")  # the client's free text: counted, under "other"
    assert count("web") == web + 1 and count("other") == other + 1
    assert count("made-up-channel-42") == 0


async def test_client_history_used_for_new_session(services: Services, engine: QueueEngine) -> None:
    t = Turn(
        "default", "openai", None, None, "那我该怎么办", client_history=(("user", "我在新疆"), ("assistant", "好的"))
    )
    await (await services.pipeline.answer(t)).collect()
    assert [m.content for m in engine.prompts[0][1:]] == ["我在新疆", "好的", "那我该怎么办"]


async def test_a_looping_reply_never_reaches_the_customer(services: Services, engine: QueueEngine) -> None:
    """SmolLM2-135M's "福制阳光" loop went out in full before (40 copies); now the engine is stopped at the second
    copy (which never shows: it waits while it may be a copy) and the policy's next option takes the place of
    the first, recorded as guarded."""
    no_fast_path(services)
    engine.push("福制阳光\n\n" * 40)
    reply = await services.pipeline.answer(turn("给我写首诗"))
    parts = [d async for d in reply.deltas]
    assert "".join(parts).count("福制阳光") == 1 and isinstance(parts[-1], Retraction)
    text = reply.text
    assert "福制阳光" not in text and text == str(parts[-1])
    assert "人工客服" in text and reply.final is not None and reply.final.guarded == "output:degenerate"
    assert reply.final.finish_reason == "content_filter"
