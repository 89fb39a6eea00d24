"""Repositories: the only place that speaks SQL. Async callers go through `Store`, which runs the
blocking work on a small thread pool so the event loop never waits on the database."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kefu.store.accounts import AccountQueries
from kefu.store.audit import AuditQueries
from kefu.store.audit import append as audit_append
from kefu.store.db import DatabaseDeadline, make_engine, migrate, session_factory
from kefu.store.knowledge import KnowledgeQueries
from kefu.store.models import BotProfile, ChatSession, Customer, MatchLabel, Message, PiiVaultEntry, Tenant, utcnow
from kefu.store.outbox import OutboxQueries
from kefu.store.outbox import enqueue as outbox_enqueue

T = TypeVar("T")

DEFAULT_SYSTEM_PROMPT = (
    "你是一家网店的智能客服。只根据【参考资料】回答顾客的问题；资料里没有的内容，不要编造价格、政策、承诺或链接，"
    "请说明会由人工客服跟进。用顾客所用的语言回答，简洁、礼貌。\n"
    "You are an online shop's customer-service assistant. Answer only from the reference material; "
    "never invent prices, policies, promises or links. Reply in the customer's language, briefly and politely."
)


class UnknownSession(LookupError):
    pass


class UnknownTenant(LookupError):
    pass


# The statements of every turn, built once: building `insert(t).values(...)` and its cache key per call cost a
# fifth of the writer thread's time under load (py-spy); parameters go with each execution instead.
_INSERT_CUSTOMER = insert(Customer.__table__)
_INSERT_SESSION = insert(ChatSession.__table__)
_INSERT_MESSAGE = insert(Message.__table__)
# The session must be the tenant's: a turn never writes into another tenant's session, whatever id it carries.
_TOUCH_SESSION = (
    update(ChatSession.__table__)
    .where(ChatSession.__table__.c.id == bindparam("sid"), ChatSession.__table__.c.tenant_id == bindparam("tid"))
    .values(updated_at=bindparam("now"))
)


@dataclass(frozen=True)
class BotView:
    id: int
    name: str
    system_prompt: str
    model: str | None
    confidence_threshold: float  # under it, with nothing to clarify, a person takes over (conversation/policy)
    faq_threshold: float
    # the bot's own hybrid-search fusion ("rrf" | "weighted", (keyword weight, vector weight)); None: settings
    fusion: str | None = None
    weights: tuple[float, float] | None = None
    # the answer policy's own settings; None: the settings' PolicySettings
    generation: str | None = None  # "on" | "off" | "auto"
    clarify_threshold: float | None = None
    service_hours: str | None = None  # "09:00-21:00"
    handoff_phone: str | None = None
    # who may talk to it (the accounts issue): anonymous customers at all, from which browser origins (None or
    # "*": any; "self": the chat page kefu serves), its own requests-per-minute limits by kind
    allow_anonymous: bool = True
    allowed_origins: tuple[str, ...] | None = None
    rate_limits: dict[str, int] | None = None


# The columns `update_bot` may set (the policy's and access's), each with its check.
BOT_POLICY_FIELDS = (
    "generation", "clarify_threshold", "service_hours", "handoff_phone", "confidence_threshold",
    "allow_anonymous", "allowed_origins", "rate_limits",
)  # fmt: skip


RATE_LIMIT_KINDS = ("customer", "ip", "api_key")


def text_digest(text: str) -> str:
    """What the audit log keeps of a message: its SHA-256, never the text."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class TurnContext:
    session_id: str
    tenant_id: str
    customer_id: int | None  # None until a new session's first message is recorded
    bot: BotView
    history: list[tuple[str, str]]
    user_message_id: int | None
    new_session: bool
    customer_ref: str | None = None
    new_customer: bool = False  # an anonymous customer whose ref was made for this session: no row to look up
    mode: str = "bot"  # "pending": handed off, waiting for an agent
    state: dict = field(default_factory=dict)  # the answer policy's memory (conversation/policy.PolicyState)


