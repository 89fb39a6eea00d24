"""Repositories: the only place that speaks SQL. Async callers go through `Store`, which runs the
blocking work on a small thread pool so the event loop never waits on the database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kefu.store.db import make_engine, migrate, session_factory
from kefu.store.models import BotProfile, ChatSession, Customer, FaqEntry, Message, Tenant, utcnow

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


@dataclass(frozen=True)
class BotView:
    id: int
    name: str
    system_prompt: str
    model: str | None
    confidence_threshold: float
    faq_threshold: float


@dataclass
class TurnContext:
    session_id: str
    tenant_id: str
    customer_id: int
    bot: BotView
    history: list[tuple[str, str]]
    user_message_id: int
    new_session: bool


@dataclass
class FaqRecord:
    key: str
    question: str
    answer: str
    lang: str = "zh"
    category: str = ""
    similar: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass
class MessageView:
    id: int
    role: str
    text: str
    created_at: str
    degraded: bool
    sources: list | None


class Store:
    """The conversation store, sync core with async twins for the serving path."""

    def __init__(self, url: str, *, workers: int | None = None) -> None:
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
        return await asyncio.wrap_future(self._pool.submit(fn, *args, **kwargs))

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
        faq_threshold: float = 0.9,
    ) -> None:
        with self.sessions.begin() as s:
            bot = s.scalar(select(BotProfile).where(BotProfile.tenant_id == tenant_id, BotProfile.name == name))
            if bot is None:
                s.add(
                    BotProfile(
                        tenant_id=tenant_id,
                        name=name,
                        system_prompt=system_prompt,
                        model=model,
                        confidence_threshold=confidence_threshold,
                        faq_threshold=faq_threshold,
                    )
                )
            else:
                bot.system_prompt, bot.model = system_prompt, model
                bot.confidence_threshold, bot.faq_threshold = confidence_threshold, faq_threshold

    def tenant_exists(self, tenant_id: str) -> bool:
        with self.sessions() as s:
            return s.get(Tenant, tenant_id) is not None

    def bot_names(self, tenant_id: str) -> list[str]:
        with self.sessions() as s:
            return list(
                s.scalars(select(BotProfile.name).where(BotProfile.tenant_id == tenant_id).order_by(BotProfile.name))
            )

    # --- turns -----------------------------------------------------------------------------
    def begin_turn(
        self,
        tenant_id: str,
        customer_ref: str | None,
        session_id: str | None,
        channel: str,
        bot_name: str,
        text: str,
        history_limit: int,
    ) -> TurnContext:
        """Load or open the session, read its recent history and record the customer's message,
        all in one transaction: the message is durable before the engine is called."""
        with self.sessions.begin() as s:
            if s.get(Tenant, tenant_id) is None:
                raise UnknownTenant(tenant_id)
            new_session = session_id is None
            if session_id is not None:
                sess = s.get(ChatSession, session_id)
                if sess is None or sess.tenant_id != tenant_id:
                    raise UnknownSession(session_id)
                if customer_ref is not None:
                    owner = s.get(Customer, sess.customer_id)
                    if owner is None or owner.external_id != customer_ref:
                        raise UnknownSession(session_id)
                bot = s.get(BotProfile, sess.bot_id) if sess.bot_id is not None else None
                if bot is None:
                    bot = self._bot(s, tenant_id, bot_name)
                rows = s.execute(
                    select(Message.role, Message.text)
                    .where(Message.session_id == session_id)
                    .order_by(Message.id.desc())
                    .limit(history_limit)
                ).all()
                history = [(r.role, r.text) for r in reversed(rows)]
                sess.updated_at = utcnow()
                customer_id = sess.customer_id
            else:
                customer_id = self._customer(s, tenant_id, customer_ref or f"anon-{uuid.uuid4().hex}")
                bot = self._bot(s, tenant_id, bot_name)
                sess = ChatSession(
                    id=str(uuid.uuid4()), tenant_id=tenant_id, customer_id=customer_id, bot_id=bot.id, channel=channel
                )
                s.add(sess)
                history = []
            msg = Message(session_id=sess.id, tenant_id=tenant_id, role="user", text=text)
            s.add(msg)
            s.flush()
            view = BotView(bot.id, bot.name, bot.system_prompt, bot.model, bot.confidence_threshold, bot.faq_threshold)
            return TurnContext(sess.id, tenant_id, customer_id, view, history, msg.id, new_session)

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
    ) -> int:
        with self.sessions.begin() as s:
            msg = Message(
                session_id=session_id,
                tenant_id=tenant_id,
                role="assistant",
                text=text,
                latency_ms=latency_ms,
                engine=engine,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                degraded=degraded,
                sources=sources,
            )
            s.add(msg)
            s.flush()
            return msg.id

    def session_messages(self, tenant_id: str, session_id: str) -> list[MessageView]:
        with self.sessions() as s:
            sess = s.get(ChatSession, session_id)
            if sess is None or sess.tenant_id != tenant_id:
                raise UnknownSession(session_id)
            rows = s.scalars(select(Message).where(Message.session_id == session_id).order_by(Message.id))
            return [MessageView(m.id, m.role, m.text, m.created_at.isoformat(), m.degraded, m.sources) for m in rows]

    # --- FAQ -------------------------------------------------------------------------------
    def faq_count(self, tenant_id: str) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(FaqEntry).where(FaqEntry.tenant_id == tenant_id))

    def upsert_faq(self, tenant_id: str, records: Iterable[FaqRecord]) -> int:
        n = 0
        with self.sessions.begin() as s:
            for r in records:
                values = dict(
                    lang=r.lang,
                    category=r.category,
                    question=r.question,
                    similar=r.similar,
                    answer=r.answer,
                    tags=r.tags,
                    updated_at=utcnow(),
                )
                res = s.execute(
                    update(FaqEntry).where(FaqEntry.tenant_id == tenant_id, FaqEntry.key == r.key).values(**values)
                )
                if res.rowcount == 0:
                    s.add(FaqEntry(tenant_id=tenant_id, key=r.key, **values))
                n += 1
        return n

    def delete_faq(self, tenant_id: str, key: str) -> bool:
        with self.sessions.begin() as s:
            res = s.execute(delete(FaqEntry).where(FaqEntry.tenant_id == tenant_id, FaqEntry.key == key))
            return res.rowcount > 0

    def list_faq(self, tenant_id: str) -> list[FaqRecord]:
        with self.sessions() as s:
            rows = s.scalars(select(FaqEntry).where(FaqEntry.tenant_id == tenant_id).order_by(FaqEntry.id))
            return [
                FaqRecord(e.key, e.question, e.answer, e.lang, e.category, list(e.similar or []), list(e.tags or []))
                for e in rows
            ]

    def faq_version(self, tenant_id: str) -> tuple[int, str | None]:
        """Changes whenever an entry is added, edited or deleted: (count, newest update)."""
        with self.sessions() as s:
            row = s.execute(
                select(func.count(), func.max(FaqEntry.updated_at)).where(FaqEntry.tenant_id == tenant_id)
            ).one()
            return int(row[0]), (row[1].isoformat() if row[1] is not None else None)

    # --- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _customer(s: Session, tenant_id: str, external_id: str) -> int:
        cid = s.scalar(select(Customer.id).where(Customer.tenant_id == tenant_id, Customer.external_id == external_id))
        if cid is not None:
            return cid
        try:
            with s.begin_nested():  # two first messages of one customer may race on PostgreSQL
                c = Customer(tenant_id=tenant_id, external_id=external_id)
                s.add(c)
                s.flush()
            return c.id
        except IntegrityError:
            return s.scalar(
                select(Customer.id).where(Customer.tenant_id == tenant_id, Customer.external_id == external_id)
            )

    @staticmethod
    def _bot(s: Session, tenant_id: str, name: str) -> BotProfile:
        bot = s.scalar(select(BotProfile).where(BotProfile.tenant_id == tenant_id, BotProfile.name == name))
        if bot is None and name != "default":
            bot = s.scalar(select(BotProfile).where(BotProfile.tenant_id == tenant_id, BotProfile.name == "default"))
        if bot is None:
            raise UnknownTenant(tenant_id)
        return bot
