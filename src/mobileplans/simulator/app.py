"""The Mobile Plans app (spec 1.1 A1/A2): providers, gateway, portal launch, flyout, telemetry.

What happens when the portal calls the bridge lives in :mod:`.fulfillment`.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from mobileplans.kit.clock import Clock
from mobileplans.kit.urls import origin_of
from mobileplans.simulator.clients import (
    BrokerClient,
    NetworkClient,
    Provider,
    SmdpDeviceClient,
    get_balance,
)
from mobileplans.simulator.device import Device
from mobileplans.simulator.driver import PortalDriver
from mobileplans.simulator.endpoints import Endpoints
from mobileplans.simulator.lpa import Lpa, LpaErrorLog
from mobileplans.simulator.meta import PurchaseMeta
from mobileplans.simulator.portal_page import PortalPage
from mobileplans.simulator.runlog import ScenarioRun, StepError, StepResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Purchase:
    """One callback the app handled, as reported to the broker's telemetry."""

    transaction_id: str
    operator_id: str
    callback: str
    meta: PurchaseMeta
    iccid: str | None = None


@dataclass
class Flyout:
    """What the network flyout shows (spec 1.10): an action and an optional balance."""

    action: str
    balance_text: str | None
    balances: list[dict[str, Any]] = field(default_factory=list)

    def data_mb(self) -> float | None:
        values = [b.get("dataRemaininginMB") for b in self.balances]
        numbers = [float(v) for v in values if isinstance(v, int | float)]
        return sum(numbers) if numbers else None


