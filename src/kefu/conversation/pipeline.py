"""The turn pipeline: one customer message becomes one reply. Read `Pipeline.answer` top to bottom."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from kefu.conversation.prompt import build_prompt
from kefu.conversation.types import Reply, Source, Turn
from kefu.engines.base import Engine, EngineError, StreamStats
from kefu.engines.factory import sampling
from kefu.guard.service import Guard, ReplyFilter
from kefu.knowledge.cache import AnswerCache, CachedAnswer
from kefu.knowledge.service import KnowledgeBase, Lookup, Passage
from kefu.text import is_chinese
from kefu.ops import metrics
from kefu.ops.logging import session_id_var
from kefu.ops.settings import Settings
from kefu.store.repo import Store, TurnContext

log = logging.getLogger(__name__)

# The best FAQ answer is good enough to stand in for the model when the engine fails above this
# same-question probability (the fast path itself needs the bot's faq_threshold, 0.8 by default).
DEGRADE_MIN_SCORE = 0.35


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        kb: KnowledgeBase,
        engine: Engine,
        guard: Guard,
        cache: AnswerCache | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.kb = kb
        self.engine = engine
        self.guard = guard
        self.cache = cache or AnswerCache(settings.answer_cache_size)
        self.params = sampling(settings.engine)

    async def answer(self, turn: Turn) -> Reply:
        started = time.perf_counter()
        cfg = self.settings.engine

        # 1. Session, bot profile and history. The customer's personal data is masked before anything is
        #    stored, logged or sent on (the originals go sealed into the session's vault). The message is
        #    written while the engine works on its first token; no reply goes out before it is stored.
        ctx = await self.store.open_turn_async(
            turn.tenant, turn.customer, turn.session, turn.service_type, self.settings.history_messages
        )
        session_id_var.set(ctx.session_id)
        masked = self.guard.mask(turn.text, ctx.session_id)
        text = masked.text
        recorded = self.store.submit(self.store.record_customer_message, ctx, turn.channel, text)
        if masked.sealed:
            self.store.submit(_seal, self.store, recorded, turn.tenant, ctx.session_id, masked.sealed)
        history = ctx.history
        if ctx.new_session and turn.client_history:
            history = [(role, self.guard.mask_plain(content)) for role, content in turn.client_history]

        # 2. A question asked before, under the same bot and knowledge, gets the same answer: an FAQ answer
        #    anywhere, a generated one only as a conversation's first answer (later ones depend on context).
        version = await self.kb.version(turn.tenant)
        cache_key = (turn.tenant, ctx.bot.id, version, text)
        hit = self.cache.get(*cache_key)
        if hit is not None and (hit.answered_by == "faq" or not history):
            reply = Reply(ctx.session_id, list(hit.sources), hit.confidence, _text(hit.text), answered_by="cache")
            reply.deltas = self._stream_and_record(turn, ctx, recorded, reply.deltas, None, reply, started)
            return reply

        # 3. Knowledge: the best passages (FAQ entries and document chunks) and the fast-path decision.
        bot = ctx.bot
        look = await self.kb.lookup(
            turn.tenant, text, self.settings.kb_top_k, threshold=bot.faq_threshold, version=version,
            fusion=bot.fusion, weights=bot.weights,  # type: ignore[arg-type]
        )  # fmt: skip
        reply = Reply(ctx.session_id, [_source(p) for p in look.passages], look.confidence, _empty())

        # 4. A message that tries to talk the bot out of its rules gets an in-policy answer, nothing else.
        if (attack := self.guard.attack(text, look.vector)) is not None:
            reply.answered_by, reply.sources, reply.guarded = "guard", [], f"injection:{attack.kind}"
            deltas = _text(self.guard.refusal(text, attack))
            reply.deltas = self._stream_and_record(turn, ctx, recorded, deltas, None, reply, started)
            return reply

        # 5. A question that is the same as an FAQ entry's is answered from it, without the engine.
        if look.faq is not None and look.faq_answer is not None:
            metrics.FAST_PATH.labels(turn.tenant).inc()
            reply.answered_by = "faq"
            reply.sources = [_source(p) for p in look.passages if p.id == look.faq.id] or reply.sources
            deltas = _text(look.faq_answer)
            reply.deltas = self._stream_and_record(turn, ctx, recorded, deltas, look, reply, started, cache=cache_key)
            return reply

        # 6. The prompt: the bot's system prompt, the sources (instructions hidden in them defanged),
        #    history trimmed to the context window.
        passages = [replace(p, text=self.guard.passage(p.text)) for p in look.passages]
        messages = build_prompt(ctx.bot.system_prompt, passages, history, text, cfg.context_window, cfg.max_tokens)

        # 7. Stream from the engine, each sentence checked against the sources before it is sent (an
        #    unsupported claim or the wrong language stops the engine and the FAQ answer or a hand-off note
        #    takes its place); degrade to the knowledge base when the engine fails; record the reply.
        stats = StreamStats()
        reply.answered_by = f"{self.engine.backend}:{self.engine.model}"
        deltas = self.engine.stream(messages, self.params, stats)
        grounds = [ctx.bot.system_prompt, *(p.title + "\n" + p.text for p in passages)]
        customer_said = [text, *(c for role, c in history if role == "user")]
        check = self.guard.reply_filter(
            text, grounds, customer_said, lambda partial: self._guarded(text, look, partial)
        )
        if check is not None:
            deltas = check(deltas)
        cache = cache_key if not history else None
        reply.deltas = self._stream_and_record(turn, ctx, recorded, deltas, look, reply, started, stats, cache, check)
        return reply

    async def _stream_and_record(
        self,
        turn: Turn,
        ctx: TurnContext,
        recorded: Future[int],
        deltas: AsyncIterator[str],
        look: Lookup | None,
        reply: Reply,
        started: float,
        stats: StreamStats | None = None,
        cache: tuple[str, int, int, str] | None = None,
        check: ReplyFilter | None = None,
    ) -> AsyncIterator[str]:
        """Relay the deltas under the first-token and total timeouts; on an engine failure append the
        degraded answer; record the reply whatever happens, even when the customer goes away; keep a
        complete, undegraded answer in the cache when `cache` names its key."""
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
            fallback = self._fallback(turn.text, look, partial=bool(parts))
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
            if check is not None and check.problems:
                reply.guarded = "output:" + ",".join(sorted({p.kind for p in check.problems}))
                reply.finish_reason = "guard"
            completed = reason is None and reply.finish_reason not in ("length", "guard") and bool(reply.text)
            if cache is not None and completed:
                cached = CachedAnswer(reply.text, tuple(reply.sources), reply.confidence, reply.answered_by)
                self.cache.put(*cache, cached)
            await _aclose(it)
        reply.message_id = await asyncio.wrap_future(fut)

    def _guarded(self, text: str, look: Lookup, partial: bool) -> str:
        """What replaces a generated reply that failed the output guard."""
        return _stand_in(text, look, partial, "guard")

    def _fallback(self, text: str, look: Lookup | None, partial: bool) -> str:
        """What stands in when the engine failed."""
        return _stand_in(text, look, partial, "engine")


# (zh, en) notes: after part of a reply went out, and when no FAQ answer can stand in; per cause.
_NOTES = {
    "engine": (
        (
            "\n\n（回复中断，如需帮助请稍后再试或联系人工客服。）",
            "\n\n(The reply was interrupted; please try again or ask for a human agent.)",
        ),
        (
            "抱歉，智能助手暂时无法回答。您的问题已记录，人工客服会尽快跟进。",
            "Sorry, the assistant cannot answer right now. Your question is recorded and an agent will follow up "
            "shortly.",
        ),
    ),
    "guard": (
        (
            "\n\n（这一点需要人工客服为您进一步确认，请稍候。）",
            "\n\n(An agent will confirm this point for you shortly.)",
        ),
        (
            "这个问题我需要请人工客服为您确认，您的问题已记录，会尽快回复您。",
            "An agent needs to confirm this for you; your question is recorded and we will reply shortly.",
        ),
    ),
}


def _stand_in(text: str, look: Lookup | None, partial: bool, cause: str) -> str:
    """The best FAQ answer, marked as such, when the question is close enough to one and nothing was sent
    yet; else a note in the customer's language that a person will follow up."""
    lang = 0 if is_chinese(text) else 1
    after_part, no_answer = _NOTES[cause]
    if partial:
        return after_part[lang]
    if look is not None and look.best_faq is not None and look.confidence >= DEGRADE_MIN_SCORE:
        return ("【知识库答案】", "[Knowledge-base answer] ")[lang] + look.best_faq.text
    return no_answer[lang]


def _seal(store: Store, recorded: Future[int], tenant: str, session_id: str, sealed: list[tuple[str, bytes]]) -> int:
    """Keep the sealed originals of a message's personal data, with the message's id."""
    return store.vault_put(tenant, session_id, sealed, recorded.result())


def _after(first: Future, fn: Callable[..., int], *args: Any, **kwargs: Any) -> int:
    first.result()
    return fn(*args, **kwargs)


async def _text(text: str) -> AsyncIterator[str]:
    yield text


def _source(p: Passage) -> Source:
    return Source(p.id, p.title, p.snippet(), p.score, p.kind, p.document, p.section, p.position)


async def _empty() -> AsyncIterator[str]:
    return
    yield  # pragma: no cover


async def _aclose(it: AsyncIterator[str]) -> None:
    close = getattr(it, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):  # closing a broken engine stream must not hide the reply
            await close()