@dataclass
class MessageView:
    id: int
    role: str
    text: str
    created_at: str
    degraded: bool
    sources: list | None


def _bot_view(row: Any) -> BotView:
    weights = None
    if row.kb_keyword_weight is not None and row.kb_vector_weight is not None:
        weights = (row.kb_keyword_weight, row.kb_vector_weight)
    return BotView(
        row.id, row.name, row.system_prompt, row.model, row.confidence_threshold, row.faq_threshold,
        row.kb_fusion, weights, row.generation, row.clarify_threshold, row.service_hours, row.handoff_phone,
        bool(row.allow_anonymous), tuple(row.allowed_origins) if row.allowed_origins is not None else None,
        dict(row.rate_limits) if row.rate_limits else None,
    )  # fmt: skip


def _pick(bots: dict[str, BotView], tenant_id: str, name: str) -> BotView:
    """The named bot profile, else the tenant's default one (an unknown service type is not an error)."""
    bot = bots.get(name) or bots.get("default")
    if bot is None:
        raise UnknownTenant(tenant_id)
    return bot


class Store(KnowledgeQueries, AccountQueries, AuditQueries, OutboxQueries):
    """The conversation store, sync core with async twins for the serving path."""

    cache_ttl_s = 5.0
    bot_cache_tenants = 1024  # tenants whose bot profiles are kept, least recently used out first

    def __init__(self, url: str, *, workers: int | None = None, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s  # what `run` and `wait` wait at most for a database call
        # tenant -> (its bot profiles by name, expiry): keyed by tenant, never by the client-chosen service type
        self._bot_cache: OrderedDict[str, tuple[dict[str, BotView], float]] = OrderedDict()
        self._bot_lock = threading.Lock()
        self._customer_cache: dict[tuple[str, str], int] = {}
        # Called with the tenant id after a write to its knowledge has committed.
        self.kb_listeners: list[Callable[[str], None]] = []
        # The outbox event kinds something consumes (a webhook is configured): only those are written; and what to
        # call once one has committed (the relay's notify).
        self.event_kinds: frozenset[str] = frozenset()
        self.outbox_listeners: list[Callable[[], None]] = []
        self.engine: Engine = make_engine(url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        is_sqlite = self.engine.url.get_backend_name() == "sqlite"
        # SQLite has one writer at a time: one thread avoids lock waits; PostgreSQL gets a pool.
        self._pool = ThreadPoolExecutor(max_workers=workers or (1 if is_sqlite else 8), thread_name_prefix="kefu-db")

    # --- lifecycle -------------------------------------------------------------------------
    def migrate(self) -> None:
        migrate(self.engine)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.engine.dispose()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.wait(self._pool.submit(fn, *args, **kwargs))

    async def wait(self, future: Future[T]) -> T:
        """The result of a submitted call, within the deadline (`DatabaseDeadline` after it: the call goes on in
        its thread, and whatever it writes is written)."""
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout_s)
        except TimeoutError as e:
            raise DatabaseDeadline(f"database call took more than {self.timeout_s:g} s") from e

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Run without waiting: for writes that must happen even if the caller is cancelled."""
        return self._pool.submit(fn, *args, **kwargs)

    # --- tenants and bots ----------------------------------------------------------------
    def ensure_tenant(
        self, tenant_id: str, name: str | None = None, system_prompt: str = DEFAULT_SYSTEM_PROMPT
    ) -> None:
        """Create the tenant and its `default` bot profile if they do not exist."""
        with self.sessions.begin() as s:
            if s.get(Tenant, tenant_id) is None:
                s.add(Tenant(id=tenant_id, name=name or tenant_id))
                s.flush()
            has_bot = s.scalar(
                select(BotProfile.id).where(BotProfile.tenant_id == tenant_id, BotProfile.name == "default")
            )
            if has_bot is None:
                s.add(BotProfile(tenant_id=tenant_id, name="default", system_prompt=system_prompt))

    def upsert_bot(
        self,
        tenant_id: str,
        name: str,
        system_prompt: str,
        model: str | None = None,
        confidence_threshold: float = 0.85,
        faq_threshold: float = 0.8,
        fusion: str | None = None,
        weights: tuple[float, float] | None = None,
    ) -> None:
        """Create or replace the named bot profile. `fusion` ("rrf" | "weighted") and `weights` (keyword, vector)
        set the bot's own hybrid search; None keeps the settings' for this bot."""
        if fusion not in (None, "rrf", "weighted"):
            raise ValueError(f"fusion must be 'rrf' or 'weighted', not {fusion!r}")
        if weights is not None and (len(weights) != 2 or min(weights) < 0 or sum(weights) <= 0):
            raise ValueError(f"weights must be two non-negative numbers, not both 0: {weights!r}")
        with self._bot_lock:
            self._bot_cache.clear()
        kw_weight, vec_weight = weights if weights is not None else (None, None)
        with self.sessions.begin() as s:
            bot = s.scalar(select(BotProfile).where(BotProfile.tenant_id == tenant_id, BotProfile.name == name))
            if bot is None:
                bot = BotProfile(tenant_id=tenant_id, name=name)
                s.add(bot)
            bot.system_prompt, bot.model = system_prompt, model
            bot.confidence_threshold, bot.faq_threshold = confidence_threshold, faq_threshold
            bot.kb_fusion, bot.kb_keyword_weight, bot.kb_vector_weight = fusion, kw_weight, vec_weight

    def update_bot(self, tenant_id: str, name: str, actor: str = "system", **fields: Any) -> BotView:
        """Set some of a bot profile's answer-policy and access settings (`BOT_POLICY_FIELDS`; None: the
        settings'), with the change's audit entry. UnknownTenant when the tenant has no such bot."""
        unknown = set(fields) - set(BOT_POLICY_FIELDS)
        if unknown:
            raise ValueError(f"not a bot policy field: {sorted(unknown)}")
        if fields.get("generation") not in (None, "on", "off", "auto", "always"):
            raise ValueError(f"generation must be on, off, auto or always, not {fields['generation']!r}")
        origins = fields.get("allowed_origins")
        if origins is not None and not (isinstance(origins, list) and all(isinstance(o, str) for o in origins)):
            raise ValueError("allowed_origins must be a list of origins such as https://shop.example.com, or ['*']")
        limits = fields.get("rate_limits")
        if limits is not None and not (
            isinstance(limits, dict)
            and all(k in RATE_LIMIT_KINDS and isinstance(v, int) and v >= 0 for k, v in limits.items())
        ):
            raise ValueError(f"rate_limits maps {', '.join(RATE_LIMIT_KINDS)} to requests per minute (0: unlimited)")
        with self._bot_lock:
            self._bot_cache.clear()
        with self.sessions.begin() as s:
            bot = s.scalar(select(BotProfile).where(BotProfile.tenant_id == tenant_id, BotProfile.name == name))
            if bot is None:
                raise UnknownTenant(tenant_id)
            for k, v in fields.items():
                setattr(bot, k, v)
            s.flush()
            audit_append(s.connection(), tenant_id, actor, "bot.update", f"bot:{name}", dict(fields))
            return _bot_view(bot)

    def record_match_labels(self, tenant_id: str, question: str, labels: list[tuple[str, int]], source: str) -> None:
        """Labelled pairs (question, FAQ entry, 1 same / 0 not) for the matcher's next fit."""
        now = utcnow()
        rows = [
            {"tenant_id": tenant_id, "question": question, "faq_key": key, "label": label, "source": source,
             "created_at": now}
            for key, label in labels
        ]  # fmt: skip
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(MatchLabel.__table__), rows)

    def match_labels(self, tenant_id: str) -> list[tuple[str, str, int, str]]:
        t = MatchLabel.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.question, t.c.faq_key, t.c.label, t.c.source)
                .where(t.c.tenant_id == tenant_id)
                .order_by(t.c.id)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]

    def session_mode(self, tenant_id: str, session_id: str) -> tuple[str, str | None]:
        """(mode, hand-off reason) of a session of this tenant; UnknownSession otherwise."""
        t = ChatSession.__table__
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.c.mode, t.c.handoff_reason).where(t.c.id == session_id, t.c.tenant_id == tenant_id)
            ).first()
        if row is None:
            raise UnknownSession(session_id)
        return row.mode, row.handoff_reason

    def tenant_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.scalars(select(Tenant.id).order_by(Tenant.id)))

    def bot(self, tenant_id: str, name: str) -> BotView:
        """The named bot profile, else the tenant's default (cached a few seconds); UnknownTenant otherwise."""
        bots = self._cached_bots(tenant_id)
        if bots is None:
            with self.engine.connect() as conn:
                bots = self._tenant_bots(conn, tenant_id)
        return _pick(bots, tenant_id, name)

    def tenant_exists(self, tenant_id: str) -> bool:
        with self.sessions() as s:
            return s.get(Tenant, tenant_id) is not None

    def list_bots(self, tenant_id: str) -> list[BotView]:
        with self.engine.connect() as conn:
            t = BotProfile.__table__
            return [_bot_view(r) for r in conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.name))]

    def bot_names(self, tenant_id: str) -> list[str]:
        with self.sessions() as s:
            return list(
                s.scalars(select(BotProfile.name).where(BotProfile.tenant_id == tenant_id).order_by(BotProfile.name))
            )

    # --- turns -----------------------------------------------------------------------------
    # The serving path uses Core statements and small caches: the ORM's unit of work cost more CPU
    # per turn than the rest of kefu together (measured with py-spy under load).
    def open_turn(
        self, tenant_id: str, customer_ref: str | None, session_id: str | None, bot_name: str, history_limit: int
    ) -> TurnContext:
        """Read what the prompt needs: the session (checked against tenant and customer), its bot
        profile and recent history. A new session gets its id here and is written by
        `record_customer_message`, so the engine can start before the database write ends."""
        with self.engine.connect() as conn:
            if session_id is None:
                bot = _pick(self._tenant_bots(conn, tenant_id), tenant_id, bot_name)  # raises UnknownTenant
                return self._new_context(tenant_id, customer_ref, bot)
            sessions_t, messages_t = ChatSession.__table__, Message.__table__
            row = conn.execute(
                select(
                    sessions_t.c.tenant_id,
                    sessions_t.c.customer_id,
                    sessions_t.c.bot_id,
                    sessions_t.c.mode,
                    sessions_t.c.state,
                ).where(sessions_t.c.id == session_id)
            ).first()
            if row is None or row.tenant_id != tenant_id:
                raise UnknownSession(session_id)
            if customer_ref is not None and self._customer_id(conn, tenant_id, customer_ref, create=False) != (
                row.customer_id
            ):
                raise UnknownSession(session_id)
            bots = self._tenant_bots(conn, tenant_id)
            bot = next((b for b in bots.values() if b.id == row.bot_id), None) or _pick(bots, tenant_id, bot_name)
            rows = conn.execute(
                select(messages_t.c.role, messages_t.c.text)
                .where(messages_t.c.session_id == session_id)
                .order_by(messages_t.c.id.desc())
                .limit(history_limit)
            ).all()
            history = [(r.role, r.text) for r in reversed(rows)]
            return TurnContext(
                session_id, tenant_id, row.customer_id, bot, history, None, False, customer_ref,
                mode=row.mode or "bot", state=dict(row.state or {}),
            )  # fmt: skip

    async def open_turn_async(
        self, tenant_id: str, customer_ref: str | None, session_id: str | None, bot_name: str, history_limit: int
    ) -> TurnContext:
        """A new session whose bot profile is cached needs no database round trip at all."""
        if session_id is None and (bots := self._cached_bots(tenant_id)) is not None:
            return self._new_context(tenant_id, customer_ref, _pick(bots, tenant_id, bot_name))
        return await self.run(self.open_turn, tenant_id, customer_ref, session_id, bot_name, history_limit)

    @staticmethod
    def _new_context(tenant_id: str, customer_ref: str | None, bot: BotView) -> TurnContext:
        ref = customer_ref or f"anon-{uuid.uuid4().hex}"
        return TurnContext(str(uuid.uuid4()), tenant_id, None, bot, [], None, True, ref, customer_ref is None)

    def record_customer_message(self, ctx: TurnContext, channel: str, text: str) -> int:
        """Write the customer's message (and, for a new session, the customer and the session)."""
        now = utcnow()
        with self.engine.begin() as conn:
            if ctx.new_session:
                if ctx.new_customer:  # a random ref made for this session: one insert, no look-up, no savepoint
                    row = {"tenant_id": ctx.tenant_id, "external_id": ctx.customer_ref, "created_at": now}
                    ctx.customer_id = conn.execute(_INSERT_CUSTOMER, row).inserted_primary_key[0]
                else:
                    ctx.customer_id = self._customer_id(conn, ctx.tenant_id, ctx.customer_ref or "")
                conn.execute(
                    _INSERT_SESSION,
                    {
                        "id": ctx.session_id,
                        "tenant_id": ctx.tenant_id,
                        "customer_id": ctx.customer_id,
                        "bot_id": ctx.bot.id,
                        "channel": channel,
                        "mode": "bot",
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            else:
                touched = conn.execute(_TOUCH_SESSION, {"sid": ctx.session_id, "tid": ctx.tenant_id, "now": now})
                if touched.rowcount != 1:
                    raise UnknownSession(ctx.session_id)
            res = conn.execute(
                _INSERT_MESSAGE,
                {
                    "session_id": ctx.session_id,
                    "tenant_id": ctx.tenant_id,
                    "role": "user",
                    "text": text,
                    "created_at": now,
                    "degraded": False,
                },
            )
            ctx.user_message_id = res.inserted_primary_key[0]
            audit_append(
                conn, ctx.tenant_id, f"customer:{ctx.customer_id}", "turn.message", f"session:{ctx.session_id}",
                {"message": ctx.user_message_id, "sha256": text_digest(text), "channel": channel}, now,
            )  # fmt: skip
            return ctx.user_message_id

    def finish_turn(
        self,
        tenant_id: str,
        session_id: str,
        text: str,
        *,
        latency_ms: float | None,
        engine: str | None,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        degraded: bool,
        sources: list[str] | None,
        state: dict | None = None,
        handoff: str | None = None,
    ) -> int:
        """Write the reply; with it, in one transaction, the policy's memory for the next turn (`state`) and
        a hand-off (`handoff`: its reason; the session becomes "pending")."""
        with self.engine.begin() as conn:
            values: dict[str, Any] = {"updated_at": utcnow()}
            if state is not None:
                values["state"] = state
            if handoff is not None:
                values |= {"mode": "pending", "handoff_reason": handoff[:32], "pending_since": utcnow()}
            t = ChatSession.__table__
            n = conn.execute(update(t).where(t.c.id == session_id, t.c.tenant_id == tenant_id).values(**values))
            if n.rowcount != 1:  # another tenant's session (or none): nothing is written
                raise UnknownSession(session_id)
            res = conn.execute(
                _INSERT_MESSAGE,
                {
                    "session_id": session_id,
                    "tenant_id": tenant_id,
                    "role": "assistant",
                    "text": text,
                    "created_at": utcnow(),
                    "latency_ms": latency_ms,
                    "engine": engine,
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "degraded": degraded,
                    "sources": sources,
                },
            )
            mid = res.inserted_primary_key[0]
            detail = {"message": mid, "sha256": text_digest(text), "engine": engine, "degraded": degraded}
            if handoff is not None:
                detail["handoff"] = handoff[:32]
            audit_append(conn, tenant_id, "bot", "turn.answer", f"session:{session_id}", detail)
            event = handoff is not None and "handoff" in self.event_kinds
            if event:  # the company's systems hear of it through the outbox, committed with the hand-off itself
                payload = {"session_id": session_id, "reason": handoff, "message_id": mid}
                outbox_enqueue(conn, tenant_id, "handoff", payload, key=f"{session_id}:{mid}")
        if event:
            for listener in self.outbox_listeners:
                listener()
        return mid

    def _cached_bots(self, tenant_id: str) -> dict[str, BotView] | None:
        with self._bot_lock:
            hit = self._bot_cache.get(tenant_id)
            if hit is None or hit[1] <= time.monotonic():
                return None
            self._bot_cache.move_to_end(tenant_id)
            return hit[0]

    def _tenant_bots(self, conn: Connection, tenant_id: str) -> dict[str, BotView]:
        """The tenant's bot profiles by name (a tenant has a handful), cached for a few seconds so an edit
        reaches every instance quickly without a query per turn. One entry per known tenant, at most
        `bot_cache_tenants` of them: a service type no bot has costs nothing and shares the entry."""
        bots = self._cached_bots(tenant_id)
        if bots is not None:
            return bots
        t = BotProfile.__table__
        bots = {r.name: _bot_view(r) for r in conn.execute(select(t).where(t.c.tenant_id == tenant_id))}
        if bots:  # an unknown tenant is not cached: the client chooses tenant ids too
            with self._bot_lock:
                self._bot_cache[tenant_id] = (bots, time.monotonic() + self.cache_ttl_s)
                self._bot_cache.move_to_end(tenant_id)
                while len(self._bot_cache) > self.bot_cache_tenants:
                    self._bot_cache.popitem(last=False)
        return bots

    def _customer_id(self, conn: Connection, tenant_id: str, external_id: str, create: bool = True) -> int | None:
        """Customer ids never change, so they are cached without expiry (bounded)."""
        key = (tenant_id, external_id)
        cid = self._customer_cache.get(key)
        if cid is not None:
            return cid
        t = Customer.__table__
        cid = conn.scalar(select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.external_id == external_id))
        if cid is None:
            if not create:
                return None
            try:
                with conn.begin_nested():  # two first messages of one customer may race
                    row = {"tenant_id": tenant_id, "external_id": external_id, "created_at": utcnow()}
                    cid = conn.execute(_INSERT_CUSTOMER, row).inserted_primary_key[0]
            except IntegrityError:
                cid = conn.scalar(select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.external_id == external_id))
            else:
                return cid  # not cached before the transaction commits: it could still roll back
        if len(self._customer_cache) > 100_000:
            self._customer_cache.clear()
        self._customer_cache[key] = cid
        return cid

    def session_messages(self, tenant_id: str, session_id: str) -> list[MessageView]:
        with self.sessions() as s:
            sess = s.get(ChatSession, session_id)
            if sess is None or sess.tenant_id != tenant_id:
                raise UnknownSession(session_id)
            rows = s.scalars(select(Message).where(Message.session_id == session_id).order_by(Message.id))
            return [MessageView(m.id, m.role, m.text, m.created_at.isoformat(), m.degraded, m.sources) for m in rows]

    # --- PII vault -------------------------------------------------------------------------
    def vault_put(
        self, tenant_id: str, session_id: str, items: list[tuple[str, bytes]], message_id: int | None = None
    ) -> int:
        """Keep the sealed originals of the PII masked in a session's message: (kind, sealed) pairs from
        `kefu.guard.vault.mask_and_seal`. Returns how many rows were written."""
        if not items:
            return 0
        now = utcnow()
        rows = [
            dict(tenant_id=tenant_id, session_id=session_id, message_id=message_id, kind=k, sealed=v, created_at=now)
            for k, v in items
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(PiiVaultEntry.__table__), rows)
        return len(rows)

    def vault_get(self, tenant_id: str, session_id: str) -> list[tuple[str, bytes]]:
        """The sealed originals of a session, oldest first; nothing for another tenant's session."""
        t = PiiVaultEntry.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.kind, t.c.sealed)
                .where(t.c.tenant_id == tenant_id, t.c.session_id == session_id)
                .order_by(t.c.id)
            ).all()
        return [(r.kind, bytes(r.sealed)) for r in rows]
