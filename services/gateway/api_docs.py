"""`/docs` (Swagger UI) and `/redoc` served by the gateway itself, so they work offline: the
viewers' files come from the `fastapi-offline` wheel (PyPI) rather than FastAPI's default CDN,
and each page runs only script files (`pages/swagger-init.js`), no inline script, under
security_headers.py's docs policy."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse

from services.gateway.errors import NotFound

VIEWER_FILES = Path(str(files("fastapi_offline") / "static"))
OWN_FILES = Path(__file__).resolve().parent / "pages"
ASSETS = {"swagger-ui-bundle.js": (VIEWER_FILES, "text/javascript"), "swagger-ui.css": (VIEWER_FILES, "text/css"),
          "redoc.standalone.js": (VIEWER_FILES, "text/javascript"), "favicon.png": (VIEWER_FILES, "image/png"),
          "swagger-init.js": (OWN_FILES, "text/javascript")}
ASSETS_PATH = "/docs-assets"
# FastAPI's own documentation routes, which point at its CDN.
CDN_DOCS_ROUTES = {"/docs", "/docs/oauth2-redirect", "/redoc"}

SWAGGER_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{title}} - Swagger UI</title>
<link rel="icon" href="{ASSETS_PATH}/favicon.png"><link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head><body><div id="swagger-ui" data-openapi-url="{{openapi_url}}"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script><script src="{ASSETS_PATH}/swagger-init.js"></script>
</body></html>"""
REDOC_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{title}} - ReDoc</title>
<link rel="icon" href="{ASSETS_PATH}/favicon.png"></head>
<body><redoc spec-url="{{openapi_url}}"></redoc><script src="{ASSETS_PATH}/redoc.standalone.js"></script>
</body></html>"""


def install_api_docs(app: FastAPI) -> None:
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) not in CDN_DOCS_ROUTES]
    page = {"title": app.title, "openapi_url": app.openapi_url}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE.format(**page))

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE.format(**page))

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise NotFound(f"no docs asset {name}")
        folder, media_type = ASSETS[name]
        return FileResponse(folder / name, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})
