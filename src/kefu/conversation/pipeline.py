"""The turn pipeline: one customer message becomes one reply. Read `Pipeline.answer` top to bottom."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Any

from kefu.conversation.prompt import build_prompt, is_chinese
from kefu.conversation.types import Reply, Source, Turn
from kefu.engines.base import Engine, EngineError, StreamStats
from kefu.engines.factory import sampling
from kefu.knowledge.keyword import Hit
from kefu.knowledge.service import KnowledgeBase
from kefu.ops import metrics
from kefu.ops.logging import session_id_var
from kefu.ops.settings import Settings
from kefu.store.repo import Store, TurnContext

log = logging.getLogger(__name__)

# A knowledge-base answer is good enough to stand in for the model above this retrieval score.
DEGRADE_MIN_SCORE = 0.35


class Pipeline:
    def __init__(self, settings: Settings, store: Store, kb: KnowledgeBase, engine: Engine) -> None:
        self.settings = settings
        self.store = store
        self.kb = kb
        self.engine = engine
        self.params = sampling(settings.engine)

    async def answer(self, turn: Turn) -> Reply:
        started = time.perf_counter()
        cfg = self.settings.engine

        # 1. Session, bot profile and history. The customer's message is written while the engine
        #    works on its first token; no reply text goes out before that write has succeeded.
        ctx = await self.store.open_turn_async(
            turn.tenant, turn.customer, turn.session, turn.service_type, self.settings.history_messages
        )
        session_id_var.set(ctx.session_id)
        recorded = self.store.submit(self.store.record_customer_message, ctx, turn.channel, turn.text)
        history = ctx.history if not ctx.new_session or not turn.client_history else list(turn.client_history)

        # 2. Supporting passages from the knowledge base.
        hits = await self.kb.search(turn.tenant, turn.text, self.settings.kb_top_k)

        sources = [Source(h.key, h.question, h.snippet(), h.score) for h in hits]
        reply = Reply(ctx.session_id, sources, confidence=hits[0].score if hits else 0.0, deltas=_empty())

        # 3. A question that closely matches an FAQ entry is answered from it, without the engine.
        if hits and hits[0].score >= ctx.bot.faq_threshold:
            reply.answered_by = "faq"
            reply.deltas = self._stream_and_record(turn, ctx, recorded, _faq_answer(hits[0]), hits, reply, started)
            return reply

        # 4. The prompt: the bot's system prompt, the sources, history trimmed to the context window.
        messages = build_prompt(ctx.bot.system_prompt, hits, history, turn.text, cfg.context_window, cfg.max_tokens)

        # 5. Stream from the engine (degrading to the knowledge base), then record the reply.
        stats = StreamStats()
        reply.answered_by = f"{self.engine.backend}:{self.engine.model}"
        deltas = self.engine.stream(messages, self.params, stats)
        reply.deltas = self._stream_and_record(turn, ctx, recorded, deltas, hits, reply, started, stats)
        return reply

    async def _stream_and_record(
        self,
        turn: Turn,
        ctx: TurnContext,
        recorded: Future[int],
        deltas: AsyncIterator[str],
        hits: list[Hit],
        reply: Reply,
        started: float,
        stats: StreamStats | None = None,
    ) -> AsyncIterator[str]:
        """Relay the deltas under the first-token and total timeouts; on an engine failure append the
        degraded answer; record the reply whatever happens, even when the customer goes away."""
        cfg = self.settings.engine
        stats = stats or StreamStats()
        parts: list[str] = []
        reason: str | None = None
        loop = asyncio.get_running_loop()
        it = deltas.__aiter__()
        try:
            # The first token has its own, shorter limit; after it, the total limit is checked per
            # delta (a stall between deltas is bounded by the engine client's read timeout), which
            # costs far less than arming a timer for every delta.
            async with asyncio.timeout(cfg.first_token_timeout_s):
                first = await anext(it, None)
            await asyncio.wrap_future(recorded)
            if first is not None:
                metrics.TTFT.observe(time.perf_counter() - started)
                deadline = loop.time() + cfg.timeout_s
                parts.append(first)
                yield first
                async for delta in it:
                    parts.append(delta)
                    yield delta
                    if loop.time() > deadline:
                        raise TimeoutError("reply exceeded the engine's total timeout")
        except (EngineError, TimeoutError) as e:
            reason = getattr(e, "kind", "timeout")
            metrics.DEGRADED.labels(reason).inc()
            metrics.ENGINE_ERRORS.labels(self.engine.backend, reason).inc()
            log.warning(
                "engine failed; degrading",
                extra={"reason": reason, "error": str(e)[:300], "engine": self.engine.backend, "partial": bool(parts)},
            )
            fallback = self._fallback(turn.text, hits, partial=bool(parts))
            parts.append(fallback)
            await asyncio.wrap_future(recorded)
            yield fallback
        finally:
            reply.text = "".join(parts)
            reply.degraded = reason is not None
            reply.prompt_tokens, reply.completion_tokens = stats.prompt_tokens, stats.completion_tokens
            reply.finish_reason = stats.finish_reason if reason is None else "degraded"
            latency_ms = (time.perf_counter() - started) * 1000
            args = (turn.tenant, ctx.session_id, reply.text)
            kwargs = dict(
                latency_ms=latency_ms,
                engine=reply.answered_by,
                prompt_tokens=stats.prompt_tokens,
                completion_tokens=stats.completion_tokens,
                degraded=reply.degraded,
                sources=[s.id for s in reply.sources],
            )
            # Recorded even if the customer went away mid-reply: submitted, not awaited on cancel,
            # and written after the customer's message.
            fut = self.store.submit(_after, recorded, self.store.finish_turn, *args, **kwargs)
            metrics.TURNS.labels(turn.channel, "degraded" if reason else "ok").inc()
            await _aclose(it)
        reply.message_id = await asyncio.wrap_future(fut)

    def _fallback(self, text: str, hits: list[Hit], partial: bool) -> str:
        """The best knowledge-base answer, marked as such, or a polite promise of a human follow-up."""
        zh = is_chinese(text)
        if partial:
            return (
                "\n\n（回复中断，如需帮助请稍后再试或联系人工客服。）"
                if zh
                else "\n\n(The reply was interrupted; please try again or ask for a human agent.)"
            )
        best = hits[0] if hits and hits[0].score >= DEGRADE_MIN_SCORE else None
        if best is not None:
            return f"【知识库答案】{best.answer}" if zh else f"[Knowledge-base answer] {best.answer}"
        return (
            "抱歉，智能助手暂时无法回答。您的问题已记录，人工客服会尽快跟进。"
            if zh
            else "Sorry, the assistant cannot answer right now. Your question is recorded and an agent "
            "will follow up shortly."
        )


def _after(first: Future, fn: Callable[..., int], *args: Any, **kwargs: Any) -> int:
    first.result()
    return fn(*args, **kwargs)


async def _faq_answer(hit: Hit) -> AsyncIterator[str]:
    yield hit.answer


async def _empty() -> AsyncIterator[str]:
    return
    yield  # pragma: no cover


async def _aclose(it: AsyncIterator[str]) -> None:
    close = getattr(it, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):  # closing a broken engine stream must not hide the reply
            await close()