class MobilePlansApp:
    def __init__(
        self,
        device: Device,
        *,
        endpoints: Endpoints,
        http: httpx.AsyncClient,
        clock: Clock,
    ) -> None:
        self.device = device
        self.endpoints = endpoints
        self.http = http
        self.clock = clock
        self.broker = BrokerClient(http, endpoints.broker) if endpoints.broker else None
        self.errors = LpaErrorLog(device.tz)
        self.lpa = (
            Lpa(
                device.euicc,
                imei=device.imei,
                smdp_for=lambda address: SmdpDeviceClient(http, endpoints.smdp_base(address)),
                clock=clock,
                errors=self.errors,
            )
            if device.euicc is not None
            else None
        )
        self.delay_minute_seconds = endpoints.demo.delay_minute_seconds
        self.purchases: list[Purchase] = []

    def network(self, operator_id: str | None) -> NetworkClient | None:
        base = self.endpoints.network_base(operator_id) if operator_id else None
        return NetworkClient(self.http, base) if base else None

    async def discover(self, run: ScenarioRun, operator_id: str) -> Provider:
        """Get Providers (spec 1.2 step 2): the operator must be offered, list sorted."""
        async with run.step("providers") as step:
            if self.broker is None:
                provider = direct_provider(self.endpoints, operator_id, self.device)
                step.skip(
                    "not observable: no broker; the device launches the operator's portal "
                    "itself, as the service would (2.1.1)"
                )
                return provider
            query = self.device.provider_query()
            catalog = self.endpoints.demo.catalog_environment
            if catalog and not self._holds_sim_of(operator_id):
                query["environment"] = catalog  # no SIM to test with in production (D167)
                step.note(f"no SIM of {operator_id}: asks the {catalog} catalog")
            _, providers = await self.broker.providers(query)
            names = [p.brand_name for p in providers]
            if names != sorted(names, key=str.casefold):
                step.fail(f"providers are not sorted by brand name: {names}")
            chosen = next((p for p in providers if p.mo_id == operator_id), None)
            if chosen is None:
                raise StepError(
                    f"{operator_id!r} not offered in {self.device.location}: "
                    f"{[p.mo_id for p in providers]}"
                )
            step.note(
                f"{len(providers)} provider(s): {', '.join(names)}; chose {chosen.brand_name}"
            )
            return chosen

    def _holds_sim_of(self, operator_id: str) -> bool:
        """A physical SIM or an eSIM profile of the operator (its production test range)."""
        if self.device.sim is not None:
            return True
        euicc = self.device.euicc
        return euicc is not None and bool(euicc.iccids(operator_id))

    async def gateway(self, run: ScenarioRun, provider: Provider) -> None:
        """The gateway page (spec 1.2 step 3): template text and the brand logo."""
        async with run.step("gateway") as step:
            if not provider.gateway:
                step.skip("not observable: no broker, so no gateway template")
                return
            template = provider.gateway.get("template") or {}
            button = template.get("buttonText", "Continue")
            step.note(f"template {provider.gateway.get('templateId', '?')}, button {button!r}")
            logo = (provider.logo or {}).get("uri")
            if logo:
                finding = await self._check_png(logo, (300, 300))
                if finding:
                    run.finding(f"gateway logo: {finding}")
            step.note(f"user presses {button!r}")

    async def _check_png(self, url: str, size: tuple[int, int]) -> str | None:
        try:
            response = await self.http.get(url)
        except httpx.HTTPError as exc:
            return f"{url} unreachable ({type(exc).__name__})"
        body = response.content
        if response.status_code != 200 or body[:8] != PNG_SIGNATURE or len(body) < 24:
            return f"{url} is not a PNG (HTTP {response.status_code})"
        width, height = struct.unpack(">II", body[16:24])
        return (
            None
            if (width, height) == size
            else f"{url} is {width}×{height}, not {size[0]}×{size[1]}"
        )

    def launch_headers(self, *, reentry: bool = False) -> dict[str, str]:
        """``Accept-Language`` always (2.1.2); the LPA error headers on re-entry (2.1.3)."""
        headers = {"Accept-Language": self.device.language}
        if reentry:
            headers.update(self.errors.headers())
        return headers

    async def open_portal(
        self,
        run: ScenarioRun,
        driver: PortalDriver,
        provider: Provider,
        *,
        reentry: bool = False,
    ) -> PortalPage:
        """Open the WebView on the broker's launch URL (spec 2.1)."""
        name = "portal re-entry" if reentry else "portal launch"
        async with run.step(name) as step:
            self._check_launch_url(run, provider)
            headers = self.launch_headers(reentry=reentry)
            page = await driver.open(provider.launch_url, headers)
            if page.status >= 400 or page.step is None:
                raise StepError(
                    f"HTTP {page.status}, data-mp-step={page.step!r}: {page.text[:160]}"
                )
            sent = ", ".join(k for k in headers if k.startswith("X-MP-"))
            step.note(f"transactionId {provider.transaction_id} → step {page.step!r}")
            if sent:
                step.note(f"sent {sent}")
            for finding in await driver.findings(page):
                run.finding(f"{page.step}: {finding}")
            return page

    def _check_launch_url(self, run: ScenarioRun, provider: Provider) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(provider.launch_url).query).items()}
        device = self.device
        expected = {"market": device.market, "location": device.location, "imei": device.imei}
        expected["transactionId"] = provider.transaction_id
        if device.sim is not None:
            expected["iccid"] = device.sim.iccid
        else:
            assert device.euicc is not None
            expected["eid"] = device.euicc.eid
        for name, value in expected.items():
            if query.get(name, "").upper() != value.upper():
                raise StepError(f"launch URL {name}={query.get(name)!r}, expected {value!r}")
        if device.sim is not None and ("eid" in query or "iccids" in query):
            raise StepError("a physical-SIM launch URL must not carry eid or iccids (2.1.1)")
        if device.euicc is not None and "iccid" in query:
            raise StepError("an eSIM launch URL must not carry iccid (2.1.1, eras B/C)")
        if len(provider.transaction_id) > 64:
            run.finding("transactionId longer than 64 characters (2.1.1)")

    async def flyout(self, run: ScenarioRun, iccid: str | None) -> Flyout | None:
        """Open the network flyout: the broker proxies GetBalance (spec 1.10, 7.3)."""
        async with run.step("flyout") as step:
            if iccid is None:
                step.skip("no active line")
                return None
            if self.broker is None:
                return await self._direct_flyout(step, iccid)
            answer = await self.broker.balances(iccid, self.device.location)
            if answer.missing:
                step.skip(f"broker has no GET /v1/balances yet (HTTP {answer.status_code})")
                return None
            if answer.status_code != 200 or not isinstance(answer.body, dict):
                raise StepError(f"GET /v1/balances: HTTP {answer.status_code} {answer.body!r:.200}")
            flyout = _flyout(answer.body)
            label = {"connectWithDataPlan": "Connect with a data plan"}.get(
                flyout.action, "View my account"
            )
            step.note(label + (f" — {flyout.balance_text}" if flyout.balance_text else ""))
            return flyout

    async def _direct_flyout(self, step: StepResult, iccid: str) -> Flyout | None:
        """Without a broker: GetBalance from the operator's MO API, as the service would."""
        operator = _operator_of_line(self.device, iccid)
        entry = self.endpoints.operator_entry(operator) if operator else None
        if entry is None or not entry.mo_base_url:
            step.skip("not observable: no broker and no mo_base_url for GetBalance")
            return None
        async with httpx.AsyncClient(verify=self.endpoints.mo_api_verify(), timeout=15) as http:
            answer = await get_balance(http, entry.mo_base_url, iccid, self.device.location)
        if answer.status_code != 200 or not isinstance(answer.body, dict):
            raise StepError(f"GetBalance (direct): HTTP {answer.status_code} {answer.body!r:.200}")
        flyout = flyout_from_balances(answer.body)
        step.note(f"GetBalance (direct, no broker): {flyout.balance_text or flyout.action}")
        return flyout

    async def report_purchase(self, run: ScenarioRun, purchase: Purchase, *, valid: bool) -> None:
        """``POST /v1/telemetry/purchase`` with the callback metadata (spec 2.2.3 FAQ, 5.8)."""
        self.purchases.append(purchase)
        async with run.step("telemetry") as step:
            body = {
                "transactionId": purchase.transaction_id,
                "operatorId": purchase.operator_id,
                "callback": purchase.callback,
                **{k: v for k, v in purchase.meta.wire().items() if v is not None},
            }
            if purchase.iccid:
                body["iccid"] = purchase.iccid
            if self.broker is None:
                step.skip("not observable: no broker to report to")
                return
            answer = await self.broker.telemetry(body)
            if answer.missing:
                step.skip(
                    f"broker has no POST /v1/telemetry/purchase yet (HTTP {answer.status_code})"
                )
            elif 200 <= answer.status_code < 300:
                step.note(f"recorded for {purchase.transaction_id}")
            elif not valid and 400 <= answer.status_code < 500:
                step.note(f"broker refused the invalid metadata (HTTP {answer.status_code})")
            else:
                step.fail(f"HTTP {answer.status_code}: {answer.body!r:.200}")


