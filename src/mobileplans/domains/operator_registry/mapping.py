"""Conversions between ORM rows and :class:`OperatorSpec`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mobileplans.config import Environment
from mobileplans.db.models import (
    IccidRange,
    Operator,
    OperatorContact,
    OperatorEnvironment,
)
from mobileplans.domains.operator_registry.iccid_index import RangeRef
from mobileplans.domains.operator_registry.schemas import (
    IccidRangeIn,
    IccidRangeRead,
    OperatorSpec,
)

TRUSTED = {"url_policy": "local"}
"""Rows were validated on the way in; re-reading them must not fail on policy."""


def range_read(row: IccidRange) -> IccidRangeRead:
    return IccidRangeRead(
        id=row.id,
        operator_id=row.operator_id,
        environment=Environment(row.environment),
        start=row.start_iccid,
        end=row.end_iccid,
        kind=row.kind,
    )


def range_ref(row: IccidRange) -> RangeRef:
    return RangeRef(
        row.operator_id,
        row.environment,
        row.start_iccid,
        row.end_iccid,
        row.kind,
        row.id,
    )


def spec_range_ref(operator_id: str, rng: IccidRangeIn) -> RangeRef:
    return RangeRef(operator_id, rng.environment.value, rng.start, rng.end, rng.kind.value)


def to_spec(row: Operator) -> OperatorSpec:
    data: dict[str, Any] = {
        "id": row.id,
        "brandName": row.brand_name,
        "countries": row.countries,
        "plmns": row.plmns,
        "phonePrefixes": row.phone_prefixes or None,
        "logo": row.logo,
        "gatewayTemplates": row.gateway_templates,
        "monitoringIccid": row.monitoring_iccid,
        "onboardingPhase": row.onboarding_phase,
        "iccidLenient": row.iccid_lenient,
        "callbackApi": row.callback_api,
        "timezone": row.timezone,
        "environments": {
            env.environment: {
                "portalUrl": env.portal_url,
                "moBaseUrl": env.mo_base_url,
                "offerUri": env.offer_uri,
                "notificationUri": env.notification_uri,
                "callbackHosts": list(env.callback_hosts),
                "enabled": env.enabled,
            }
            for env in sorted(row.environments, key=lambda e: e.environment)
        },
        "contacts": [
            {
                "severity": c.severity,
                "environment": c.environment,
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
            }
            for c in sorted(row.contacts, key=lambda c: c.id or 0)
        ],
        "iccidRanges": [
            {
                "environment": r.environment,
                "start": r.start_iccid,
                "end": r.end_iccid,
                "kind": r.kind,
            }
            for r in sorted(row.iccid_ranges, key=lambda r: (r.environment, r.start_iccid))
        ],
    }
    return OperatorSpec.model_validate(data, context=TRUSTED)


def apply_spec(row: Operator, spec: OperatorSpec, now: datetime) -> None:
    """Write ``spec`` onto ``row`` (loaded with its children), all but the ICCID ranges."""
    row.brand_name = spec.brand_name
    row.countries = list(spec.countries)
    row.plmns = list(spec.plmns)
    row.phone_prefixes = list(spec.phone_prefixes) if spec.phone_prefixes else None
    row.logo = spec.logo.wire() if spec.logo else None
    row.gateway_templates = [t.wire() for t in spec.gateway_templates]
    row.monitoring_iccid = spec.monitoring_iccid
    row.onboarding_phase = spec.onboarding_phase.value
    row.iccid_lenient = spec.iccid_lenient
    row.callback_api = spec.callback_api.value
    row.timezone = spec.timezone
    row.updated_at = now
    row.environments = [
        OperatorEnvironment(
            environment=env.value,
            portal_url=s.portal_url,
            mo_base_url=s.mo_base_url,
            offer_uri=s.offer_uri,
            notification_uri=s.notification_uri,
            callback_hosts=list(s.callback_hosts),
            enabled=s.enabled,
        )
        for env, s in spec.environments.items()
    ]
    row.contacts = [
        OperatorContact(
            severity=c.severity.value,
            environment=c.environment.value if c.environment else None,
            name=c.name,
            email=c.email,
            phone=c.phone,
        )
        for c in spec.contacts
    ]


def split_ranges(row: Operator, spec: OperatorSpec) -> tuple[list[IccidRange], list[IccidRange]]:
    """The range rows to keep and the ones to add; the caller removes the rest first."""
    wanted = {(r.environment.value, r.start, r.end, r.kind.value) for r in spec.iccid_ranges}
    kept = [
        r for r in row.iccid_ranges if (r.environment, r.start_iccid, r.end_iccid, r.kind) in wanted
    ]
    have = {(r.environment, r.start_iccid, r.end_iccid, r.kind) for r in kept}
    added = [
        IccidRange(environment=env, start_iccid=start, end_iccid=end, kind=kind)
        for env, start, end, kind in sorted(wanted - have)
    ]
    return kept, added
