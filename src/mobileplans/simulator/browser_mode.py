"""Browser mode: the WebView as Debian's Chromium driven by Playwright (spec 7.3).

The bridge (``bridge.js``: ``MobilePlansInlineOperations``, ``MobilePlans`` with
``createPurchaseMetaData``, the ``MobilePlansInlineProfile(Download)`` aliases,
``DataMart`` and the enum objects) is added with ``add_init_script`` so it exists before
any portal script runs, on pages of the provider's notification hosts only (spec 2.2).
Each bridge call reaches Python through ``expose_binding``; the app then runs the LPA and
calls the page's registered script functions by name with ``page.evaluate``, as the real
app's ``InvokeScriptAsync`` does, so the portal's own JavaScript shows the results.

Chromium is ``/usr/bin/chromium`` (never a downloaded browser), headless, in an 800×600
viewport (spec 2.1: the WebView's default frame) with a fresh user-data directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from importlib import resources
from types import TracebackType
from typing import Any

from playwright.async_api import (
    BrowserContext,
    Page,
    Playwright,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError

from mobileplans.kit.esim import ESimOperationStatus
from mobileplans.simulator.callbacks import BridgeCall, normalize_scripts
from mobileplans.simulator.device import RegistrationState
from mobileplans.simulator.meta import ACCOUNT_VALUES, MO_DIRECT_STATUS_VALUES
from mobileplans.simulator.portal_page import PortalPage, parse_page
from mobileplans.simulator.runlog import StepError

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 800, "height": 600}
CALL_WAIT_SECONDS = 10.0
NAVIGATION_MS = 20_000
APP_ERRORS = (  # MobilePlansActivationError values raised by the app itself (spec 2.2.4)
    "unknownError",
    "lpaInitializationError",
    "modemNotFound",
    "localSettingsAccessFailed",
    "invalidJson",
    "invalidActivationCode",
    "invalidIccid",
)


def _member(value: str) -> str:
    return value[0].lower() + value[1:]


def enum_objects() -> dict[str, dict[str, str]]:
    """The JS enum objects: documented members, PascalCase values (spec 2.2.4, 7.1 #14)."""
    account = {_member(v): v for v in ACCOUNT_VALUES}
    errors = [s.activation_error for s in ESimOperationStatus] + list(APP_ERRORS)
    enums = {
        "MobilePlansUserAccount": account,
        "MobilePlansPurchaseInstrument": dict(account),
        "MobilePlansLineType": dict(account),
        "MobilePlansMoDirectStatus": {_member(v): v for v in MO_DIRECT_STATUS_VALUES},
        "MobilePlansNetworkRegistrationState": {s.value: s.value for s in RegistrationState},
        "MobilePlansActivationError": {e: e for e in errors},
    }
    drafts = {  # the 2018 drafts' DataMart* names (appendix A)
        "DataMartUserAccount": "MobilePlansUserAccount",
        "DataMartPurchaseInstrument": "MobilePlansPurchaseInstrument",
        "DataMartLineType": "MobilePlansLineType",
        "DataMartMoDirectStatus": "MobilePlansMoDirectStatus",
    }
    enums.update({draft: dict(enums[current]) for draft, current in drafts.items()})
    return enums


def bridge_script(allowed_origins: tuple[str, ...]) -> str:
    source = resources.files("mobileplans.simulator").joinpath("bridge.js").read_text()
    return source.replace("__MP_ALLOWED_ORIGINS__", json.dumps(list(allowed_origins))).replace(
        "__MP_ENUMS__", json.dumps(enum_objects())
    )


def call_from_payload(payload: str) -> BridgeCall:
    data = json.loads(payload)
    scripts = data.get("scripts") if isinstance(data.get("scripts"), dict) else {}
    return BridgeCall(
        object=str(data.get("object", "")),
        function=str(data.get("function", "")),
        args=tuple(data.get("args") or ()),
        scripts=normalize_scripts(scripts),
        origin=data.get("origin"),
    )


class BrowserSession:
    """One Playwright driver process; each WebView gets its own Chromium profile."""

    def __init__(self, *, executable: str = CHROMIUM, local_ca: bool = False) -> None:
        """``local_ca``: the stack serves certificates of a CA Chromium's store lacks
        (``mobileplans up --tls``); certificate errors are then ignored in the browser
        (HTTP mode verifies the same certificates against that CA)."""
        self.executable = executable
        self.local_ca = local_ca
        self._playwright: Playwright | None = None

    async def __aenter__(self) -> BrowserSession:
        self._playwright = await async_playwright().start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._playwright is not None:
            await self._playwright.stop()

    async def new_driver(self, language: str, allowed: tuple[str, ...]) -> BrowserPortalDriver:
        assert self._playwright is not None, "use BrowserSession as an async context manager"
        if not os.path.exists(self.executable):  # noqa: ASYNC240 (one stat, before the browser starts)
            raise RuntimeError(
                f"no browser at {self.executable}: install Debian's Chromium "
                "(apt-get install -y chromium); the simulator never downloads one"
            )
        user_data = tempfile.mkdtemp(prefix="mp-webview-")
        try:
            context = await self._playwright.chromium.launch_persistent_context(
                user_data,
                executable_path=self.executable,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport=VIEWPORT,  # type: ignore[arg-type]
                locale=language,
                extra_http_headers={"Accept-Language": language},
                ignore_https_errors=self.local_ca,
            )
        except Exception:
            shutil.rmtree(user_data, ignore_errors=True)
            raise
        driver = BrowserPortalDriver(context, user_data)
        await driver.install(bridge_script(allowed))
        return driver


class BrowserPortalDriver:
    mode = "browser"

    def __init__(self, context: BrowserContext, user_data: str) -> None:
        self.context = context
        self.user_data = user_data
        self.calls: asyncio.Queue[BridgeCall] = asyncio.Queue()
        self.page_errors: list[str] = []
        self._page: Page | None = None

    @property
    def page(self) -> Page:
        assert self._page is not None
        return self._page

    async def install(self, script: str) -> None:
        await self.context.expose_binding("__mobilePlansBridge", self._on_call)
        await self.context.add_init_script(script)
        pages = self.context.pages
        self._page = pages[0] if pages else await self.context.new_page()
        self._page.set_default_timeout(NAVIGATION_MS)
        self._page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    async def _on_call(self, source: dict[str, Any], payload: str) -> None:
        self.calls.put_nowait(call_from_payload(payload))

    async def _snapshot(self, status: int) -> PortalPage:
        html = await self.page.content()
        return parse_page(html, url=self.page.url, status=status)

    async def open(self, url: str, headers: dict[str, str]) -> PortalPage:
        extra = {k: v for k, v in headers.items() if k.lower() != "accept-language"}
        await self.page.set_extra_http_headers(extra)
        try:
            response = await self.page.goto(url, wait_until="load")
        finally:
            await self.page.set_extra_http_headers({})
        return await self._snapshot(response.status if response else 0)

    async def submit(
        self, page: PortalPage, values: dict[str, str], *, cancel: bool = False
    ) -> PortalPage:
        form = self.page.locator(f"form[data-mp-form={json.dumps(page.step or '')}]")
        if await form.count() == 0:
            raise StepError(f"step {page.step!r} has no data-mp-form")
        for name, value in values.items():
            await self._fill(form, name, value)
        marker = "[data-mp-cancel]" if cancel else "[data-mp-next]"
        return await self._click(form.locator(marker), f"{page.step} {marker}")

    async def _fill(self, form: Any, name: str, value: str) -> None:
        fields = form.locator(f"[name={json.dumps(name)}]")
        if await fields.count() == 0:
            raise StepError(f"form has no field {name!r}")
        first = fields.first
        tag = str(await first.evaluate("e => e.tagName")).lower()
        kind = (await first.get_attribute("type") or tag).lower()
        if kind == "radio":
            await form.locator(f"[name={json.dumps(name)}][value={json.dumps(value)}]").check()
        elif kind == "checkbox":
            await first.check()
        elif tag == "select":
            await first.select_option(value)
        else:
            await first.fill(value)

    async def _click(self, target: Any, what: str) -> PortalPage:
        if await target.count() == 0:
            raise StepError(f"nothing to click for {what}")
        try:
            async with self.page.expect_navigation(wait_until="load") as navigation:
                await target.first.click()
            response = await navigation.value
        except PlaywrightError as exc:
            raise StepError(f"{what}: no navigation ({exc.message.splitlines()[0]})") from exc
        return await self._snapshot(response.status if response else 0)

    async def follow(self, page: PortalPage, link: str) -> PortalPage:
        anchor = self.page.locator(f"a[data-mp-link={json.dumps(link)}]")
        return await self._click(anchor, f"link {link!r}")

    async def bridge_call(self, page: PortalPage) -> BridgeCall | None:
        wait = CALL_WAIT_SECONDS if page.callback_text is not None else 0.5
        try:
            return await asyncio.wait_for(self.calls.get(), timeout=wait)
        except TimeoutError:
            return None

    async def invoke_script(self, name: str, argument: str, shown_in: str) -> str | None:
        present = await self.page.evaluate("n => typeof window[n] === 'function'", name)
        if not present:
            raise StepError(f"the portal registered {name!r} but defines no such function")
        await self.page.evaluate("([n, a]) => { window[n](a); }", [name, argument])
        shown = await self.page.evaluate(
            "id => { const e = document.getElementById(id); return e ? e.innerText : null; }",
            shown_in,
        )
        return " ".join(shown.split()) if isinstance(shown, str) else None

    async def findings(self, page: PortalPage) -> list[str]:
        found = [f"script error: {error}" for error in self.page_errors]
        self.page_errors.clear()
        widths = await self.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        if widths[0] > widths[1]:
            found.append(
                f"horizontal overflow at 800×600: content {widths[0]}px wide in {widths[1]}px"
            )
        return found

    async def close(self) -> None:
        try:
            await self.context.close()
        finally:
            shutil.rmtree(self.user_data, ignore_errors=True)
