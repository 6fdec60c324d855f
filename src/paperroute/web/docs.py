"""The API explorer at /docs: Swagger UI 5, every file from our own origin.

The files come from the pinned `fastapi-offline` package (we use only its
static files); the code that starts it is static/docs-init.js, since the
pages' CSP forbids inline scripts.
"""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["ASSETS", "ASSET_DIR", "router"]

router = APIRouter(include_in_schema=False)

# The package's static folder, found without importing it (its module wraps FastAPI).
_SPEC = importlib.util.find_spec("fastapi_offline")
assert _SPEC is not None and _SPEC.origin is not None, "fastapi-offline is not installed"
ASSET_DIR = Path(_SPEC.origin).parent / "static"
# Only what the page loads.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="{root}/docs/assets/favicon.png">
</head>
<body>
<noscript><p>The API explorer needs JavaScript; the schema itself is at
<a href="{openapi}">{openapi}</a>.</p></noscript>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/static/docs-init.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    root = html.escape(request.scope.get("root_path", "").rstrip("/"))
    openapi = f"{root}{html.escape(request.app.openapi_url or '/openapi.json')}"
    page = _PAGE.format(
        title=html.escape(request.app.title),
        root=root,
        openapi=openapi,
    )
    return HTMLResponse(page, headers={"cache-control": "no-cache"})


@router.get("/docs/assets/{name}")
def api_docs_asset(name: str) -> FileResponse:
    """One of Swagger UI's files; nothing else from the package is served."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no file {name[:80]!r} in the API explorer")
    return FileResponse(
        ASSET_DIR / name,
        media_type=media_type,
        headers={"cache-control": "public, max-age=86400"},
    )
