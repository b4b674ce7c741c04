"""Device-facing catalog (spec 1.2 steps 2-4, 2.1, 2.10, 3.6, 7.3).

Reads come from the in-memory :class:`RegistrySnapshot`; the only write is the
record of each portal launch and its ``transactionId``, stored in batches by
:class:`~mobileplans.domains.catalog.launch_log.LaunchLog` before the answer goes out.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mobileplans.db.reads import Reads
from mobileplans.domains.catalog import repository
from mobileplans.domains.catalog.launch import (
    DeviceContext,
    build_launch_url,
    launch_parameters,
)
from mobileplans.domains.catalog.launch_log import LaunchRow
from mobileplans.domains.operator_registry.iccid_index import RangeRef
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.operator_registry.snapshot import RegistrySnapshot
from mobileplans.errors import NotFound
from mobileplans.kit.identifiers import IdentifierError, luhn_valid, parse_iccid
from mobileplans.kit.ids import new_transaction_id

_BAD_CHECK_DIGIT = "has a wrong Luhn check digit"


def resolve_range(
    snapshot: RegistrySnapshot, raw_iccid: str, environment: str
) -> tuple[str, RangeRef]:
    """The ICCID (canonical) and the range holding it; 400 if malformed, 404 if in no range.

    The Luhn check digit is enforced unless the owning operator is ``iccidLenient``.
    """
    iccid = parse_iccid(raw_iccid, lenient=True)
    owner = snapshot.index.resolve(iccid, environment)
    valid = luhn_valid(iccid)
    if owner is None:
        if not valid:
            raise IdentifierError("iccid", _BAD_CHECK_DIGIT, raw_iccid)
        raise NotFound(f"ICCID {iccid} is in no configured range in {environment}", iccid=iccid)
    if not valid and not snapshot.operators[owner.operator_id].iccid_lenient:
        raise IdentifierError("iccid", _BAD_CHECK_DIGIT, raw_iccid)
    return iccid, owner


def sim_record(snapshot: RegistrySnapshot, raw_iccid: str, environment: str) -> dict[str, Any]:
    """The wire body of ``GET /v1/sims/{iccid}`` (schema ``SimRead``)."""
    iccid, owner = resolve_range(snapshot, raw_iccid, environment)
    return {
        "iccid": iccid,
        "operatorId": owner.operator_id,
        "brandName": snapshot.operators[owner.operator_id].brand_name,
        "environment": owner.environment,
        "rangeKind": owner.kind,
        "rangeStart": owner.start,
        "rangeEnd": owner.end,
    }


def _gateway(operator: OperatorSpec) -> dict[str, Any]:
    """Template ``"0"`` unless configured otherwise (spec 2.6: "0" without GetOffers)."""
    templates = operator.gateway_templates
    chosen = next((t for t in templates if t.id == "0"), templates[0] if templates else None)
    if chosen is None:
        return {"templateId": "0", "template": None}
    return {"templateId": chosen.id, "template": chosen.wire()}


@dataclass(frozen=True, slots=True)
class _Offer:
    """What a provider entry carries besides its launch: fixed per snapshot."""

    operator_id: str
    brand_name: str
    logo: dict[str, Any] | None
    portal_url: str
    notification_hosts: list[str]
    gateway: dict[str, Any]


def _offer(operator: OperatorSpec, environment: str) -> _Offer:
    settings = operator.environments[environment]  # type: ignore[index]
    return _Offer(
        operator_id=operator.id,
        brand_name=operator.brand_name,
        logo=operator.logo.wire() if operator.logo else None,
        portal_url=settings.portal_url,
        notification_hosts=list(settings.callback_hosts),
        gateway=_gateway(operator),
    )


class ProviderCatalog:
    """Builds ``GET /v1/providers`` answers (schema ``ProviderList``) from a snapshot.

    The per-operator parts that do not change between requests (logo, gateway
    template, hosts) are built once per snapshot; only the launch URL and its
    ``transactionId`` are new in each answer.
    """

    def __init__(self) -> None:
        self._snapshot: RegistrySnapshot | None = None
        self._offers: dict[tuple[str, str], list[_Offer]] = {}

    def _offers_for(
        self, snapshot: RegistrySnapshot, environment: str, location: str
    ) -> list[_Offer]:
        if snapshot is not self._snapshot:
            self._snapshot, self._offers = snapshot, {}
        key = (environment, location)
        offers = self._offers.get(key)
        if offers is None:
            operators = snapshot.providers(environment, location)
            offers = self._offers[key] = [_offer(op, environment) for op in operators]
        return offers

    def answer(
        self, snapshot: RegistrySnapshot, device: DeviceContext, *, environment: str, now: datetime
    ) -> tuple[dict[str, Any], list[LaunchRow]]:
        """The wire body and the launch records it hands out (to store before answering).

        Raises (400/404) before building anything when the device's SIM is in no range.
        """
        offers = self._offers_for(snapshot, environment, device.location)
        if device.iccid is not None:
            _, owner = resolve_range(snapshot, device.iccid, environment)
            offers = [o for o in offers if o.operator_id == owner.operator_id]
        if environment == "production":
            offers = [o for o in offers if _offered(snapshot, o.operator_id, device)]
        owners = _owners(snapshot, device.iccids, environment) if offers else {}
        providers: list[dict[str, Any]] = []
        launches: list[LaunchRow] = []
        for offer in offers:
            own = owners.get(offer.operator_id, ())
            transaction_id = new_transaction_id()
            params = launch_parameters(device, transaction_id, own)
            url = build_launch_url(offer.portal_url, params)
            providers.append(_provider(offer, url, transaction_id))
            launches.append(_launch_row(device, offer, own, transaction_id, url, environment, now))
        body = {
            "location": device.location,
            "market": device.market,
            "environment": environment,
            "providers": providers,
        }
        return body, launches


def _offered(snapshot: RegistrySnapshot, operator_id: str, device: DeviceContext) -> bool:
    """Production offers an operator once launched; before that only to a device whose SIM
    is in one of its production *test* ranges (spec 4.3/4.5, issue #9, D146)."""
    if snapshot.operators[operator_id].onboarding_phase == "launched":
        return True
    for raw in device.iccids + ((device.iccid,) if device.iccid else ()):
        try:
            owner = snapshot.index.resolve(parse_iccid(raw, lenient=True), "production")
        except IdentifierError:
            continue
        if owner is not None and owner.operator_id == operator_id and owner.kind == "test":
            return True
    return False


def _owners(
    snapshot: RegistrySnapshot, iccids: tuple[str, ...], environment: str
) -> dict[str, tuple[str, ...]]:
    """The device's eSIM profiles grouped by the operator whose range holds them."""
    owners: dict[str, tuple[str, ...]] = {}
    for iccid in iccids:
        ref = snapshot.index.resolve(iccid, environment)
        if ref is not None:
            owners[ref.operator_id] = (*owners.get(ref.operator_id, ()), iccid)
    return owners


def _provider(offer: _Offer, url: str, transaction_id: str) -> dict[str, Any]:
    return {
        "moId": offer.operator_id,
        "brandName": offer.brand_name,
        "logo": offer.logo,
        "portalUrl": offer.portal_url,
        "launchUrl": url,
        "transactionId": transaction_id,
        "notificationHosts": offer.notification_hosts,
        "gateway": offer.gateway,
    }


def _launch_row(
    device: DeviceContext,
    offer: _Offer,
    own: tuple[str, ...],
    transaction_id: str,
    url: str,
    environment: str,
    now: datetime,
) -> LaunchRow:
    return {
        "transaction_id": transaction_id,
        "created_at": now,
        "operator_id": offer.operator_id,
        "environment": environment,
        "location": device.location,
        "market": device.market,
        "imei": device.imei,
        "eid": device.eid,
        "iccid": device.iccid,
        "iccids": list(own),
        "portal_url": url,
    }


async def save_launches(session: AsyncSession, rows: list[LaunchRow]) -> None:
    """Store a batch of launch records (the edge's transaction; see ``launch_log``)."""
    await repository.insert_launches(await session.connection(), rows)


async def save_launches_on(connection: AsyncConnection, rows: list[LaunchRow]) -> None:
    """The same on a connection whose transaction the edge holds (the broker's writer)."""
    await repository.insert_launches(connection, rows)


def save_launches_sqlite(connection: sqlite3.Connection, rows: list[LaunchRow]) -> None:
    """The same on a plain ``sqlite3`` connection (the broker's launch writer thread)."""
    repository.insert_launches_sqlite(connection, rows)


async def purge_launches(session: AsyncSession, *, now: datetime, retention_days: int) -> int:
    """Drop launch records older than the retention period (spec 7.2 #44: >= 90 days)."""
    return await repository.delete_launches_before(session, now - timedelta(days=retention_days))


async def launch_operator(source: AsyncSession | Reads, transaction_id: str) -> str | None:
    """The operator a recorded portal launch went to, if the broker handed it out."""
    launch = await repository.launch_operator(source, transaction_id)
    return launch.operator_id if launch else None
