"""The ASGI application. `create_app(settings)` builds it; nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from phoneline import __version__
from phoneline.api.docs import install_docs, limits_description
from phoneline.api.handlers import install_error_handlers
from phoneline.api.middleware import RequestContextMiddleware, RequestLimitsMiddleware
from phoneline.api.openapi import install_openapi
from phoneline.api.routers import install_routers
from phoneline.attachments.store import LOCAL_PATH
from phoneline.chats.sending import Sending
from phoneline.dashboard.wiring import install_dashboard
from phoneline.logging import configure_logging
from phoneline.reputation.pacing_guard import PacingGuard, pacing_views
from phoneline.runtime import Runtime
from phoneline.settings import Settings
from phoneline.worker import EmbeddedJobs


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.start(settings)
        app.state.runtime = runtime
        sending = app.state.sending = await Sending.start(runtime, PacingGuard(settings))
        # Embedded mode: the job runtime in this process (worker.py decides which tasks).
        jobs = EmbeddedJobs(settings, runtime.sessions, sending, clock=sending.clock)
        app.state.jobs = jobs
        try:
            yield
        finally:
            await jobs.stop()
            await sending.close()
            await runtime.close()

    app = FastAPI(
        title="phoneline",
        version=__version__,
        summary="The phone-line slice of the Linq Partner API v3, self-hosted.",
        description=limits_description(settings.max_body_bytes, settings.max_header_bytes),
        lifespan=lifespan,
        # /docs is served from phoneline's own files (api/docs.py); no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    # Domains below reputation take what it computes from here, never by importing it.
    app.state.line_pacing = pacing_views
    install_error_handlers(app, settings.base_url)
    install_openapi(app)
    # Added innermost first: the request context wraps the limits, so refusals carry a trace id and
    # are logged like everything else.
    app.add_middleware(
        RequestLimitsMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        doc_base=settings.base_url,
        # An upload to the embedded store streams up to the attachment's declared size (checked there).
        body_limits=[(LOCAL_PATH + "/", settings.attachment_max_bytes)],
    )
    app.add_middleware(
        RequestContextMiddleware, doc_base=settings.base_url, https=settings.base_url.startswith("https://")
    )

    install_routers(app)
    install_dashboard(app, settings)
    install_docs(app)

    return app


def create_app_from_env() -> FastAPI:
    """uvicorn factory entry point (`--factory`), for `phoneline serve` with several workers."""
    return create_app(Settings())
