"""DM microbalance probe (spec 5.1 DM row, 2.4): provision, then release, for the monitoring SIM.

``PUT {moBaseUrl}/sims/iccid:{ICCID}/microbalance?location=CC`` with body ``{"location":"CC"}``
(the spec describes ``location`` as a query parameter but its example sends it in the body:
we send both), then ``DELETE`` of the same resource with body ``{}``. Each must answer 200
with an empty body or a JSON object. The recorded latency is the slower of the two calls
(each is held to the provisioning API's 400 ms, spec 5.2). No registry flag marks Data
Marketplace operators, so sync never creates this kind: an operator adds it explicitly
(``mobileplans probes add --kind microbalance``).
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import orjson

from mobileplans.config import Environment
from mobileplans.domains.operator_registry.schemas import EnvironmentSettings, OperatorSpec
from mobileplans.domains.probe.kinds.base import (
    Exchange,
    ProbeFailure,
    TlsSetting,
    exchange,
    http_error,
)
from mobileplans.domains.probe.kinds.getbalance import mo_headers, sim_url
from mobileplans.domains.probe.schemas import ClaimedRun, Observation, Outcome, ProbeKindName


def _check(response: Exchange, step: str) -> None:
    if response.status != 200:
        raise http_error(response, step)
    if not response.body.strip():
        return
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError as exc:
        detail = f"{step}: body is not JSON: {exc}"[:300]
        raise ProbeFailure(Outcome.BAD_BODY, detail, response.status) from exc
    if not isinstance(body, dict):
        raise ProbeFailure(Outcome.BAD_BODY, f"{step}: body is not a JSON object", 200)


class MicrobalanceProbe:
    name: ClassVar[ProbeKindName] = ProbeKindName.MICROBALANCE
    synced: ClassVar[bool] = False
    client_certificate: ClassVar[bool] = True

    def target_for(
        self, operator: OperatorSpec, environment: Environment, settings: EnvironmentSettings
    ) -> str | None:
        if not settings.mo_base_url or not operator.monitoring_iccid:
            return None
        url = sim_url(settings.mo_base_url, operator.monitoring_iccid, "microbalance")
        return f"{url}?{urlencode([('location', operator.countries[0])])}"

    async def execute(
        self, http: aiohttp.ClientSession, run: ClaimedRun, tls: TlsSetting
    ) -> Observation:
        parts = urlsplit(run.target_url)
        location = parse_qs(parts.query).get("location", [""])[0]
        resource = parts._replace(query="").geturl()
        provision = await exchange(
            http, "PUT", run.target_url, tls=tls, headers=mo_headers(), json={"location": location}
        )
        _check(provision, "PUT")
        release = await exchange(http, "DELETE", resource, tls=tls, headers=mo_headers(), json={})
        _check(release, "DELETE")
        latency = max(provision.latency_ms, release.latency_ms)
        detail = f"PUT {provision.latency_ms:.0f} ms, DELETE {release.latency_ms:.0f} ms"
        return Observation(Outcome.OK, 200, latency, detail)
