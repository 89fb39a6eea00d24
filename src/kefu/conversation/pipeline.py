"""The turn pipeline: one customer message becomes one reply. Read `Pipeline.answer` top to bottom: each
step either decides the turn's `Outcome` or passes it on; `deliver` streams, records and caches it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace

from kefu.conversation.cache import AnswerCache
from kefu.conversation.confidence import ConfidenceModel
from kefu.conversation.delivery import CacheKey, Clock, Fallback, Opened, Outcome, deliver, text, timed
from kefu.conversation.handoff import handoff_ask, without_declined_request
from kefu.conversation.policy import (
    DOC_PREFIX,
    SMALL_TALK,
    BotPolicy,
    Decision,
    PolicyState,
    Suggestion,
    clarification,
    decide,
    decline,
    generation_on,
    handoff_notice,
    pending_notice,
    pick,
    quote,
)
from kefu.conversation.prompt import build_prompt
from kefu.conversation.sessions import LocalSessionLocks, SessionLocks, turn_wait_s
from kefu.conversation.types import Reply, Source, Turn
from kefu.engines.base import Engine, StreamStats
from kefu.engines.factory import sampling
from kefu.guard.service import Guard
from kefu.knowledge.service import KnowledgeBase, Passage
from kefu.ops import metrics
from kefu.ops.logging import session_id_var
from kefu.ops.settings import Settings
from kefu.store.repo import Store
from kefu.text import is_chinese

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        kb: KnowledgeBase,
        engine: Engine,
        guard: Guard,
        cache: AnswerCache | None = None,
        sessions: SessionLocks | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.kb = kb
        self.engine = engine
        self.guard = guard
        # `is None`, not `or`: an empty cache (or lock table) has len 0 and is falsy
        self.cache = cache if cache is not None else AnswerCache(settings.answer_cache_size)
        # a turn waits for its session's previous one at most as long as that one may take, with a margin
        self.sessions = sessions if sessions is not None else LocalSessionLocks(wait_s=turn_wait_s(settings))
        self.params = sampling(settings.engine)
        self.confidence = ConfidenceModel.load()

    async def answer(self, turn: Turn) -> Reply:
        clock = Clock()  # the customer's wait starts now, a wait for the session's previous turn included
        # A session's turns run one at a time, in order: the next one reads this one's reply in its history.
        release = await self.sessions.acquire(turn.session)
        try:
            opened = await self._open(turn, release, clock)
            outcome = await self._outcome(opened)
        except BaseException:
            release()
            raise
        return deliver(self.store, self.cache, self.engine.backend, opened, outcome)

    async def _open(self, turn: Turn, release: Callable[[], None], clock: Clock) -> Opened:
        """1. Session, bot profile and history. The customer's personal data is masked before anything is
        stored, logged or sent on (the originals go sealed into the session's vault). The message is written
        while the engine works on its first token; no reply goes out before it is stored."""
        ctx = await self.store.open_turn_async(
            turn.tenant, turn.customer, turn.session, turn.service_type, self.settings.history_messages
        )
        session_id_var.set(ctx.session_id)
        masked = self.guard.mask(turn.text, ctx.session_id)
        recorded = self.store.submit(self.store.record_customer_message, ctx, turn.channel, masked.text)
        if masked.sealed:
            self.store.submit(_seal, self.store, recorded, turn.tenant, ctx.session_id, masked.sealed)
        history = ctx.history
        if ctx.new_session and turn.client_history:
            history = [(role, self.guard.mask_plain(content)) for role, content in turn.client_history]
        return Opened(turn, ctx, masked.text, history, recorded, release, clock)

    async def _outcome(self, opened: Opened) -> Outcome:
        """Steps 2 to 9: the first step that knows the answer decides the outcome."""
        turn, ctx, question, history = opened.turn, opened.ctx, opened.text, opened.history
        bot, cfg, zh = ctx.bot, self.settings.engine, is_chinese(turn.text)
        policy, state = BotPolicy.of(bot, self.settings.policy), PolicyState.load(ctx.state)

        # 2. A session handed to a person: the bot does not answer on its own; the message waits for the agent.
        if ctx.mode == "pending":
            return Outcome(text(pending_notice(policy, zh)), "handoff", [], 1.0, handed_off=True)

        # 3. One of the last clarification's suggestions picked (its button, number or words): that FAQ entry's
        #    answer, or that document section quoted; an FAQ pick is kept as labelled pairs for the matcher.
        version = await self.kb.version(turn.tenant)
        if (chosen := pick(question, state.suggest)) is not None and (
            picked := await self._picked(turn, chosen, state, version)
        ) is not None:
            metrics.POLICY.labels("picked").inc()
            return picked

        # 4. A customer who asks for a person (转人工, human please), or is angry, gets one at once.
        if (ask := handoff_ask(question)) is not None:
            return _handoff(ask.reason, policy, zh, 1.0, [], cue=ask.cue)

        # 5. A question asked before, under the same bot and knowledge, gets the same answer: an FAQ answer
        #    anywhere, a generated one only as a conversation's first answer (later ones depend on context).
        cache_key = (turn.tenant, bot.id, version, question)
        hit = await self.cache.aget(*cache_key)
        if hit is not None and (hit.answered_by == "faq" or not history):
            return Outcome(text(hit.text), "cache", list(hit.sources), hit.confidence, state=PolicyState().dump())

        # 6. Knowledge: the best passages (FAQ entries and document chunks) and the fast-path decision.
        look = await self.kb.lookup(
            turn.tenant, without_declined_request(question), self.settings.kb_top_k, threshold=bot.faq_threshold,
            version=version,
            fusion=bot.fusion, weights=bot.weights,  # type: ignore[arg-type]
        )  # fmt: skip
        sources = [_source(p) for p in look.passages]

        # 7. A message that tries to talk the bot out of its rules gets an in-policy answer, nothing else.
        if (attack := self.guard.attack(question, look.vector)) is not None:
            refusal = self.guard.refusal(question, attack)
            return Outcome(text(refusal), "guard", [], look.confidence, guarded=f"injection:{attack.kind}")

        # 8. The policy: an answer it is sure of (the FAQ entry, a document's sentences quoted, or the engine
        #    writing from the sources), else a clarification, an honest decline or a person.
        embedded = self.engine.backend == "llamacpp"  # the small model that ships with kefu
        generate = generation_on(policy, embedded)
        decision = decide(turn.text, look, policy, state, self.confidence, generate=generate)
        metrics.POLICY.labels(decision.action).inc()
        if decision.action != "generate":
            return _decided(decision, turn.text, question, policy, state, sources, cache_key)

        # 9. The engine writes the reply from the prompt (the bot's system prompt, the sources with instructions
        #    hidden in them defanged, history trimmed to the context window), under its first-token and total
        #    limits; each sentence is checked before it is sent (a loop, an unsupported claim or the wrong
        #    language stops the engine and the policy's next option takes its place).
        passages = [replace(p, text=self.guard.passage(p.text)) for p in look.passages]
        messages = build_prompt(bot.system_prompt, passages, history, question, cfg.context_window, cfg.max_tokens)
        stats = StreamStats()
        deltas = timed(
            self.engine.stream(messages, self.params, stats), opened.clock, cfg.first_token_timeout_s, cfg.timeout_s
        )
        fallback = _fallback(decision, turn.text, question, policy, state)
        grounds = [bot.system_prompt, *(p.title + "\n" + p.text for p in passages)]
        customer_said = [question, *(c for role, c in history if role == "user")]
        check = self.guard.reply_filter(
            question, grounds, customer_said, lambda partial: _stand_in(turn.text, fallback.text, partial, "guard"),
            instructions=bot.system_prompt, relatedness=await self.kb.relatedness(turn.tenant, look, version),
            retractable=turn.retractable, embedded_engine=embedded,
        )  # fmt: skip
        return Outcome(
            check(deltas) if check is not None else deltas, f"{self.engine.backend}:{self.engine.model}", sources,
            decision.confidence, cache=None if history else cache_key, stats=stats, check=check,
            stand_in=lambda partial: _stand_in(turn.text, fallback.text, partial, "engine"), state=PolicyState().dump(),
            fallback=fallback,
        )  # fmt: skip

    async def _picked(self, turn: Turn, chosen: Suggestion, state: PolicyState, version: int) -> Outcome | None:
        """The answer to a picked suggestion; None when its entry or chunk is gone (an edit since)."""
        fresh = PolicyState().dump()
        if chosen.id.startswith(DOC_PREFIX):
            chunk = await self.kb.chunk(turn.tenant, chosen.id.removeprefix(DOC_PREFIX), version)
            if chunk is None:
                return None
            return Outcome(text(quote(state.asked or turn.text, chunk)), "document", [_source(chunk)], 1.0, state=fresh)
        entry = await self.kb.entry(turn.tenant, chosen.id, version)
        if entry is None:
            return None
        labels = [(s.id, int(s.id == chosen.id)) for s in state.suggest if not s.id.startswith(DOC_PREFIX)]
        self.store.submit(self.store.record_match_labels, turn.tenant, state.asked, labels, "clarify_pick")
        return Outcome(text(entry.faq_answer or ""), "faq", [_source(p) for p in entry.passages], 1.0, state=fresh)


def _decided(
    d: Decision, said: str, question: str, policy: BotPolicy, state: PolicyState, sources: list[Source],
    cache_key: CacheKey,
) -> Outcome:  # fmt: skip
    """The outcome of a decision that needs no engine."""
    zh = is_chinese(said)
    if d.action == "faq" and d.faq is not None:
        metrics.FAST_PATH.labels(cache_key[0]).inc()
        cited = [s for s in sources if s.id == d.faq.id] or [_source(d.faq)]
        return Outcome(text(d.faq.text), "faq", cited, d.confidence, cache=cache_key, state=PolicyState().dump())
    if d.action == "document" and d.passage is not None:
        cited = [s for s in sources if s.id == d.passage.id] or [_source(d.passage)]
        return Outcome(text(quote(said, d.passage)), "document", cited, d.confidence, state=PolicyState().dump())
    if d.action == "clarify":
        asked = PolicyState(list(d.suggestions), question, state.failed + 1).dump()
        return Outcome(text(clarification(d.suggestions, zh)), "clarify", sources, d.confidence,
                       suggestions=d.suggestions, state=asked)  # fmt: skip
    if d.action == "handoff":
        return _handoff(d.reason, policy, zh, d.confidence, sources)
    if d.action == "small_talk":
        return Outcome(text(SMALL_TALK[d.reason][0 if zh else 1]), "small_talk", [], d.confidence)
    return Outcome(text(decline(zh)), "decline", [], d.confidence, state=PolicyState([], "", state.failed + 1).dump())


def _handoff(
    reason: str, policy: BotPolicy, zh: bool, confidence: float, sources: list[Source], cue: str = ""
) -> Outcome:
    """A person takes over: the customer is told what happens next; the session waits for an agent."""
    metrics.HANDOFFS.labels(reason).inc()
    log.info("handed off", extra={"reason": reason, "cue": cue[:40]})
    return Outcome(text(handoff_notice(reason, policy, zh)), "handoff", sources, confidence, handed_off=True,
                   handoff=reason, state=PolicyState().dump())  # fmt: skip


def _fallback(d: Decision, said: str, question: str, policy: BotPolicy, state: PolicyState) -> Fallback:
    """What replaces a generated reply that failed (the engine, or the gate) before any of it was sent: the
    FAQ answer it was written from when that is sure enough, the document's sentences, else a clarification
    (its suggestions picked like any other), else the honest decline."""
    zh = is_chinese(said)
    if d.faq is not None and d.confidence >= policy.threshold:
        return Fallback(d.faq.text, "faq")
    if d.passage is not None and d.confidence >= policy.threshold:
        return Fallback(quote(said, d.passage), "document")
    if d.suggestions:
        asked = PolicyState(list(d.suggestions), question, state.failed + 1).dump()
        return Fallback(clarification(d.suggestions, zh), "clarify", d.suggestions, asked)
    return Fallback(decline(zh), "decline", (), PolicyState([], "", state.failed + 1).dump())


# (zh, en) notes after part of a generated reply went out and the rest failed, per cause.
_CUT_SHORT = {
    "engine": (
        "\n\n（回复中断，如需帮助请稍后再试，或回复“转人工”联系人工客服。）",
        '\n\n(The reply was interrupted; please try again or reply "human" for an agent.)',
    ),
    "guard": (
        "\n\n（这一点我不能确定，需要人工客服为您确认，请回复“转人工”。）",
        '\n\n(I can\'t confirm this point; reply "human" and an agent will.)',
    ),
}


def _stand_in(said: str, fallback: str, partial: bool, cause: str) -> str:
    """The policy's next option when nothing was sent yet; after part of a reply, a note to end it."""
    return _CUT_SHORT[cause][0 if is_chinese(said) else 1] if partial else fallback


def _seal(store: Store, recorded: Future[int], tenant: str, session_id: str, sealed: list[tuple[str, bytes]]) -> int:
    """Keep the sealed originals of a message's personal data, with the message's id."""
    return store.vault_put(tenant, session_id, sealed, recorded.result())


def _source(p: Passage) -> Source:
    return Source(p.id, p.title, p.snippet(), p.score, p.kind, p.document, p.section, p.position)
