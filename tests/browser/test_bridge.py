"""The injected JavaScript bridge in Debian's Chromium, against a page served on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mobileplans.simulator.browser_mode import BrowserSession, bridge_script, enum_objects
from mobileplans.simulator.portal_page import PortalPage

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<script>
  window.seen = {
    ops: typeof MobilePlansInlineOperations,
    complete: MobilePlansMoDirectStatus.complete,
    home: MobilePlansNetworkRegistrationState.home,
    space: MobilePlansActivationError.insufficientSpaceOnCard,
    aliasSame: MobilePlansInlineProfileDownload.notifyInlineProfileDownload !== undefined,
  };
  function act(args) {
    document.getElementById("mp-activation-result").textContent = JSON.parse(args).activationResult;
  }
  window.addEventListener("DOMContentLoaded", () => {
    const meta = MobilePlans.createPurchaseMetaData();
    meta.userAccount = MobilePlansUserAccount.new;
    meta.moDirectStatus = MobilePlansMoDirectStatus.complete;
    meta.planName = "Contoso 5 GB";
    MobilePlansInlineProfileDownload.profileActivationCompleteScript = "act";
    MobilePlansInlineOperations.RegistrationCompleteScript = "reg";
    window.context = MobilePlansInlineOperations.notifyProfileDownload(meta, "1$127.0.0.1:1$AB");
  });
</script></head>
<body><main data-mp-step="confirmation"><div id="mp-activation-result"></div>
<div style="width: WIDTHpx">wide</div></main></body></html>"""


class Handler(BaseHTTPRequestHandler):
    width = 100

    def do_GET(self) -> None:
        body = PAGE.replace("WIDTH", self.path.strip("/") or "100").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def page_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_enum_objects_carry_the_documented_members() -> None:
    enums = enum_objects()
    assert enums["MobilePlansUserAccount"] == {
        "new": "New",
        "existing": "Existing",
        "bailed": "Bailed",
        "none": "None",
    }
    assert enums["MobilePlansMoDirectStatus"]["cancelled"] == "Cancelled"
    assert enums["MobilePlansMoDirectStatus"]["invalidSIM"] == "InvalidSIM"
    assert set(enums["MobilePlansNetworkRegistrationState"]) == {
        "none",
        "deregistered",
        "searching",
        "home",
        "roaming",
        "partner",
        "denied",
    }
    errors = enums["MobilePlansActivationError"]
    assert errors["noCorrespondingRequest"] == "noCorrespondingRequest"
    assert errors["invalidJson"] == "invalidJson"
    assert len(errors) == 31
    script = bridge_script(("http://127.0.0.1:1",))
    assert "__MP_" not in script
    assert json.dumps(["http://127.0.0.1:1"]) in script


async def test_the_portal_calls_the_app_and_shows_the_script_result(page_server: str) -> None:
    async with BrowserSession() as session:
        driver = await session.new_driver("fr-FR", (page_server,))
        try:
            page = await driver.open(f"{page_server}/100", {"Accept-Language": "fr-FR"})
            assert isinstance(page, PortalPage)
            assert page.step == "confirmation"
            call = await driver.bridge_call(replace(page, callback_text="{}"))
            assert call is not None
            assert call.name == "MobilePlansInlineOperations.notifyProfileDownload"
            assert call.origin == page_server
            assert call.args[0]["moDirectStatus"] == "Complete"
            assert call.args[0]["line"] is None  # createPurchaseMetaData leaves it unset
            assert call.scripts == {
                "profileActivationCompleteScript": "act",
                "registrationChangedScript": "reg",
            }
            seen = await driver.page.evaluate("window.seen")
            assert seen == {
                "ops": "object",
                "complete": "Complete",
                "home": "home",
                "space": "insufficientSpaceOnCard",
                "aliasSame": True,
            }
            context = await driver.page.evaluate("window.context")
            assert context["Id"].startswith("mp-op-")
            shown = await driver.invoke_script(
                "act",
                json.dumps({"activationResult": "success", "iccid": "1"}),
                "mp-activation-result",
            )
            assert shown == "success"
            assert await driver.findings(page) == []
            wide = await driver.open(f"{page_server}/1200", {})
            findings = await driver.findings(wide)
            assert any("horizontal overflow at 800×600" in f for f in findings)
        finally:
            await driver.close()


async def test_pages_of_other_hosts_get_no_bridge(page_server: str) -> None:
    async with BrowserSession() as session:
        driver = await session.new_driver("en-US", ("https://portal.contoso.example",))
        try:
            page = await driver.open(f"{page_server}/100", {})
            assert await driver.page.evaluate("typeof MobilePlansInlineOperations") == "undefined"
            assert await driver.bridge_call(page) is None
            errors = await driver.findings(page)
            assert any("script error" in e for e in errors)  # the page's own code fails
        finally:
            await driver.close()
