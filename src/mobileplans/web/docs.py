"""``/docs``: Swagger UI served from the package, so the page works without internet.

FastAPI's own ``/docs`` loads Swagger UI from a CDN; each app passes ``docs_url=None,
redoc_url=None`` and calls :func:`serve_api_docs`, which serves the page and the Swagger UI
5 files (OpenAPI 3.1, which FastAPI writes) of the ``swagger-ui-py`` package (decision
D101) from the app itself.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse


def _swagger_ui_files() -> Path:
    """The ``static`` folder of the ``swagger-ui-py`` package (found, not imported)."""
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (pip install swagger-ui-py)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


SWAGGER_UI = _swagger_ui_files()
DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"


def serve_api_docs(api: FastAPI) -> None:
    """Add ``/docs`` (Swagger UI of ``api.openapi_url``) and its assets to ``api``."""
    openapi_url = api.openapi_url or "/openapi.json"
    api.mount(ASSETS_URL, StaticFiles(directory=SWAGGER_UI), name="swagger-ui")

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
