"""Portal launch URLs, exactly as the app builds them (spec 2.1.1, eras B/C).

eSIM:        ``?market=..&location=..&transactionId=..&eid=..&imei=..[&iccids=a,b]``
physical SIM: ``?iccid=..&imei=..&market=..&transactionId=..&location=..``

Values are percent-encoded (``/`` in a transactionId becomes ``%2F`` as in the
spec's example); the commas between ``iccids`` stay literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from mobileplans.errors import BadRequest
from mobileplans.kit import identifiers as ids


@dataclass(frozen=True, slots=True)
class DeviceContext:
    """What the app knows about the PC when it opens a portal."""

    location: str
    market: str
    imei: str | None = None
    eid: str | None = None
    iccids: tuple[str, ...] = ()
    iccid: str | None = None

    @property
    def is_esim(self) -> bool:
        return self.iccid is None


def parse_device(
    location: str | None,
    market: str | None,
    imei: str | None,
    eid: str | None,
    iccids: str | None,
    iccid: str | None,
) -> DeviceContext:
    """Validate the device parameters of ``GET /v1/providers``; every rule broken names
    its parameter (400)."""
    if iccid and (eid or iccids):
        raise BadRequest("a physical SIM (iccid) excludes eid and iccids", field="iccid")
    country = ids.parse_country(location, field="location")
    return DeviceContext(
        location=country,
        market=ids.parse_country(market, field="market") if market else country,
        imei=ids.parse_imei(imei) if imei else None,
        eid=ids.parse_eid(eid) if eid else None,
        iccids=tuple(ids.parse_iccid_list(iccids, lenient=True)),
        iccid=ids.parse_iccid(iccid, lenient=True) if iccid else None,
    )


def launch_parameters(
    device: DeviceContext, transaction_id: str, iccids: tuple[str, ...]
) -> list[tuple[str, str]]:
    """Ordered query parameters; ``iccids`` are this operator's profiles on the eUICC."""
    if not device.is_esim:
        params = [("iccid", device.iccid or "")]
        if device.imei:
            params.append(("imei", device.imei))
        params += [("market", device.market), ("transactionId", transaction_id)]
        params.append(("location", device.location))
        return params
    params = [("market", device.market), ("location", device.location)]
    params.append(("transactionId", transaction_id))
    if device.eid:
        params.append(("eid", device.eid))
    if device.imei:
        params.append(("imei", device.imei))
    if iccids:
        params.append(("iccids", ",".join(iccids)))
    return params


def build_launch_url(portal_url: str, params: list[tuple[str, str]]) -> str:
    query = "&".join(
        f"{name}={quote(value, safe=',' if name == 'iccids' else '')}" for name, value in params
    )
    separator = "&" if "?" in portal_url else "?"
    return f"{portal_url}{separator}{query}"
