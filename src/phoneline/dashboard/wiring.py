"""Mounts the dashboard: static files, guide/partner/console routers, sessions on dashboard paths only."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from phoneline.dashboard.console_routes import router as console_router
from phoneline.dashboard.partner_routes import router as partner_router
from phoneline.dashboard.routes import router as guides_router
from phoneline.dashboard.session import SESSION_COOKIE, LoginRequired, session_secret
from phoneline.dashboard.tooling_routes import router as tooling_router
from phoneline.settings import Settings

SESSION_PATHS = ("/dashboard", "/console", "/guides")


class DashboardSessions:
    """Session cookies for dashboard paths only: the partner API never pays for cookie parsing."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.with_sessions = SessionMiddleware(
            app,
            secret_key=session_secret(settings),
            session_cookie=SESSION_COOKIE,
            # The record decides when a session ends (logins/); the cookie never outlives that.
            max_age=int(settings.session_max_s),
            same_site="strict",
            https_only=settings.base_url.startswith("https://"),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(SESSION_PATHS):
            await self.with_sessions(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    async def to_login(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(exc.login_path, status_code=303)

    app.add_exception_handler(LoginRequired, to_login)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(guides_router)
    app.include_router(partner_router)
    app.include_router(tooling_router)
    app.include_router(console_router)

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/dashboard", status_code=307)

    app.add_middleware(DashboardSessions, settings=settings)
