"""The running parts of one kefu instance, and how they are built: once at start-up by the app, and by
the CLI commands that need the database or the knowledge base (so no command imports the app)."""

from __future__ import annotations

from dataclasses import dataclass

from kefu.accounts.service import Accounts
from kefu.conversation.cache import answer_cache
from kefu.conversation.pipeline import Pipeline
from kefu.conversation.sessions import session_locks
from kefu.engines.base import Engine
from kefu.engines.factory import build_engine
from kefu.guard.service import Guard
from kefu.knowledge.embedders import embedder_from_settings
from kefu.knowledge.service import KnowledgeBase, load_demo_if_empty
from kefu.ops.ratelimit import RateLimiter, rate_limiter
from kefu.ops.settings import Settings
from kefu.outbox.consumers import WebhookHandler
from kefu.outbox.relay import OutboxRelay
from kefu.store.db import setup_lock
from kefu.store.repo import Store

DEMO_HOTLINE = "400-820-8820"


@dataclass
class Services:
    settings: Settings
    store: Store
    kb: KnowledgeBase
    engine: Engine
    pipeline: Pipeline
    accounts: Accounts
    limiter: RateLimiter  # shared through Redis when KEFU_REDIS_URL is set
    relay: OutboxRelay  # delivers outbox events: to RabbitMQ with KEFU_AMQP_URL, in-process otherwise


def setup_database(store: Store, settings: Settings) -> None:
    """Migrations, the default tenant and the demo knowledge base: once per start, before any worker
    serves (several workers doing it at once would race), and one instance at a time on PostgreSQL
    (`setup_lock`: instances started together wait for the first one, then find it done)."""
    with setup_lock(store.engine):
        store.migrate()
        store.ensure_tenant("default", "Default")
        if settings.demo_data and load_demo_if_empty(store, "default"):
            # the demo shop's hotline, which its FAQ names too: the hand-off notice gives it
            store.update_bot("default", "default", handoff_phone=DEMO_HOTLINE)
        # Embed what no build has embedded yet (vectors are kept in the database): the workers' indexes then
        # build from stored vectors in a moment instead of each embedding the whole knowledge base.
        kb = knowledge_base(store, settings)
        for tenant in store.tenant_ids():
            kb.build(tenant)
        kb.close()


def knowledge_base(store: Store, settings: Settings) -> KnowledgeBase:
    return KnowledgeBase(
        store,
        embedder=embedder_from_settings(settings),
        refresh_s=settings.kb_refresh_s,
        fusion=settings.kb_fusion,
        weights=(settings.kb_keyword_weight, settings.kb_vector_weight),
    )


def build_services(settings: Settings, engine: Engine | None = None) -> Services:
    store = Store(settings.database_url, timeout_s=settings.database_timeout_s)
    if settings.setup_on_start:
        setup_database(store, settings)
    kb = knowledge_base(store, settings)
    store.kb_listeners.append(kb.forget_versions)
    engine = engine or build_engine(settings.engine)
    guard = Guard(settings.guard, vector_space=settings.kb_embedder)
    limiter = rate_limiter(settings.redis_url)
    accounts = Accounts(store, settings.auth, limiter)
    # the answer cache and the session locks are shared through Redis when KEFU_REDIS_URL is set: close them with
    # `services.pipeline.cache.aclose()` and `services.pipeline.sessions.aclose()`
    pipeline = Pipeline(settings, store, kb, engine, guard, answer_cache(settings), session_locks(settings))
    return Services(settings, store, kb, engine, pipeline, accounts, limiter, outbox_relay(store, settings))


def outbox_relay(store: Store, settings: Settings) -> OutboxRelay:
    """The relay and its handlers; the store writes only the event kinds a handler consumes."""
    handlers = {}
    if settings.webhook_url and settings.webhook_secret is not None:
        hook = WebhookHandler(
            settings.webhook_url, settings.webhook_secret.get_secret_value(), settings.webhook_timeout_s
        )
        handlers = {"handoff": hook, "webhook": hook}
    store.event_kinds = frozenset(handlers)
    amqp = settings.amqp_url.get_secret_value() if settings.amqp_url is not None else None
    relay = OutboxRelay(
        store,
        amqp,
        handlers,
        max_attempts=settings.outbox_max_attempts,
        lease_s=settings.outbox_lease_s,
        poll_s=settings.outbox_poll_s,
        prefix=settings.outbox_prefix,
    )
    store.outbox_listeners.append(relay.notify)
    return relay
