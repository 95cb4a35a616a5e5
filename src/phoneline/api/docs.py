"""`/docs`: Swagger UI for phoneline's own OpenAPI document, every file served by phoneline itself.

FastAPI's page loads Swagger UI from a CDN and starts it with an inline script; this one takes the files
from the fastapi-offline package and starts from `/docs/assets/start-swagger-ui.js`, so it renders offline
and under the Content-Security-Policy of every HTML page (api/middleware.py), which allows no inline
script. ReDoc is not offered: its styling needs inline styles.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
SWAGGER_FILES = Path(fastapi_offline.__file__).parent / "static"
START_SCRIPT = Path(__file__).parent / "static" / "start-swagger-ui.js"


def limits_description(max_body_bytes: int, max_header_bytes: int) -> str:
    """The request limits, for the OpenAPI document's description (the field maxima are in the schemas)."""
    return (
        '**Limits** (checked before anything is parsed or authenticated; docs/api.md, "Limits"): '
        f"a request body over {max_body_bytes} bytes is 413 and request line plus headers over "
        f"{max_header_bytes} bytes are 431, both code 1003 in the error envelope. Every list and string "
        "in a body or query has a maximum (`maxItems`, `maxLength` below); past it, 400 with a 1xxx code. "
        "Text holding NUL or a lone surrogate is 400 (1004 in a message, 1003 elsewhere) and nothing is "
        "stored. URLs phoneline calls or hands on must be https to public addresses (400, code 1005)."
    )


def _page(title: str, openapi_url: str) -> bytes:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API docs</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_PATH}/start-swagger-ui.js"></script>
</body>
</html>
""".encode()


def install_docs(app: FastAPI) -> None:
    """Mount the page and its files; the app is created with FastAPI's own docs pages turned off."""
    page = _page(app.title, app.openapi_url or "/openapi.json")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page)

    # Before the mount: the start script is ours, not among fastapi-offline's files.
    @app.get(f"{ASSETS_PATH}/start-swagger-ui.js", include_in_schema=False)
    async def start_script() -> FileResponse:
        return FileResponse(START_SCRIPT, media_type="text/javascript")

    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_FILES), name="docs-assets")
