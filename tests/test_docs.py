"""Docs move with code: the committed OpenAPI documents are the ones the code generates;
each app's /docs works without internet."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Route, sync_playwright
from starlette.types import ASGIApp

from mobileplans.cli.serve_cmd import PARTS, build_app, openapi_document
from mobileplans.config import Settings
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker
from tests.support import free_port

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("part", PARTS)
def test_committed_openapi_is_current(part: str) -> None:
    committed = json.loads((DOCS / "openapi" / f"{part}.json").read_text())
    assert committed == json.loads(json.dumps(openapi_document(part))), (
        f"regenerate with: mobileplans openapi {part} > docs/openapi/{part}.json"
    )


def docs_app(part: str, tmp_path: Path) -> ASGIApp:
    """A part as `mobileplans serve` builds it (its database is never touched by /docs)."""
    config = tmp_path / "operator.yaml"
    config.write_text(
        "sites: [{operator_id: contoso, brand_name: Contoso, countries: [US], "
        "es2plus_url: 'https://smdp.example', es2plus_requester_id: contoso-bss}]\n"
        "public_base_url: https://operator.example\nsession_secret: s\n"
    )
    sessions = make_sessionmaker(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
    return build_app(
        part,
        Settings(data_dir=tmp_path),
        sessions,
        token="t",
        config=config,
        smdp_address="127.0.0.1:8702",
        public_url="http://127.0.0.1:8702",
    )


@pytest.mark.parametrize("part", PARTS)
async def test_api_docs_page_is_served_without_internet(part: str, tmp_path: Path) -> None:
    """Issue #8 item 3: /docs loads Swagger UI from the app itself, never from a CDN."""
    app = docs_app(part, tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', page.text)
        assert len(assets) >= 3  # stylesheet, icon, script
        assert not re.search(r"https?://|//[a-z]", page.text.replace("window.location.origin", ""))
        for url in [*assets, "/openapi.json", "/docs/oauth2-redirect"]:
            assert url.startswith("/"), url
            response = await client.get(url)
            assert response.status_code == 200, url
            assert response.content, url
        assert b"SwaggerUIBundle" in (await client.get(assets[-1])).content


@pytest.mark.browser
@pytest.mark.parametrize("part", PARTS)
def test_api_docs_render_in_chromium_with_no_request_leaving_the_host(
    part: str, tmp_path: Path
) -> None:
    """The page does not only load: Swagger UI renders the operations (a Swagger UI that
    cannot read OpenAPI 3.1 shows a blank page with all assets served)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(docs_app(part, tmp_path), host="127.0.0.1", port=port, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    outside: list[str] = []
    try:
        while not server.started:
            time.sleep(0.05)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
            page = browser.new_page()

            def only_local(route: Route) -> None:
                if route.request.url.startswith(f"http://127.0.0.1:{port}/"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(f"http://127.0.0.1:{port}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            assert page.locator(".opblock").count() > 0
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert outside == []
