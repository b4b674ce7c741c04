"""``/docs``: Swagger UI served from the package, so the page works without internet.

FastAPI's own ``/docs`` loads Swagger UI from a CDN; each app passes ``docs_url=None,
redoc_url=None`` and calls :func:`serve_api_docs`, which serves the page and the Swagger UI
files of the ``swagger-ui-bundle`` package (decision D101) from the app itself.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"


def serve_api_docs(api: FastAPI) -> None:
    """Add ``/docs`` (Swagger UI of ``api.openapi_url``) and its assets to ``api``."""
    openapi_url = api.openapi_url or "/openapi.json"
    api.mount(ASSETS_URL, StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @api.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{api.title} - API reference",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url=f"{DOCS_URL}/oauth2-redirect",
            swagger_ui_parameters={"validatorUrl": None},  # no call to the public validator
        )

    @api.get(f"{DOCS_URL}/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
