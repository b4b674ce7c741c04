"""HTTP mode: the WebView as an HTTP client that reads the portal's markers.

It keeps cookies, sends ``Accept-Language`` on every request (spec 2.1.2), submits each
step's ``data-mp-form`` the way a browser would (hidden fields, checked boxes, the
pressed button's ``name=value``) and, instead of running ``portal.js``, reads the
page's ``mp-callback`` block and performs that call as the app would
(docs/activation.md). The portal's script functions cannot run here: their calls are
recorded (``script_calls``) so a scenario can check what the portal would have shown.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlencode, urljoin

import httpx

from mobileplans.kit.urls import origin_of
from mobileplans.simulator.callbacks import BridgeCall, parse_callback_block
from mobileplans.simulator.portal_page import PortalPage, parse_page
from mobileplans.simulator.runlog import StepError

FORM_TYPE = "application/x-www-form-urlencoded"


class HttpPortalDriver:
    mode = "http"

    def __init__(
        self, *, language: str, timeout: float = 15.0, verify: ssl.SSLContext | bool = True
    ) -> None:
        self.language = language
        self.client = httpx.AsyncClient(
            follow_redirects=True,
            timeout=timeout,
            headers={"Accept-Language": language},
            verify=verify,
        )
        self.script_calls: list[tuple[str, str]] = []

    async def _page(self, response: httpx.Response) -> PortalPage:
        return parse_page(response.text, url=str(response.url), status=response.status_code)

    async def open(self, url: str, headers: dict[str, str]) -> PortalPage:
        return await self._page(await self.client.get(url, headers=headers))

    async def submit(
        self, page: PortalPage, values: dict[str, str], *, cancel: bool = False
    ) -> PortalPage:
        form = page.form
        if form is None:
            raise StepError(f"step {page.step!r} has no data-mp-form")
        button = form.cancel_button if cancel else form.next_button
        if button is None:
            marker = "data-mp-cancel" if cancel else "data-mp-next"
            raise StepError(f"form {form.step!r} has no {marker} button")
        unknown = set(values) - form.names()
        if unknown:
            raise StepError(f"form {form.step!r} has no field(s) {sorted(unknown)}")
        pairs = [(k, v) for k, v in form.defaults() if k not in values]
        pairs += list(values.items())
        pairs.append(button)
        target = urljoin(page.url, form.action) if form.action else page.url
        if form.method == "get":
            return await self._page(await self.client.get(target, params=urlencode(pairs)))
        response = await self.client.post(
            target, content=urlencode(pairs), headers={"Content-Type": FORM_TYPE}
        )
        return await self._page(response)

    async def follow(self, page: PortalPage, link: str) -> PortalPage:
        href = page.links.get(link)
        if href is None:
            raise StepError(f"step {page.step!r} has no data-mp-link={link!r}")
        return await self._page(await self.client.get(urljoin(page.url, href)))

    async def bridge_call(self, page: PortalPage) -> BridgeCall | None:
        if page.callback_text is None:
            return None
        return parse_callback_block(page.callback_text, origin=origin_of(page.url))

    async def invoke_script(self, name: str, argument: str, shown_in: str) -> str | None:
        self.script_calls.append((name, argument))
        return None

    async def findings(self, page: PortalPage) -> list[str]:
        return []

    async def close(self) -> None:
        await self.client.aclose()
