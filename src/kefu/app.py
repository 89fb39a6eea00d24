"""Wires the parts into one ASGI app. No logic lives here."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kefu import __version__
from kefu.admin.knowledge.router import MAX_FILES
from kefu.admin.knowledge.router import router as kb_admin_router
from kefu.channels.chat.router import router as chat_router
from kefu.channels.errors import RequestContextMiddleware, install_error_handlers
from kefu.channels.openai_api.router import router as openai_router
from kefu.channels.web.router import router as web_router
from kefu.channels.web.router import static_files
from kefu.conversation.pipeline import Pipeline
from kefu.engines.base import Engine
from kefu.engines.factory import build_engine
from kefu.guard.service import Guard
from kefu.knowledge.feed import RedisFeed, RedisPublisher
from kefu.knowledge.remote import embedder_from_settings
from kefu.knowledge.service import KnowledgeBase, load_demo_if_empty
from kefu.ops.health import router as ops_router
from kefu.ops.logging import configure_logging
from kefu.ops.settings import Settings
from kefu.services import Services
from kefu.store.repo import Store

log = logging.getLogger(__name__)


def setup_database(store: Store, settings: Settings) -> None:
    """Migrations, the default tenant and the demo knowledge base: once per start, before any worker
    serves (several workers doing it at once would race)."""
    store.migrate()
    store.ensure_tenant("default", "Default")
    if settings.demo_data:
        load_demo_if_empty(store, "default")
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
    store = Store(settings.database_url)
    if settings.setup_on_start:
        setup_database(store, settings)
    kb = knowledge_base(store, settings)
    store.kb_listeners.append(kb.forget_versions)
    engine = engine or build_engine(settings.engine)
    guard = Guard(settings.guard, vector_space=settings.kb_embedder)
    return Services(settings, store, kb, engine, Pipeline(settings, store, kb, engine, guard))


def create_app(settings: Settings | None = None, engine: Engine | None = None, configure_logs: bool = True) -> FastAPI:
    settings = settings or Settings()
    if configure_logs:
        configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, engine)
        app.state.services = services
        load = getattr(services.engine, "load", None)
        if load is not None:  # the embedded model loads before the first customer waits for it
            await services.store.run(load)
        # the knowledge indexes build in the background; a question arriving first waits for its own
        warm = asyncio.create_task(services.kb.warm(await services.store.run(services.store.tenant_ids)))
        feed = None
        if settings.redis_url:  # knowledge changes reach every instance without a version read per question
            services.store.kb_listeners.append(RedisPublisher(settings.redis_url))
            feed = RedisFeed(settings.redis_url, services.kb)
            feed.start()
        log.info(
            "kefu ready",
            extra={
                "engine": services.engine.backend,
                "model": services.engine.model,
                "database": services.store.engine.url.get_backend_name(),
            },
        )
        try:
            yield
        finally:
            warm.cancel()
            if feed is not None:
                await feed.stop()
            await services.engine.aclose()
            services.kb.close()
            services.store.close()

    app = FastAPI(
        title="kefu", version=__version__, lifespan=lifespan, description="Self-hosted AI customer service / 智能客服"
    )
    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        large_bodies={"/admin/kb/import": settings.max_upload_bytes * MAX_FILES + 1024 * 1024},
    )
    app.include_router(ops_router)
    app.include_router(chat_router)
    app.include_router(openai_router)
    app.include_router(web_router)
    app.include_router(kb_admin_router)
    app.mount("/static", static_files(), name="static")
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory` and its worker processes: settings from the environment."""
    # The event loop shares the GIL with the database threads; a shorter hand-off interval than the
    # default 5 ms keeps a busy database thread from delaying the loop.
    sys.setswitchinterval(0.0005)
    return create_app(Settings())
