"""Every domain's HTTP routes, mounted in one place: the partner API under `/api/partner`, then the
admin API and the operational endpoints.

This is where the HTTP package depends on the domains (never the other way round): a domain exposes
its `routes.py` / `admin_routes.py` router and knows nothing of where it is mounted.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from phoneline.attachments.routes import router as attachments_router
from phoneline.chats.admin_routes import router as admin_activity_router
from phoneline.chats.bridge_routes import router as bridge_router
from phoneline.chats.routes import router as chats_router
from phoneline.lines.admin_routes import router as admin_lines_router
from phoneline.lines.routes import router as lines_router
from phoneline.notify.admin_routes import router as admin_alerts_router
from phoneline.ops.routes import router as ops_router
from phoneline.partners.admin_routes import router as admin_partners_router
from phoneline.reputation.routes import router as reputation_router
from phoneline.webhooks.admin_routes import router as admin_webhooks_router
from phoneline.webhooks.routes import router as webhooks_router

PARTNER_API_PREFIX = "/api/partner"

# Mounting order is the order of the OpenAPI document's operations.
PARTNER_ROUTERS: tuple[APIRouter, ...] = (
    lines_router,
    chats_router,
    webhooks_router,
    reputation_router,
    attachments_router,
)
ADMIN_ROUTERS: tuple[APIRouter, ...] = (
    bridge_router,
    admin_partners_router,
    admin_lines_router,
    admin_activity_router,
    admin_webhooks_router,
    admin_alerts_router,
)


def install_routers(app: FastAPI) -> None:
    for router in PARTNER_ROUTERS:
        app.include_router(router, prefix=PARTNER_API_PREFIX)
    for router in ADMIN_ROUTERS:
        app.include_router(router)
    app.include_router(ops_router)
