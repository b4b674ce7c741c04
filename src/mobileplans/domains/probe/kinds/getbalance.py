"""GetBalance probe (spec 5.1, 2.3): the operator's monitoring ICCID, ``fieldsTemplate=basic``.

``GET {moBaseUrl}/sims/iccid:{ICCID}/balances?fieldsTemplate=basic`` with a fresh
``X-MS-DM-TransactionId`` (sent with its quotes, spec 2.9) and the platform's client
certificate when one is configured (spec 2.8). Expects 200 and a body the broker's GetBalance
client accepts (``balance.mo_client.parse_balances``: a ``balances`` array whose entries
have a ``type``); anything else is ``bad_body`` naming what was wrong.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

import aiohttp
import orjson

from mobileplans.config import Environment
from mobileplans.domains.balance.mo_client import parse_balances
from mobileplans.domains.operator_registry.schemas import EnvironmentSettings, OperatorSpec
from mobileplans.domains.probe.kinds.base import (
    ProbeFailure,
    TlsSetting,
    exchange,
    http_error,
)
from mobileplans.domains.probe.schemas import ClaimedRun, Observation, Outcome, ProbeKindName
from mobileplans.kit.ids import new_ms_dm_transaction_id
from mobileplans.kit.urls import join_base


def sim_url(mo_base_url: str, iccid: str, resource: str) -> str:
    """``{moBaseUrl}/sims/iccid:{ICCID}/{resource}``, the SIM id as the spec's examples write it."""
    return join_base(mo_base_url, f"sims/{quote('iccid:' + iccid)}/{resource}")


def mo_headers() -> dict[str, str]:
    return {"X-MS-DM-TransactionId": f'"{new_ms_dm_transaction_id()}"'}


class GetBalanceProbe:
    name: ClassVar[ProbeKindName] = ProbeKindName.GETBALANCE
    synced: ClassVar[bool] = True
    client_certificate: ClassVar[bool] = True

    def target_for(
        self, operator: OperatorSpec, environment: Environment, settings: EnvironmentSettings
    ) -> str | None:
        if not settings.mo_base_url or not operator.monitoring_iccid:
            return None
        url = sim_url(settings.mo_base_url, operator.monitoring_iccid, "balances")
        return f"{url}?fieldsTemplate=basic"

    async def execute(
        self, http: aiohttp.ClientSession, run: ClaimedRun, tls: TlsSetting
    ) -> Observation:
        response = await exchange(http, "GET", run.target_url, tls=tls, headers=mo_headers())
        if response.status != 200:
            raise http_error(response)
        try:
            parse_balances(response.body)
        except orjson.JSONDecodeError as exc:
            detail = f"body is not JSON: {exc}"[:300]
            raise ProbeFailure(Outcome.BAD_BODY, detail, response.status) from exc
        except (ValueError, TypeError) as exc:
            raise ProbeFailure(Outcome.BAD_BODY, str(exc)[:300], response.status) from exc
        return Observation(Outcome.OK, response.status, response.latency_ms)
