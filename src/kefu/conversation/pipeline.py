"""The turn pipeline: one customer message becomes one reply. Read `Pipeline.answer` top to bottom: each
step either decides the turn's `Outcome` or passes it on; `deliver` streams, records and caches it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace

from kefu.conversation.cache import AnswerCache
from kefu.conversation.delivery import Clock, Opened, Outcome, deliver, text, timed
from kefu.conversation.prompt import build_prompt
from kefu.conversation.sessions import LocalSessionLocks, SessionLocks
from kefu.conversation.types import Reply, Source, Turn
from kefu.engines.base import Engine, StreamStats
from kefu.engines.factory import sampling
from kefu.guard.service import Guard
from kefu.knowledge.service import KnowledgeBase, Lookup, Passage
from kefu.ops import metrics
from kefu.ops.logging import session_id_var
from kefu.ops.settings import Settings
from kefu.store.repo import Store
from kefu.text import is_chinese

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
        sessions: SessionLocks | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.kb = kb
        self.engine = engine
        self.guard = guard
        self.cache = cache or AnswerCache(settings.answer_cache_size)
        cfg = settings.engine
        # a turn waits for its session's previous one at most as long as that one may take, with a margin
        self.sessions = sessions or LocalSessionLocks(wait_s=cfg.first_token_timeout_s + cfg.timeout_s + 5)
        self.params = sampling(cfg)

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
        """Steps 2 to 7: the first step that knows the answer decides the outcome."""
        turn, bot, question, history = opened.turn, opened.ctx.bot, opened.text, opened.history
        cfg = self.settings.engine

        # 2. A question asked before, under the same bot and knowledge, gets the same answer: an FAQ answer
        #    anywhere, a generated one only as a conversation's first answer (later ones depend on context).
        version = await self.kb.version(turn.tenant)
        cache_key = (turn.tenant, bot.id, version, question)
        hit = self.cache.get(*cache_key)
        if hit is not None and (hit.answered_by == "faq" or not history):
            return Outcome(text(hit.text), "cache", list(hit.sources), hit.confidence)

        # 3. Knowledge: the best passages (FAQ entries and document chunks) and the fast-path decision.
        look = await self.kb.lookup(
            turn.tenant, question, self.settings.kb_top_k, threshold=bot.faq_threshold, version=version,
            fusion=bot.fusion, weights=bot.weights,  # type: ignore[arg-type]
        )  # fmt: skip
        sources = [_source(p) for p in look.passages]

        # 4. A message that tries to talk the bot out of its rules gets an in-policy answer, nothing else.
        if (attack := self.guard.attack(question, look.vector)) is not None:
            refusal = self.guard.refusal(question, attack)
            return Outcome(text(refusal), "guard", [], look.confidence, guarded=f"injection:{attack.kind}")

        # 5. A question that is the same as an FAQ entry's is answered from it, without the engine.
        if look.faq is not None and look.faq_answer is not None:
            metrics.FAST_PATH.labels(turn.tenant).inc()
            faq_sources = [s for s in sources if s.id == look.faq.id] or sources
            return Outcome(text(look.faq_answer), "faq", faq_sources, look.confidence, cache=cache_key)

        # 6. The prompt: the bot's system prompt, the sources (instructions hidden in them defanged),
        #    history trimmed to the context window.
        passages = [replace(p, text=self.guard.passage(p.text)) for p in look.passages]
        messages = build_prompt(bot.system_prompt, passages, history, question, cfg.context_window, cfg.max_tokens)

        # 7. Stream from the engine under its first-token and total limits, each sentence checked against the
        #    sources before it is sent (an unsupported claim or the wrong language stops the engine and the FAQ
        #    answer or a hand-off note takes its place); when the engine fails, the knowledge base stands in.
        stats = StreamStats()
        deltas = timed(
            self.engine.stream(messages, self.params, stats), opened.clock, cfg.first_token_timeout_s, cfg.timeout_s
        )
        grounds = [bot.system_prompt, *(p.title + "\n" + p.text for p in passages)]
        customer_said = [question, *(c for role, c in history if role == "user")]
        check = self.guard.reply_filter(
            question, grounds, customer_said, lambda partial: _stand_in(question, look, partial, "guard"),
            instructions=bot.system_prompt,
        )  # fmt: skip
        return Outcome(
            check(deltas) if check is not None else deltas, f"{self.engine.backend}:{self.engine.model}", sources,
            look.confidence, cache=None if history else cache_key, stats=stats, check=check,
            stand_in=lambda partial: _stand_in(turn.text, look, partial, "engine"),
        )  # fmt: skip


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


def _source(p: Passage) -> Source:
    return Source(p.id, p.title, p.snippet(), p.score, p.kind, p.document, p.section, p.position)
