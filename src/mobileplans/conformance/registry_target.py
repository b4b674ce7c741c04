"""``--operator OP --environment staging|production``: the target from the registry.

Read over HTTP like everything else the kit does: ``endpoints.json`` (written by
``mobileplans up``) names the broker and its admin token; ``GET /v1/admin/operators/{id}``
gives the operator's URLs and countries for that environment. The test ICCIDs and the
device data come from ``endpoints.json``'s ``demo`` section (``demo.by_operator.<id>``),
else the operator's monitoring ICCID; with ``up --tls`` the client certificate is the
broker's (the subject the MO API trusts) and the local CA signs the expired one.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from mobileplans.conformance.target import Target, TargetError
from mobileplans.simulator.endpoints import EndpointsError, parse_endpoints

NOT_SERVED_CANDIDATES = ("JP", "BR", "ZA", "AU", "IN")
ENVIRONMENTS = ("staging", "production")


def _read_endpoints(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise TargetError(f"{path} not found: run 'mobileplans up' or pass --endpoints") from exc
    except (OSError, ValueError) as exc:
        raise TargetError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict) or not data.get("broker") or not data.get("admin_token"):
        raise TargetError(f"{path}: needs 'broker' and 'admin_token' (written by mobileplans up)")
    return data


async def fetch_operator(data: dict[str, Any], operator: str) -> dict[str, Any]:
    tls = data.get("tls") or {}
    bundle = tls.get("trust_bundle") or tls.get("ca_file")
    url = f"{str(data['broker']).rstrip('/')}/v1/admin/operators/{operator}"
    headers = {"Authorization": f"Bearer {data['admin_token']}"}
    try:
        verify = ssl.create_default_context(cafile=bundle) if bundle else True
        async with httpx.AsyncClient(verify=verify, timeout=15) as http:
            response = await http.get(url, headers=headers)
    except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
        raise TargetError(f"cannot reach the broker's admin API at {url}: {exc}") from exc
    if response.status_code == 404:
        raise TargetError(f"operator {operator!r} is not in the registry at {data['broker']}")
    if response.status_code != 200:
        raise TargetError(f"GET {url}: HTTP {response.status_code} {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body


def _tls(data: dict[str, Any]) -> dict[str, str]:
    tls = data.get("tls") or {}
    out: dict[str, str] = {}
    cert = tls.get("broker_client_cert")
    if cert:
        out["client_certificate"] = cert
        out["client_key"] = str(Path(cert).with_name(Path(cert).stem + "-key.pem"))
    if tls.get("trust_bundle") or tls.get("ca_file"):
        out["ca_bundle"] = tls.get("trust_bundle") or tls["ca_file"]
    ca = tls.get("ca_file")
    if ca and Path(ca).with_name(Path(ca).stem + "-key.pem").exists():
        out["client_ca_certificate"] = ca
        out["client_ca_key"] = str(Path(ca).with_name(Path(ca).stem + "-key.pem"))
    return out


def _roles(data: dict[str, Any], spec: dict[str, Any], operator: str) -> tuple[dict[str, str], Any]:
    try:
        demo = parse_endpoints(data).for_operator(operator).demo
    except EndpointsError as exc:
        raise TargetError(str(exc)) from exc
    sims = demo.sims
    active = sims.active_prepaid or spec.get("monitoringIccid")
    if not active:
        raise TargetError(
            f"no test ICCID for {operator!r}: endpoints.json demo.by_operator.{operator}.sims "
            "and the registry's monitoringIccid are empty"
        )
    roles = {
        "active": active,
        "zero_balance": sims.zero_balance,
        "not_supported": sims.not_supported,
    }
    return {k: v for k, v in roles.items() if v}, demo


async def target_from_registry(endpoints_file: Path, operator: str, environment: str) -> Target:
    if environment not in ENVIRONMENTS:
        raise TargetError(f"--environment must be staging or production, not {environment!r}")
    data = _read_endpoints(endpoints_file)
    spec = await fetch_operator(data, operator)
    env = (spec.get("environments") or {}).get(environment)
    if not env or not env.get("moBaseUrl"):
        raise TargetError(f"operator {operator!r} has no {environment} MO API in the registry")
    countries = list(spec.get("countries") or [])
    roles, demo = _roles(data, spec, operator)
    stack_operator = data.get("operator")
    document = {
        "operator": operator,
        "environment": environment,
        "mo_base_url": env["moBaseUrl"],
        "portal_url": env["portalUrl"],
        "offer_uri": env.get("offerUri"),
        "notification_uri": env.get("notificationUri"),
        "smdp_url": data.get("smdp"),
        "broker_url": data["broker"],
        "network_url": f"{stack_operator.rstrip('/')}/{operator}/network"
        if stack_operator
        else None,
        "callback_hosts": env.get("callbackHosts") or [],
        "tls": _tls(data),
        "iccids": roles,
        "locations": {
            "served": countries,
            "not_served": next(c for c in NOT_SERVED_CANDIDATES if c not in countries),
        },
        "apis": {
            "get_offers": bool(env.get("offerUri")),
            "get_notifications": bool(env.get("notificationUri")),
        },
        "device": demo.model_dump(),
    }
    try:
        return Target.model_validate(document, context={"base_dir": None})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise TargetError(
            f"the registry's {operator!r} is not a usable target: {where}: {error['msg']}"
        ) from exc
