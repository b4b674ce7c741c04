"""The PC: IMEI, where it is, its language, an eUICC or a physical SIM, its network state.

Network registration (spec 2.2.4 ``MobilePlansNetworkRegistrationState``): the modem
attaches with the enabled profile (or the physical SIM) by asking the operator's
core-network stand-in about the line. A line the network knows registers ``home`` (a
walled-garden line registers too: it is the walled garden that limits it); an unknown
line is ``denied``; a network that cannot be reached leaves the modem ``searching``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

import httpx

from mobileplans.kit.identifiers import eid_with_check_digits, parse_country, parse_imei
from mobileplans.simulator.clients import NetworkClient
from mobileplans.simulator.euicc import Euicc

DEFAULT_IMEI = "001102000315468"  # the spec's example IMEI (2.1.1): Luhn-valid


class RegistrationState(StrEnum):
    NONE = "none"
    DEREGISTERED = "deregistered"
    SEARCHING = "searching"
    HOME = "home"
    ROAMING = "roaming"
    PARTNER = "partner"
    DENIED = "denied"

    @property
    def registered(self) -> bool:
        return self in (
            RegistrationState.HOME,
            RegistrationState.ROAMING,
            RegistrationState.PARTNER,
        )


@dataclass
class PhysicalSim:
    iccid: str
    operator_id: str | None = None


@dataclass
class Registration:
    state: RegistrationState
    iccid: str | None
    line: dict[str, object] | None = None
    observable: bool = True
    """False when the operator exposes no registration (no core-network stand-in): the
    device cannot tell, and scenarios judge connectivity from what they can observe."""


@dataclass
class Device:
    imei: str
    location: str
    market: str
    language: str = "en-US"
    timezone: str = "UTC"
    euicc: Euicc | None = None
    sim: PhysicalSim | None = None
    registration: Registration = field(
        default_factory=lambda: Registration(RegistrationState.NONE, None)
    )

    def __post_init__(self) -> None:
        self.imei = parse_imei(self.imei)
        self.location = parse_country(self.location)
        self.market = parse_country(self.market, field="market")
        if (self.euicc is None) == (self.sim is None):
            raise ValueError("a device has either an eUICC or a physical SIM")
        ZoneInfo(self.timezone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def active_iccid(self) -> str | None:
        if self.sim is not None:
            return self.sim.iccid
        assert self.euicc is not None
        enabled = self.euicc.enabled
        return enabled.iccid if enabled else None

    def provider_query(self) -> dict[str, str]:
        """The device parameters for ``GET /v1/providers`` (spec 7.3, 2.1.1)."""
        query = {"location": self.location, "market": self.market, "imei": self.imei}
        if self.sim is not None:
            query["iccid"] = self.sim.iccid
            return query
        assert self.euicc is not None
        query["eid"] = self.euicc.eid
        if self.euicc.profiles:
            query["iccids"] = ",".join(self.euicc.iccids())
        return query

    async def register(self, network: NetworkClient | None) -> Registration:
        """Attach with the active line; ``network`` is ``None`` when there is no stand-in
        (then the registration is not observable, not ``searching``)."""
        iccid = self.active_iccid
        if iccid is None:
            self.registration = Registration(RegistrationState.NONE, None)
        elif network is None:
            self.registration = Registration(RegistrationState.NONE, iccid, observable=False)
        else:
            try:
                line = await network.line_state(iccid)
            except httpx.HTTPError:
                self.registration = Registration(RegistrationState.SEARCHING, iccid)
            else:
                state = RegistrationState.DENIED if line is None else RegistrationState.HOME
                self.registration = Registration(state, iccid, line)
        return self.registration


def fresh_eid(template: str | None = None) -> str:
    """A new EID: the template's first 16 digits (EUM and platform) and a random serial.

    Every scenario run gets its own eUICC, so ``e2e all`` can run again and again
    against one stack without finding profiles left by an earlier run.
    """
    prefix = (template or "89049032000000000000000000000000")[:16]
    serial = "".join(secrets.choice("0123456789") for _ in range(14))
    return eid_with_check_digits(prefix + serial)
