"""Device-facing catalog (spec 1.2 steps 2-4, 2.1, 2.10, 3.6, 7.3).

Reads come from the in-memory :class:`RegistrySnapshot`; the only write is the
record of each portal launch and its ``transactionId``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from mobileplans.db.models import PortalLaunch
from mobileplans.domains.catalog import repository
from mobileplans.domains.catalog.launch import (
    DeviceContext,
    build_launch_url,
    launch_parameters,
)
from mobileplans.domains.catalog.schemas import Gateway, Provider, ProviderList
from mobileplans.domains.operator_registry.iccid_index import RangeRef
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.operator_registry.snapshot import RegistrySnapshot
from mobileplans.errors import NotFound
from mobileplans.kit.identifiers import IdentifierError, parse_iccid
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
    valid = luhn.is_valid(iccid)
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


def _gateway(operator: OperatorSpec) -> Gateway:
    """Template ``"0"`` unless configured otherwise (spec 2.6: "0" without GetOffers)."""
    templates = operator.gateway_templates
    chosen = next((t for t in templates if t.id == "0"), templates[0] if templates else None)
    if chosen is None:
        return Gateway(template_id="0", template=None)
    return Gateway(template_id=chosen.id, template=chosen.wire())


def _candidates(
    snapshot: RegistrySnapshot, device: DeviceContext, environment: str
) -> list[OperatorSpec]:
    operators = snapshot.providers(environment, device.location)
    if device.iccid is None:
        return operators
    _, owner = resolve_range(snapshot, device.iccid, environment)
    return [op for op in operators if op.id == owner.operator_id]


async def list_providers(
    session: AsyncSession,
    snapshot: RegistrySnapshot,
    device: DeviceContext,
    *,
    environment: str,
    now: datetime,
) -> ProviderList:
    """Operators for the device's country, each with a fresh, recorded portal launch."""
    providers: list[Provider] = []
    launches: list[PortalLaunch] = []
    for operator in _candidates(snapshot, device, environment):
        settings = operator.environments[environment]  # type: ignore[index]
        own = tuple(
            i
            for i in device.iccids
            if (r := snapshot.index.resolve(i, environment)) and r.operator_id == operator.id
        )
        transaction_id = new_transaction_id()
        url = build_launch_url(settings.portal_url, launch_parameters(device, transaction_id, own))
        providers.append(
            Provider(
                mo_id=operator.id,
                brand_name=operator.brand_name,
                logo=operator.logo.wire() if operator.logo else None,
                portal_url=settings.portal_url,
                launch_url=url,
                transaction_id=transaction_id,
                notification_hosts=list(settings.callback_hosts),
                gateway=_gateway(operator),
            )
        )
        launches.append(
            PortalLaunch(
                transaction_id=transaction_id,
                created_at=now,
                operator_id=operator.id,
                environment=environment,
                location=device.location,
                market=device.market,
                imei=device.imei,
                eid=device.eid,
                iccid=device.iccid,
                iccids=list(own),
                portal_url=url,
            )
        )
    repository.add_launches(session, launches)
    return ProviderList(
        location=device.location,
        market=device.market,
        environment=environment,
        providers=providers,
    )


async def purge_launches(session: AsyncSession, *, now: datetime, retention_days: int) -> int:
    """Drop launch records older than the retention period (spec 7.2 #44: >= 90 days)."""
    return await repository.delete_launches_before(session, now - timedelta(days=retention_days))


async def launch_operator(session: AsyncSession, transaction_id: str) -> str | None:
    """The operator a recorded portal launch went to, if the broker handed it out."""
    launch = await repository.get_launch(session, transaction_id)
    return launch.operator_id if launch else None
