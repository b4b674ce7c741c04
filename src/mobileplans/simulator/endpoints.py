"""What the simulator needs to know about the stack it tests: ``endpoints.json``.

``mobileplans up`` writes the file into its data directory; to test a third-party
operator, write one by hand with the same shape (docs/simulator.md). It needs a
``broker`` URL, or an operator entry with a ``portal_url`` (then the device launches the
portal itself, as the service would, and reads balances from the operator's MO API with
``mo_api`` credentials). The SM-DP+ and operator URLs tell the LPA which scheme an
SM-DP+ address uses and where a core-network stand-in listens, if there is one.
"""

from __future__ import annotations

import functools
import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_DELAY_MINUTE_SECONDS = 60.0


class EndpointsError(ValueError):
    """endpoints.json is missing, unreadable or lacks what a scenario needs."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class OperatorEntry(_Model):
    id: str
    name: str = ""
    countries: list[str] = Field(default_factory=list)
    portal_url: str | None = None
    mo_base_url: str | None = None
    network_url: str | None = None
    callback_hosts: list[str] = Field(default_factory=list)


class ExistingAccount(_Model):
    operator: str
    email: str
    password: str
    iccid: str
    eid: str


class DemoSims(_Model):
    active_prepaid: str | None = None
    zero_balance: str | None = None
    not_supported: str | None = None
    warm_sim: str | None = None
    warm_sims: list[str] = Field(default_factory=list)
    monitoring_iccid: str | None = None

    def warm_candidates(self) -> list[str]:
        """Warm SIMs to try, in order (``warm_sims`` then ``warm_sim``), no duplicates."""
        seen = [*self.warm_sims, *([self.warm_sim] if self.warm_sim else [])]
        return list(dict.fromkeys(seen))


class DemoPlans(_Model):
    prepaid: str | None = None
    postpaid: str | None = None
    delayed: str | None = None


class OperatorDemo(_Model):
    """Per-operator demo data (``demo.by_operator.<id>``): overrides the top-level items."""

    sims: DemoSims | None = None
    accounts: dict[str, ExistingAccount] | None = None
    plans: DemoPlans | None = None
    phone_number: str | None = None
    catalog_environment: str | None = None


class DemoData(_Model):
    operators: list[str] = Field(default_factory=list)
    eids: list[str] = Field(default_factory=list)
    sims: DemoSims = Field(default_factory=DemoSims)
    accounts: dict[str, ExistingAccount] = Field(default_factory=dict)
    plans: DemoPlans = Field(default_factory=DemoPlans)
    delay_minute_seconds: float = Field(default=DEFAULT_DELAY_MINUTE_SECONDS, gt=0)
    location: str = "US"
    phone_number: str | None = None
    """The user's number: first-run eSIM starts with its lookup (seed 001, issue #9)."""
    imei: str | None = None
    language: str = "en-US"
    catalog_environment: str | None = None
    """Where a device with no SIM asks for providers (``GET /v1/providers?environment=``):
    for an operator in onboarding, which production offers only to SIMs of its test range
    (D146), ``staging``, as its "E2E functional in staging" does (D167). Unset: the broker's."""
    by_operator: dict[str, OperatorDemo] = Field(default_factory=dict)


class StackTls(_Model):
    """``mobileplans up --tls``: the stack's local CA (and a bundle with the system roots)."""

    ca_file: str | None = None
    trust_bundle: str | None = None


class MoApiAccess(_Model):
    """How the device side reads GetBalance without a broker (the service's credentials)."""

    client_cert: str | None = None
    client_key: str | None = None


