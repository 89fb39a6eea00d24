"""Wires the parts into one ASGI app. No logic lives here."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kefu import __version__
from kefu.admin.accounts.router import auth_router, keys_router, page_router, users_router
from kefu.admin.audit.router import router as audit_router
from kefu.admin.bots.router import router as bots_router
from kefu.admin.knowledge.router import router as kb_admin_router
from kefu.admin.sessions.router import router as sessions_admin_router
from kefu.channels.chat.router import router as chat_router
from kefu.channels.openai_api.router import router as openai_router
from kefu.channels.web.router import router as web_router
from kefu.channels.web.router import static_files
from kefu.engines.base import Engine
from kefu.http.errors import RequestContextMiddleware, install_error_handlers
from kefu.http.health import router as ops_router
from kefu.knowledge.feed import RedisFeed, RedisPublisher
from kefu.ops.logging import configure_logging
from kefu.ops.settings import Settings
from kefu.services import build_services

log = logging.getLogger(__name__)


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
        feed = publisher = None
        if settings.redis_url:  # knowledge changes reach every instance without a version read per question
            publisher = RedisPublisher(settings.redis_url)
            services.store.kb_listeners.append(publisher)
            feed = RedisFeed(settings.redis_url, services.kb)
            feed.start()
        if services.store.event_kinds:  # something consumes events (a webhook): deliver them
            await services.relay.start()
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
            await services.relay.stop()
            await services.engine.aclose()
            await services.limiter.aclose()
            await services.pipeline.sessions.aclose()
            await services.pipeline.cache.aclose()  # sends the answers still waiting (up to 1 s), then closes
            services.kb.close()
            services.store.close()  # its last writes have told the publisher by now
            if publisher is not None:  # sends what is pending, then lets go of its connection
                await asyncio.to_thread(publisher.close)

    app = FastAPI(
        title="kefu", version=__version__, lifespan=lifespan, description="Self-hosted AI customer service / 智能客服"
    )
    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        large_bodies={"/admin/kb/import": settings.max_upload_bytes * settings.max_upload_files + 1024 * 1024},
    )
    app.include_router(ops_router)
    app.include_router(chat_router)
    app.include_router(openai_router)
    app.include_router(web_router)
    app.include_router(kb_admin_router)
    for router in (
        auth_router,
        users_router,
        keys_router,
        bots_router,
        audit_router,
        sessions_admin_router,
        page_router,
    ):
        app.include_router(router)
    app.mount("/static", static_files(), name="static")
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory` and its worker processes: settings from the environment."""
    # The event loop shares the GIL with the database threads; a shorter hand-off interval than the
    # default 5 ms keeps a busy database thread from delaying the loop.
    sys.setswitchinterval(0.0005)
    return create_app(Settings())