def direct_provider(endpoints: Endpoints, operator_id: str, device: Device) -> Provider:
    """The provider as the service would list it, from endpoints.json (no broker).

    The launch URL carries the eras B/C parameters of spec 2.1.1 for this device.
    """
    entry = endpoints.operator_entry(operator_id)
    if entry is None or not entry.portal_url:
        raise StepError(f"no broker, and endpoints.json has no portal_url for {operator_id!r}")
    transaction_id = f"{secrets.token_urlsafe(12)}.1"
    query = {"market": device.market, "location": device.location, "transactionId": transaction_id}
    query.update({k: v for k, v in device.provider_query().items() if k not in query})
    query.pop("iccids", None)
    if device.euicc is not None and device.euicc.iccids(operator_id):
        query["iccids"] = ",".join(device.euicc.iccids(operator_id))  # this MO's only (2.1.1)
    separator = "&" if "?" in entry.portal_url else "?"
    hosts = tuple(entry.callback_hosts) or (origin_of(entry.portal_url),)
    return Provider(
        mo_id=operator_id,
        brand_name=entry.name or operator_id,
        launch_url=f"{entry.portal_url}{separator}{urlencode(query)}",
        transaction_id=transaction_id,
        notification_hosts=hosts,
        gateway={},
        logo=None,
    )


CONSUMABLE_TYPES = ("MODIRECT", "MODIRECTPAYG", "PAYG")


def flyout_from_balances(body: dict[str, Any]) -> Flyout:
    """What the flyout shows for a GetBalance answer (spec 1.10, 2.3): the first balance."""
    balances = [b for b in body.get("balances", []) if isinstance(b, dict)]
    first = balances[0] if balances else {}
    kind = str(first.get("type", "NONE")).upper()
    if kind not in CONSUMABLE_TYPES:
        return Flyout("connectWithDataPlan", None, balances)
    data = first.get("dataRemaininginMB", first.get("dataRemainingInMB"))
    text = f"{data} MB, {first.get('timeRemaining', '?')}" if kind != "MODIRECT" else None
    return Flyout("viewMyAccount", text, balances)


def _operator_of_line(device: Device, iccid: str) -> str | None:
    if device.sim is not None:
        return device.sim.operator_id
    assert device.euicc is not None
    profile = device.euicc.profile(iccid)
    return profile.operator_id if profile else None


def _flyout(body: dict[str, Any]) -> Flyout:
    flyout = body.get("flyout") if isinstance(body.get("flyout"), dict) else {}
    assert isinstance(flyout, dict)
    balances = [b for b in body.get("balances", []) if isinstance(b, dict)]
    text = flyout.get("balanceText")
    return Flyout(str(flyout.get("action", "")), text if isinstance(text, str) else None, balances)
