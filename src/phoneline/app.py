"""The ASGI application. `create_app(settings)` builds it; nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text
from starlette.responses import Response

from phoneline import __version__
from phoneline.api.errors import ServiceUnavailable
from phoneline.api.handlers import install_error_handlers
from phoneline.api.middleware import RequestContextMiddleware
from phoneline.api.runtime import Runtime
from phoneline.dashboard.routes import router as guides_router
from phoneline.lines.admin_routes import router as admin_lines_router
from phoneline.lines.routes import router as lines_router
from phoneline.logging import configure_logging
from phoneline.notify.admin_routes import router as admin_alerts_router
from phoneline.partners.admin_routes import router as admin_partners_router
from phoneline.settings import Settings
from phoneline.webhooks.admin_routes import router as admin_webhooks_router
from phoneline.webhooks.dispatcher import InProcessDispatcher
from phoneline.webhooks.routes import router as webhooks_router

PARTNER_API_PREFIX = "/api/partner"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.start(settings)
        app.state.runtime = runtime
        # Embedded mode: deliveries go out from this process unless separate workers do it.
        dispatcher = (
            InProcessDispatcher.start(settings, runtime.sessions)
            if settings.webhook_dispatcher_enabled
            else None
        )
        app.state.dispatcher = dispatcher
        try:
            yield
        finally:
            if dispatcher is not None:
                await dispatcher.stop()
            await runtime.close()

    app = FastAPI(
        title="phoneline",
        version=__version__,
        summary="The phone-line slice of the Linq Partner API v3, self-hosted.",
        lifespan=lifespan,
    )
    install_error_handlers(app, settings.base_url)
    app.add_middleware(RequestContextMiddleware, doc_base=settings.base_url)

    app.include_router(lines_router, prefix=PARTNER_API_PREFIX)
    app.include_router(webhooks_router, prefix=PARTNER_API_PREFIX)
    app.include_router(admin_partners_router)
    app.include_router(admin_lines_router)
    app.include_router(admin_webhooks_router)
    app.include_router(admin_alerts_router)
    app.include_router(guides_router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> Response:
        runtime: Runtime = app.state.runtime
        try:
            async with runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            raise ServiceUnavailable("The database is not reachable.") from exc
        return Response(b'{"status":"ok","database":"ok"}', media_type="application/json")

    if settings.bench_routes:
        from phoneline.bench_routes import install_bench_routes

        install_bench_routes(app)
    return app


def create_app_from_env() -> FastAPI:
    """uvicorn factory entry point (`--factory`), for `phoneline serve` with several workers."""
    return create_app(Settings())
