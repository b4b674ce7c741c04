"""A misbehaving operator: a plausible MO API and portal on 127.0.0.1, over real TLS, with
switchable faults. Without faults it answers as the spec wants; each fault breaks one
documented rule so the tests can show which conformance case catches it.

It runs in a thread with its own event loop (uvicorn, ``web.tls``: a client certificate
is requested, must chain to the fixture's CA, and reaches the app through the ASGI TLS
extension), so both in-process runs and CLI invocations can reach it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mobileplans.kit import certs
from mobileplans.kit.identifiers import IdentifierError, parse_country
from mobileplans.web.server import Listener, make_server
from mobileplans.web.tls import server_ssl_context
from tests.support import free_port

ACTIVE = "8901999000000000012"
ZERO = "8901999000000000020"
NOT_SUPPORTED = "8901999000000000038"
INT_MAX = 2147483647
SUBJECT = certs.BROKER_SUBJECT
HEADER = "X-MS-DM-TransactionId"

FAULTS = frozenset(
    {
        "accepts_missing_certificate",  # no certificate → 200 instead of 401
        "accepts_expired_certificate",  # expired → 200 instead of 401
        "subject_not_checked",  # another subject → 200 instead of 403
        "no_client_auth",  # the listener asks for no certificate at all
        "unknown_sim_200",  # unknown SIM → 200 NONE instead of 404
        "location_not_validated",  # bad / unknown location → 200
        "limit_not_validated",  # negative / overflowing limit → 200
        "fields_template_not_validated",  # fieldsTemplate=nope → 200
        "empty_parameters_400",  # limit= (empty) → 400 instead of "absent"
        "zero_balance_404",  # zero balance → 404 instead of 200 NONE
        "not_supported_404",  # excluded SIM → 404 instead of NOTSUPPORTED
        "wrong_casing",  # Type / DataRemainingInMb / TimeRemaining
        "transaction_id_optional",  # missing X-MS-DM-TransactionId → 200
        "missing_echo",  # never echoes X-MS-DM-TransactionId
        "echo_unquoted",  # echoes it without its quotes
        "no_echo_on_errors",  # echoes it on 200s only
        "conflict_on_repeat",  # a repeated transaction id → 409
        "slow",  # every MO API answer takes 500 ms
        "offers_ignore_limit",  # GetOffers returns 2 offers for limit=1
        "offers_limit_optional",  # GetOffers without limit → 200
        "notifications_wrong_shape",  # {"items": []} instead of {"notifications": [...]}
        "portal_rejects_unknown_parameters",  # unknown launch parameter → error page
        "portal_error_without_callback",  # bad launch → bare 400, nothing for the app
    }
)


@dataclass
class Misbehaving:
    directory: Path
    faults: set[str] = field(default_factory=set)
    port: int = 0
    seen_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        now = datetime.now(UTC)
        ca = certs.make_ca("CN=Misbehaving Operator Client CA", now=now)
        self.ca = ca.write(self.directory, "client-ca")
        self.client = certs.issue_client(ca, SUBJECT, now=now).write(self.directory, "client")
        server_ca = certs.make_ca("CN=Misbehaving Operator Server CA", now=now)
        self.server_ca = server_ca.write(self.directory, "server-ca")
        self.server = certs.issue_server(server_ca, now=now).write(self.directory, "server")
        self.port = free_port()

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def target_yaml(self, **extra: Any) -> str:
        document: dict[str, Any] = {
            "operator": "misbehaving",
            "environment": "staging",
            "mo_base_url": f"{self.base}/mo/v1",
            "portal_url": f"{self.base}/portal/",
            "tls": {
                "client_certificate": str(self.client.cert_file),
                "client_key": str(self.client.key_file),
                "ca_bundle": str(self.server_ca.cert_file),
                "client_ca_certificate": str(self.ca.cert_file),
                "client_ca_key": str(self.ca.key_file),
            },
            "iccids": {"active": ACTIVE, "zero_balance": ZERO, "not_supported": NOT_SUPPORTED},
            "locations": {"served": ["US"], "not_served": "JP"},
            "apis": {"get_offers": True, "get_notifications": True},
            **extra,
        }
        return json.dumps(document)  # JSON is YAML

    # ----- the MO API -------------------------------------------------------------------

    def _echo(self, request: Request, response: Response) -> Response:
        sent = request.headers.get(HEADER)
        if sent is None or "missing_echo" in self.faults:
            return response
        if "no_echo_on_errors" in self.faults and response.status_code != 200:
            return response
        response.headers[HEADER] = sent.strip('"') if "echo_unquoted" in self.faults else sent
        return response

    def _problem(self, status: int, detail: str, fieldname: str | None = None) -> JSONResponse:
        body = {"title": detail, "status": status, **({"field": fieldname} if fieldname else {})}
        return JSONResponse(body, status_code=status, media_type="application/problem+json")

    def _authenticate(self, request: Request) -> JSONResponse | None:
        tls = request.scope.get("extensions", {}).get("tls") or {}
        chain = tls.get("client_cert_chain") or []
        if not chain:
            if {"accepts_missing_certificate", "no_client_auth"} & self.faults:
                return None
            return self._problem(401, "no client certificate")
        certificate = x509.load_pem_x509_certificate(chain[0].encode())
        if certificate.not_valid_after_utc < datetime.now(UTC):
            if "accepts_expired_certificate" in self.faults:
                return None
            return self._problem(401, "client certificate expired")
        if not certs.same_subject(certificate.subject, certs.parse_subject(SUBJECT)):
            if "subject_not_checked" in self.faults:
                return None
            return self._problem(403, "client certificate subject not trusted")
        return None

    def _header(self, request: Request) -> JSONResponse | None:
        value = request.headers.get(HEADER)
        if not value and "transaction_id_optional" not in self.faults:
            return self._problem(400, "X-MS-DM-TransactionId is required", HEADER)
        if value and "conflict_on_repeat" in self.faults and value in self.seen_ids:
            return self._problem(409, "transaction id repeated")
        if value:
            self.seen_ids.add(value)
        return None

    def _limit(self, request: Request, *, required: bool) -> int | JSONResponse | None:
        raw = request.query_params.get("limit")
        if raw == "" and "empty_parameters_400" in self.faults:
            return self._problem(400, "limit is empty", "limit")
        if not raw:
            return self._problem(400, "limit is required", "limit") if required else None
        if "limit_not_validated" in self.faults:
            return 1
        try:
            value = int(raw)
        except ValueError:
            return self._problem(400, "limit is not an integer", "limit")
        if value < 0 or value > INT_MAX:
            return self._problem(400, "limit out of range", "limit")
        return value

    async def _gate(self, request: Request) -> tuple[str, JSONResponse | None]:
        if "slow" in self.faults:
            await asyncio.sleep(0.5)
        refusal = self._authenticate(request) or self._header(request)
        sim = request.path_params["sim"].removeprefix("iccid:").strip()
        return sim, refusal

    def _balance_item(self, sim: str) -> dict[str, Any] | None:
        if sim == ACTIVE:
            item = {
                "id": "b1",
                "type": "MODIRECTPAYG",
                "dataRemaininginMB": 1024.0,
                "timeRemaining": "P10D",
            }
        elif sim == ZERO and "zero_balance_404" not in self.faults:
            item = {"id": "b0", "type": "NONE", "dataRemaininginMB": 0.0, "timeRemaining": "PT0S"}
        elif sim == NOT_SUPPORTED and "not_supported_404" not in self.faults:
            item = {
                "id": "ns",
                "type": "NOTSUPPORTED",
                "dataRemaininginMB": 0.0,
                "timeRemaining": "PT0S",
            }
        elif sim not in (ACTIVE, ZERO, NOT_SUPPORTED) and "unknown_sim_200" in self.faults:
            item = {"id": "u", "type": "NONE", "dataRemaininginMB": 0.0, "timeRemaining": "PT0S"}
        else:
            return None
        if "wrong_casing" in self.faults:
            item = {
                "Id": item["id"],
                "Type": str(item["type"]).lower(),
                "DataRemainingInMb": item["dataRemaininginMB"],
                "TimeRemaining": item["timeRemaining"],
            }
        return item

    def _balance_params(self, request: Request) -> JSONResponse | None:
        location = request.query_params.get("location")
        if location == "" and "empty_parameters_400" in self.faults:
            return self._problem(400, "location is empty", "location")
        if location and "location_not_validated" not in self.faults:
            try:
                parse_country(location)
            except IdentifierError:
                return self._problem(400, "bad location", "location")
        template = request.query_params.get("fieldsTemplate")
        if (
            template
            and template not in ("basic", "full")
            and "fields_template_not_validated" not in self.faults
        ):
            return self._problem(400, "fieldsTemplate must be basic or full", "fieldsTemplate")
        limit = self._limit(request, required=False)
        return limit if isinstance(limit, JSONResponse) else None

    async def balances(self, request: Request) -> Response:
        sim, refusal = await self._gate(request)
        refusal = refusal or self._balance_params(request)
        if refusal is not None:
            return self._echo(request, refusal)
        item = self._balance_item(sim)
        if item is None:
            return self._echo(request, self._problem(404, "unknown SIM"))
        limit = self._limit(request, required=False)
        items = [item][: limit if isinstance(limit, int) else None]
        key = "Balances" if "wrong_casing" in self.faults else "balances"
        return self._echo(request, JSONResponse({key: items}))

    async def offers(self, request: Request) -> Response:
        sim, refusal = await self._gate(request)
        limit = self._limit(request, required="offers_limit_optional" not in self.faults)
        if refusal is None and isinstance(limit, JSONResponse):
            refusal = limit
        if refusal is not None:
            return self._echo(request, refusal)
        if sim not in (ACTIVE, ZERO, NOT_SUPPORTED):
            return self._echo(request, self._problem(404, "unknown SIM"))
        offers = [{"gatewayId": "0"}, {"gatewayId": "1"}]
        if "offers_ignore_limit" not in self.faults:
            offers = offers[: limit if isinstance(limit, int) else 1]
        return self._echo(request, JSONResponse({"offers": offers}))

    async def notifications(self, request: Request) -> Response:
        _, refusal = await self._gate(request)
        limit = self._limit(request, required=True)
        if refusal is None and isinstance(limit, JSONResponse):
            refusal = limit
        if refusal is None and not request.query_params.get("notificationType"):
            refusal = self._problem(400, "notificationType is required", "notificationType")
        if refusal is not None:
            return self._echo(request, refusal)
        if "notifications_wrong_shape" in self.faults:
            return self._echo(request, JSONResponse({"items": []}))
        kind = request.query_params["notificationType"]
        return self._echo(
            request,
            JSONResponse({"notifications": [{"notificationId": 1, "notificationType": kind}]}),
        )

    # ----- the portal -------------------------------------------------------------------

    def _launch_problem(self, request: Request) -> str | None:
        query = request.query_params
        known = {"market", "location", "transactionId", "eid", "iccid", "iccids", "imei"}
        if "portal_rejects_unknown_parameters" in self.faults and set(query) - known:
            return "unknown parameter"
        if len(query.get("transactionId", "")) > 64 or not query.get("transactionId"):
            return "transactionId"
        eid = query.get("eid")
        if eid is not None and (len(eid) != 32 or not eid.isdigit()):
            return "eid"
        try:
            parse_country(query.get("location"))
        except IdentifierError:
            return "location"
        return None

    async def portal(self, request: Request) -> Response:
        problem = self._launch_problem(request)
        if problem is None:
            return HTMLResponse(
                '<html><body><main data-mp-step="signin"><h1>Sign in</h1></main></body></html>'
            )
        if "portal_error_without_callback" in self.faults:
            return HTMLResponse(f"bad request: {problem}", status_code=400)
        callback = {
            "object": "MobilePlans",
            "function": "notifyCancelledPurchase",
            "args": [
                {
                    "userAccount": "None",
                    "purchaseInstrument": "None",
                    "line": "None",
                    "moDirectStatus": "ClientError",
                    "planName": "",
                }
            ],
        }
        return HTMLResponse(
            f'<html><body><main data-mp-step="error"><p>Sorry: {problem}</p></main>'
            f'<script type="application/json" id="mp-callback">{json.dumps(callback)}</script>'
            "</body></html>"
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/mo/v1/sims/{sim}/balances", self.balances),
                Route("/mo/v1/sims/{sim}/offers", self.offers),
                Route("/mo/v1/sims/{sim}/notifications", self.notifications),
                Route("/portal/", self.portal),
            ]
        )

    # ----- running ----------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[Misbehaving]:
        """Serve in a thread (its own loop) until the block ends; faults may change meanwhile."""
        client_ca = None if "no_client_auth" in self.faults else self.ca.cert_file
        context = server_ssl_context(self.server.cert_file, self.server.key_file, client_ca)
        server = make_server(
            Listener("misbehaving", self.app(), "127.0.0.1", self.port, ssl_context=context)
        )
        server.config.loop = "asyncio"
        thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the misbehaving operator did not start")
            time.sleep(0.02)
        try:
            yield self
        finally:
            server.should_exit = True
            thread.join(timeout=10)