class Endpoints(_Model):
    broker: str | None = None
    operator: str | None = None
    smdp: str | None = None
    environment: str = "production"
    operators: list[OperatorEntry] = Field(default_factory=list)
    demo: DemoData = Field(default_factory=DemoData)
    tls: StackTls | None = None
    mo_api: MoApiAccess | None = None

    def trust_bundle(self) -> str | None:
        """The stack's local CA bundle the device trusts beside the system roots, if any."""
        return (self.tls and (self.tls.trust_bundle or self.tls.ca_file)) or None

    def verify(self) -> ssl.SSLContext:
        """What the device trusts: the system roots, plus the stack's local CA if any.

        One context per bundle for the whole process, shared by every client: building
        one reads the system's roots (tens of milliseconds of CPU), which a simulator
        running 50 devices would otherwise pay for every HTTP client of every flow."""
        return _trust_context(self.trust_bundle())

    def operator_entry(self, operator_id: str) -> OperatorEntry | None:
        return next((o for o in self.operators if o.id == operator_id), None)

    def network_base(self, operator_id: str) -> str | None:
        """The operator's core-network stand-in: the entry's ``network_url``, else the one
        of our reference operator app (``operator``); ``None`` when there is none."""
        entry = self.operator_entry(operator_id)
        if entry is not None and entry.network_url:
            return entry.network_url.rstrip("/")
        if self.operator is None:
            return None
        return f"{self.operator.rstrip('/')}/{operator_id}/network"

    def smdp_base(self, address: str) -> str:
        """Base URL of an SM-DP+ address from an activation code (``host[:port]``).

        The address names no scheme: a known SM-DP+ (``smdp`` here) keeps its scheme,
        any other is reached over https (SGP.22 ES9+ is TLS-only).
        """
        if self.smdp and urlsplit(self.smdp).netloc.lower() == address.lower():
            return self.smdp.rstrip("/")
        return f"https://{address}"

    def for_operator(self, operator_id: str) -> Endpoints:
        """The demo data as seen when testing ``operator_id`` (``by_operator`` wins)."""
        specific = self.demo.by_operator.get(operator_id)
        if specific is None:
            return self
        update = {k: v for k, v in specific if v is not None}
        return self.model_copy(update={"demo": self.demo.model_copy(update=update)})

    def mo_api_verify(self) -> ssl.SSLContext:
        """What the device trusts, plus the ``mo_api`` client certificate, for GetBalance
        (a context of its own: the shared one of :meth:`verify` is never changed)."""
        access = self.mo_api
        if access is None or not access.client_cert:
            return self.verify()
        context = _new_trust_context(self.trust_bundle())
        try:
            context.load_cert_chain(access.client_cert, access.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise EndpointsError(f"mo_api client certificate {access.client_cert}: {exc}") from exc
        return context

    def with_broker(self, broker: str | None) -> Endpoints:
        return self if broker is None else self.model_copy(update={"broker": broker})


def _new_trust_context(bundle: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if bundle:
        try:
            context.load_verify_locations(cafile=bundle)
        except (OSError, ssl.SSLError) as exc:
            raise EndpointsError(f"tls CA bundle {bundle}: {exc}") from exc
    return context


@functools.lru_cache(maxsize=16)
def _trust_context(bundle: str | None) -> ssl.SSLContext:
    """The shared client context for ``bundle`` (a failed load is not cached: it raises)."""
    return _new_trust_context(bundle)


def load_endpoints(path: Path) -> Endpoints:
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise EndpointsError(f"{path} not found: run 'mobileplans up' or pass --endpoints") from exc
    except (OSError, ValueError) as exc:
        raise EndpointsError(f"{path} is not readable JSON: {exc}") from exc
    return parse_endpoints(data, source=str(path))


def parse_endpoints(data: Any, *, source: str = "endpoints.json") -> Endpoints:
    if not isinstance(data, dict):
        raise EndpointsError(f"{source}: needs a JSON object (docs/simulator.md)")
    try:
        endpoints = Endpoints.model_validate(data)
    except ValidationError as exc:
        where = ".".join(str(part) for part in exc.errors()[0]["loc"])
        raise EndpointsError(f"{source}: {where}: {exc.errors()[0]['msg']}") from exc
    if not endpoints.broker and not any(o.portal_url for o in endpoints.operators):
        raise EndpointsError(
            f"{source}: needs a 'broker' URL or an operator with a 'portal_url' (docs/simulator.md)"
        )
    return endpoints
