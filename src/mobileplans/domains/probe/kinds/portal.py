"""Portal probe (spec 5.1 "Xping to the MO portal", 7.2 #32).

``GET {portalUrl}?market=CC&location=CC&transactionId=MPPROBE-<probe id>-<slot epoch>``, the
parameter order of the app's launch URL (spec 2.1.1), with ``Accept-Language: en-us``
(2.1.2). ``CC`` is the operator's first country. Redirects are followed (at most 5), as the
app's WebView would; the final answer must be 2xx with a non-empty body.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlencode

import aiohttp

from mobileplans.config import Environment
from mobileplans.domains.operator_registry.schemas import EnvironmentSettings, OperatorSpec
from mobileplans.domains.probe.kinds.base import (
    ProbeFailure,
    TlsSetting,
    exchange,
    http_error,
)
from mobileplans.domains.probe.schemas import ClaimedRun, Observation, Outcome, ProbeKindName

HEADERS = {"Accept-Language": "en-us"}


def probe_transaction_id(run: ClaimedRun) -> str:
    """A dummy ``transactionId`` a portal can recognise: ``MPPROBE-<probe>-<slot epoch>``."""
    return f"MPPROBE-{run.probe_id}-{int(run.scheduled_at.timestamp())}"


class PortalProbe:
    name: ClassVar[ProbeKindName] = ProbeKindName.PORTAL
    synced: ClassVar[bool] = True
    client_certificate: ClassVar[bool] = False

    def target_for(
        self, operator: OperatorSpec, environment: Environment, settings: EnvironmentSettings
    ) -> str | None:
        country = operator.countries[0]
        separator = "&" if "?" in settings.portal_url else "?"
        query = urlencode([("market", country), ("location", country)])
        return f"{settings.portal_url}{separator}{query}"

    async def execute(
        self, http: aiohttp.ClientSession, run: ClaimedRun, tls: TlsSetting
    ) -> Observation:
        separator = "&" if "?" in run.target_url else "?"
        url = f"{run.target_url}{separator}transactionId={probe_transaction_id(run)}"
        response = await exchange(http, "GET", url, tls=tls, headers=HEADERS, follow_redirects=True)
        if not 200 <= response.status < 300:
            raise http_error(response)
        if not response.body.strip():
            raise ProbeFailure(Outcome.BAD_BODY, "empty body", response.status)
        return Observation(Outcome.OK, response.status, response.latency_ms)
