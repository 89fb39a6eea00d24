"""The turn pipeline with the STAND-IN queue engine: recording, FAQ answers, and degradation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kefu.app import build_services
from kefu.conversation.types import Turn
from kefu.engines.base import EngineError
from kefu.engines.testing import QueueEngine
from kefu.services import Services
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
    # streamed sentence by sentence: each is checked by the output guard before it goes out
    assert parts == ["您好！", "这是一个比较长的回复。", "还有第二句。"] and reply.text == "".join(parts)
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
    assert reply.text.startswith("【知识库答案】") and "修改地址" in reply.text
    msgs = services.store.session_messages("default", reply.session_id)
    assert msgs[-1].degraded and msgs[-1].text == reply.text


async def test_engine_down_without_match_promises_follow_up(services: Services, engine: QueueEngine) -> None:
    engine.fail = EngineError("boom")
    reply = await (await services.pipeline.answer(turn("你们老板叫什么名字"))).collect()
    assert reply.degraded and "人工客服" in reply.text
    reply = await (await services.pipeline.answer(turn("what is the meaning of life"))).collect()
    assert reply.degraded and "agent will follow up" in reply.text


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


async def test_customer_leaving_mid_reply_still_records(services: Services, engine: QueueEngine) -> None:
    engine.push("一二三四五六七八九十")
    reply = await services.pipeline.answer(turn("你好呀"))
    it = reply.deltas.__aiter__()
    await it.__anext__()
    await it.aclose()  # the client went away
    for _ in range(50):
        msgs = services.store.session_messages("default", reply.session_id)
        if len(msgs) == 2:
            break
        await asyncio.sleep(0.02)
    assert [m.role for m in msgs] == ["user", "assistant"]


async def test_client_history_used_for_new_session(services: Services, engine: QueueEngine) -> None:
    t = Turn(
        "default", "openai", None, None, "那我该怎么办", client_history=(("user", "我在新疆"), ("assistant", "好的"))
    )
    await (await services.pipeline.answer(t)).collect()
    assert [m.content for m in engine.prompts[0][1:]] == ["我在新疆", "好的", "那我该怎么办"]
