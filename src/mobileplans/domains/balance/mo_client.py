"""Outbound calls to operators' MO APIs (spec 2.3, 2.8, 2.9) over a pooled aiohttp session.

Every call carries a fresh ``X-MS-DM-TransactionId`` (``"MSFT-<uuid>"``, sent with its
quotes as in the spec's examples, 7.1 #3) and, when configured, the platform's client
certificate (mutual TLS, spec 2.8). The outcome is classified the way the live-site
tooling counts failures: ok, http_error, timeout, connect_error, tls_error, bad_body
(a truncated or malformed HTTP answer is ``bad_body``, as for the probes).
"""

from __future__ import annotations

import math
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from mobileplans.domains.balance.schemas import BalanceItem
from mobileplans.kit.netguard import guarded_session
from mobileplans.kit.urls import join_base


@dataclass(frozen=True, slots=True)
class MoCall:
    outcome: str
    status: int | None
    balances: list[dict[str, Any]]  # wire form (read_balances)
    retry_after: float | None
    latency_ms: float
    detail: str


def _lower_keys(value: dict[str, Any]) -> dict[str, Any]:
    """One object's keys in lower case (JSON keys are strings). Only the body and its
    balances are read by name: the values below them are strings and lists of strings."""
    return {key.lower(): item for key, item in value.items()}


def read_balances(body: bytes) -> list[dict[str, Any]]:
    """Read a GetBalance body, keys case-insensitive (spec 7.1 #1), into its balances in
    the broker's wire form: schema ``BalanceItem``'s wire names, ``None`` fields left out.
    ValueError (or TypeError) if malformed. No model is built: the broker reads one body
    for every call it proxies (D304); tests hold each item to ``BalanceItem``."""
    data = orjson.loads(body)
    balances = _lower_keys(data).get("balances") if isinstance(data, dict) else None
    if not isinstance(balances, list):
        raise ValueError("body has no 'balances' array")
    return [_balance(raw) for raw in balances]


def _balance(raw: Any) -> dict[str, Any]:
    """One balance, checked as ``BalanceItem`` validates it, in its wire form."""
    entry = _lower_keys(raw) if isinstance(raw, dict) else None
    if entry is None or not isinstance(entry.get("type"), str):
        raise ValueError("a balance has no 'type'")
    data_mb = float(entry.get("dataremaininginmb", 0.0))
    if not math.isfinite(data_mb):  # "nan", "inf" as strings: float() takes them
        raise ValueError("a balance's dataRemainingInMB is not a finite number")
    identifier, locations = entry.get("id"), entry.get("locations")
    item: dict[str, Any] = {} if identifier is None else {"id": str(identifier)}
    item["type"] = entry["type"].upper()
    item["dataRemaininginMB"] = data_mb
    item["timeRemaining"] = str(entry.get("timeremaining", "PT0S"))
    if locations is not None:
        if not isinstance(locations, list) or not all(isinstance(c, str) for c in locations):
            raise ValueError("a balance's locations is not a list of strings")
        item["locations"] = locations
    return item


def parse_balances(body: bytes) -> list[BalanceItem]:
    """:func:`read_balances` as ``BalanceItem`` models (the probes, the tests)."""
    return [balance_item(item) for item in read_balances(body)]


def balance_item(item: dict[str, Any]) -> BalanceItem:
    """A balance in its wire form as the model."""
    return BalanceItem(
        id=item.get("id"),
        type=item["type"],
        data_remaining_in_mb=item["dataRemaininginMB"],
        time_remaining=item["timeRemaining"],
        locations=item.get("locations"),
    )


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


CONNECTION_LIMIT = 2_000
"""Connections open at once to all operators. A GetBalance holds one for the operator's
answer time: 1,000 requests/s at 200 ms is 200 at once, so the old limit of 200 queued
requests at exactly that load."""


class MoApiClient:
    """One pooled client per process; ``ssl_context`` carries the client certificate."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        ssl_context: ssl.SSLContext | None = None,
        limit: int = CONNECTION_LIMIT,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._ssl = ssl_context
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = guarded_session(
                timeout=self._timeout, limit=self._limit, ssl=self._ssl if self._ssl else True
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def get_balances(
        self,
        mo_base_url: str,
        iccid: str,
        *,
        transaction_id: str,
        location: str | None = None,
        fields_template: str = "basic",
    ) -> MoCall:
        """``GET {moBaseUrl}/sims/iccid:{ICCID}/balances`` (spec 2.3)."""
        query = f"fieldsTemplate={_component(fields_template)}"
        if location:
            query += f"&location={_component(location)}"
        path = f"sims/iccid%3A{_component(iccid)}/balances?{query}"
        url = URL(join_base(mo_base_url, path), encoded=True)  # built here: yarl need not parse
        headers = {"X-MS-DM-TransactionId": f'"{transaction_id}"'}
        started = time.perf_counter()
        client = await self._client()
        try:
            async with client.get(url, headers=headers) as response:
                body = await response.read()
                return self._classify(response.status, response.headers, body, started)
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            return MoCall("tls_error", None, [], None, _ms(started), str(exc))
        except TimeoutError:
            return MoCall("timeout", None, [], None, _ms(started), "no answer in time")
        except aiohttp.ClientPayloadError as exc:  # as the probes count it (docs/monitoring.md)
            return MoCall("bad_body", None, [], None, _ms(started), f"truncated body: {exc}")
        except aiohttp.ClientResponseError as exc:
            detail = f"malformed HTTP response: {exc.message}"[:300]
            return MoCall("bad_body", None, [], None, _ms(started), detail)
        except aiohttp.ClientError as exc:
            return MoCall(
                "connect_error", None, [], None, _ms(started), str(exc) or type(exc).__name__
            )

    @staticmethod
    def _classify(status: int, headers: Any, body: bytes, started: float) -> MoCall:
        latency = _ms(started)
        if status != 200:
            return MoCall(
                "http_error",
                status,
                [],
                _retry_after(headers),
                latency,
                body[:300].decode("utf-8", "replace"),
            )
        try:
            return MoCall("ok", status, read_balances(body), None, latency, "")
        except (ValueError, TypeError) as exc:
            return MoCall("bad_body", status, [], None, latency, str(exc))


def _component(text: str) -> str:
    """``text`` percent-encoded for a path segment or a query value (``quote(text,
    safe='')``); letters and digits only, as an ICCID, a country code or a template name
    are, need no encoding and skip ``quote``'s cost on every call."""
    return text if text.isascii() and text.isalnum() else quote(text, safe="")


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def client_ssl_context(
    *, cert_file: str | None, key_file: str | None, ca_file: str | None
) -> ssl.SSLContext | None:
    """TLS 1.2+ context presenting the platform's client certificate (spec 2.8)."""
    if not (cert_file or ca_file):
        return None
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # explicit, whatever the platform's default
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    return context
