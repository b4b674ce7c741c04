"""Shared pieces of the console's browser tests: the console served by uvicorn on a real
127.0.0.1 socket, and a Chromium page that records console errors and aborts (and
records) any request leaving that server. Each test asserts both lists are empty.
``screenshot`` saves a page to the test's tmp dir and, with ``MP_TEST_ARTIFACTS`` set,
to ``$MP_TEST_ARTIFACTS/<test name>/`` as well."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    async_playwright,
)

from mobileplans.apps.console.app import ConsoleApp
from mobileplans.simulator.browser_mode import CHROMIUM, CHROMIUM_ARGS
from tests.support import free_port


@pytest.fixture
async def served(console: ConsoleApp) -> AsyncIterator[str]:
    """The console on a free 127.0.0.1 port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(console, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@dataclass
class Guarded:
    """A browser whose pages report console errors and outside requests."""

    base: str
    browser: Browser
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    async def context(self, width: int = 1280, height: int = 800) -> BrowserContext:
        context = await self.browser.new_context(viewport={"width": width, "height": height})
        await context.route("**/*", self._only_local)
        return context

    async def page(self, context: BrowserContext) -> Page:
        page = await context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        return page

    async def sign_in(self, page: Page, token: str) -> None:
        await page.goto(f"{self.base}/signin")
        await page.fill("#token", token)
        await page.click("button[type=submit]")
        await page.wait_for_load_state("networkidle")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    async def _only_local(self, route: Route) -> None:
        if route.request.url.startswith(self.base + "/"):
            await route.continue_()
        else:
            self.outside.append(route.request.url)
            await route.abort()


@asynccontextmanager
async def guarded_browser(base: str) -> AsyncIterator[Guarded]:
    """Debian's Chromium (never a downloaded one); on exit, asserts no console error and
    no request outside ``base``."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        guarded = Guarded(base, browser)
        try:
            yield guarded
        finally:
            await browser.close()
    assert guarded.errors == [], guarded.errors
    assert guarded.outside == [], guarded.outside


def artifact_dir() -> Path | None:
    """``$MP_TEST_ARTIFACTS/<test name>/`` (made on first use) when that variable is set:
    where CI collects the screenshots of the running test; None otherwise."""
    root = os.environ.get("MP_TEST_ARTIFACTS")
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    if not root or not current:
        return None
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", current.split("::")[-1].split(" ")[0])
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def screenshot(page: Page, tmp_path: Path, name: str, *, full_page: bool = True) -> Path:
    """A screenshot ``<name>.png`` in the test's ``tmp_path``, and a copy in
    :func:`artifact_dir` when ``MP_TEST_ARTIFACTS`` is set; returns the ``tmp_path`` one."""
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    folder = artifact_dir()
    if folder is not None:
        shutil.copyfile(path, folder / path.name)
    return path
