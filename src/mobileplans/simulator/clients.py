"""HTTP clients of the device: the broker, the SM-DP+ device interface, the operator network.

Everything goes over HTTP (httpx), so the same code tests a third-party operator.

- Broker (spec 7.3, docs/activation.md "Broker additions"): ``GET /v1/providers``,
  ``GET /v1/balances``, ``POST /v1/telemetry/purchase``.
- SM-DP+ device interface (docs/activation.md): ``{smdp}/rsp/device/v1/initiateDownload``,
  ``getBoundProfilePackage``, ``handleNotification``, ``cancelSession``. Failures arrive as
  HTTP 200 with ``header.functionExecutionStatus.status == "Failed"`` and an
  ``esimOperationStatus`` name; transport errors become ``ServerNotReachable``.
- Operator core-network stand-in: ``GET {operator}/{op}/network/lines/{iccid}``.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from mobileplans.kit.esim import ESimOperationStatus

DEVICE_PATH = "/rsp/device/v1/"
# docs/activation.md error table: (subjectCode, reasonCode) → status, when no name is sent
SUBJECT_REASON_STATUS = {
    ("8.2.6", "3.8"): ESimOperationStatus.InvalidMatchingId,
    ("8.1.1", "3.8"): ESimOperationStatus.EidMismatch,
    ("8.2.1", "3.3"): ESimOperationStatus.ProfileNotAvailableForNewBinding,
    ("8.2", "1.2"): ESimOperationStatus.ProfileNotReleasedByOperator,
    ("8.2.7", "2.2"): ESimOperationStatus.ConfirmationCodeMissing,
    ("8.2.7", "3.8"): ESimOperationStatus.IncorrectConfirmationCode,
    ("8.2.7", "6.4"): ESimOperationStatus.ConfirmationCodeMaxRetriesExceeded,
    ("8.10.1", "3.9"): ESimOperationStatus.NoCorrespondingRequest,
}


class SmdpError(Exception):
    """A device-interface call failed; ``status`` is what the LPA reports (spec 2.1.3)."""

    def __init__(self, status: ESimOperationStatus, detail: str) -> None:
        super().__init__(f"{status.name}: {detail}")
        self.status = status
        self.detail = detail


def status_of_failure(body: dict[str, Any]) -> ESimOperationStatus:
    """The ``ESimOperationStatus`` of a Failed answer: its name, else its codes, else Other."""
    name = body.get("esimOperationStatus")
    if isinstance(name, str) and name in ESimOperationStatus.__members__:
        return ESimOperationStatus[name]
    data = _status_code_data(body)
    key = (str(data.get("subjectCode", "")), str(data.get("reasonCode", "")))
    return SUBJECT_REASON_STATUS.get(key, ESimOperationStatus.Other)


def _status_code_data(body: dict[str, Any]) -> dict[str, Any]:
    header = body.get("header")
    status = header.get("functionExecutionStatus") if isinstance(header, dict) else None
    data = status.get("statusCodeData") if isinstance(status, dict) else None
    return data if isinstance(data, dict) else {}


def _failed(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    header = body.get("header")
    status = header.get("functionExecutionStatus") if isinstance(header, dict) else None
    return isinstance(status, dict) and status.get("status") == "Failed"


@dataclass(frozen=True)
class DownloadSession:
    transaction_id: str
    cc_required: bool
    iccid: str
    service_provider_name: str
    profile_name: str
    operator_id: str | None
    profile_class: str


class SmdpDeviceClient:
    """The LPA's side of the device download interface of one SM-DP+."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/") + DEVICE_PATH

    async def _call(self, function: str, body: dict[str, Any], *, empty_ok: bool = False) -> Any:
        try:
            response = await self.http.post(self.base_url + function, json=body)
        except httpx.TransportError as exc:
            raise SmdpError(
                ESimOperationStatus.ServerNotReachable, f"{function}: {type(exc).__name__}"
            ) from exc
        if empty_ok and response.status_code == 204:
            return None
        if response.status_code != 200:
            raise SmdpError(
                ESimOperationStatus.ServerFailure, f"{function}: HTTP {response.status_code}"
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise SmdpError(ESimOperationStatus.ServerFailure, f"{function}: not JSON") from exc
        if _failed(data):
            message = _status_code_data(data).get("message", "")
            raise SmdpError(status_of_failure(data), f"{function}: {message}".rstrip(": "))
        return data

    async def initiate_download(
        self, eid: str, matching_id: str, imei: str | None
    ) -> DownloadSession:
        body: dict[str, Any] = {"eid": eid, "matchingId": matching_id}
        if imei:
            body["imei"] = imei
        data = await self._call("initiateDownload", body)
        try:
            meta = data["profileMetadata"]
            return DownloadSession(
                transaction_id=str(data["transactionId"]),
                cc_required=bool(data.get("ccRequired", False)),
                iccid=str(meta["iccid"]),
                service_provider_name=str(meta.get("serviceProviderName", "")),
                profile_name=str(meta.get("profileName", "")),
                operator_id=meta.get("operatorId"),
                profile_class=str(meta.get("profileClass", "operational")),
            )
        except (KeyError, TypeError) as exc:
            raise SmdpError(
                ESimOperationStatus.ServerFailure, f"initiateDownload: missing {exc}"
            ) from exc

    async def get_bound_profile_package(
        self, transaction_id: str, hash_cc: str | None = None
    ) -> dict[str, Any]:
        """The decoded bound profile package (base64 JSON, docs/activation.md)."""
        body: dict[str, Any] = {"transactionId": transaction_id}
        if hash_cc is not None:
            body["hashCc"] = hash_cc
        data = await self._call("getBoundProfilePackage", body)
        try:
            package = json.loads(base64.b64decode(data["boundProfilePackage"], validate=True))
        except (KeyError, TypeError, ValueError) as exc:
            raise SmdpError(
                ESimOperationStatus.ServerFailure, "boundProfilePackage is not base64 JSON"
            ) from exc
        if not isinstance(package, dict):
            raise SmdpError(ESimOperationStatus.ServerFailure, "boundProfilePackage not an object")
        return package

    async def handle_notification(
        self,
        transaction_id: str,
        eid: str,
        iccid: str,
        event: str,
        *,
        success: bool,
        reason: str | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "transactionId": transaction_id,
            "eid": eid,
            "iccid": iccid,
            "event": event,
            "success": success,
        }
        if reason:
            body["reason"] = reason
        await self._call("handleNotification", body, empty_ok=True)

    async def cancel_session(self, transaction_id: str, reason: str) -> None:
        await self._call("cancelSession", {"transactionId": transaction_id, "reason": reason})


@dataclass(frozen=True)
class Provider:
    """One entry of ``GET /v1/providers`` (spec 7.3)."""

    mo_id: str
    brand_name: str
    launch_url: str
    transaction_id: str
    notification_hosts: tuple[str, ...]
    gateway: dict[str, Any]
    logo: dict[str, Any] | None

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Provider:
        return cls(
            mo_id=str(data["moId"]),
            brand_name=str(data["brandName"]),
            launch_url=str(data["launchUrl"]),
            transaction_id=str(data["transactionId"]),
            notification_hosts=tuple(data.get("notificationHosts") or ()),
            gateway=dict(data.get("gateway") or {}),
            logo=data.get("logo"),
        )


@dataclass(frozen=True)
class BrokerAnswer:
    """A broker answer; ``missing`` when the route is not there (yet)."""

    status_code: int
    body: Any
    missing: bool


def route_missing(response: httpx.Response) -> bool:
    """True for a 405, or a 404 from routing rather than from the route itself."""
    if response.status_code == 405:
        return True
    if response.status_code != 404:
        return False
    try:
        body = response.json()
    except ValueError:
        return True
    if not isinstance(body, dict):
        return True
    problem_type = str(body.get("type", ""))
    return problem_type.endswith("/http-404") or body.get("detail") == "Not Found"


class BrokerClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    async def providers(self, params: dict[str, str]) -> tuple[dict[str, Any], list[Provider]]:
        response = await self.http.get(f"{self.base_url}/v1/providers", params=params)
        if response.status_code != 200:
            raise BrokerCallError("GET /v1/providers", response)
        body = response.json()
        return body, [Provider.from_wire(p) for p in body.get("providers", [])]

    async def balances(self, iccid: str, location: str) -> BrokerAnswer:
        response = await self.http.get(
            f"{self.base_url}/v1/balances", params={"iccid": iccid, "location": location}
        )
        return _answer(response)

    async def telemetry(self, payload: dict[str, Any]) -> BrokerAnswer:
        response = await self.http.post(f"{self.base_url}/v1/telemetry/purchase", json=payload)
        return _answer(response)

    async def sim(self, iccid: str) -> dict[str, Any] | None:
        response = await self.http.get(f"{self.base_url}/v1/sims/{iccid}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise BrokerCallError(f"GET /v1/sims/{iccid}", response)
        body: dict[str, Any] = response.json()
        return body


def _answer(response: httpx.Response) -> BrokerAnswer:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return BrokerAnswer(response.status_code, body, route_missing(response))


class BrokerCallError(Exception):
    def __init__(self, call: str, response: httpx.Response) -> None:
        super().__init__(f"{call}: HTTP {response.status_code} {response.text[:300]}")
        self.status_code = response.status_code


async def get_balance(
    http: httpx.AsyncClient, mo_base_url: str, iccid: str, location: str
) -> BrokerAnswer:
    """GetBalance (spec 2.3) straight from an MO API, as the service calls it."""
    response = await http.get(
        f"{mo_base_url.rstrip('/')}/sims/iccid:{iccid}/balances",
        params={"location": location},
        headers={"X-MS-DM-TransactionId": f'"MSFT-{uuid.uuid4()}"'},
    )
    return _answer(response)


class NetworkClient:
    """The operator's core-network stand-in: may this line attach, and to what?"""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    async def line_state(self, iccid: str) -> dict[str, Any] | None:
        """The line's ``LineState``, or ``None`` when the network does not know the ICCID."""
        response = await self.http.get(f"{self.base_url}/lines/{iccid}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body
