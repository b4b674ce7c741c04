"""A simulated eUICC: the profiles on the card, one enabled at most, limited space.

Rules (SGP.22 v2.5 section 2.x, as far as the LPA sees them):

- a profile is installed once per ICCID; installing beyond ``capacity`` fails with
  ``InsufficientSpaceOnCard``;
- at most one profile is enabled; enabling one disables the other;
- an enabled profile cannot be deleted (disable it first);
- faults can be injected per operation (``install``, ``enable``) to exercise error paths:
  the next N such operations fail with the given ``ESimOperationStatus``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from mobileplans.kit.esim import ESimOperationStatus
from mobileplans.kit.identifiers import parse_eid

DEFAULT_CAPACITY = 8
OPERATIONS = ("install", "enable")


class ProfileState(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class EuiccError(Exception):
    def __init__(self, status: ESimOperationStatus, detail: str) -> None:
        super().__init__(f"{status.name}: {detail}")
        self.status = status
        self.detail = detail


@dataclass
class EuiccProfile:
    iccid: str
    operator_id: str | None
    service_provider_name: str
    profile_name: str
    profile_class: str = "operational"
    state: ProfileState = ProfileState.DISABLED


class Euicc:
    def __init__(self, eid: str, *, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        self.eid = parse_eid(eid)
        self.capacity = capacity
        self._profiles: dict[str, EuiccProfile] = {}
        self._faults: dict[str, list[ESimOperationStatus]] = defaultdict(list)

    @property
    def profiles(self) -> list[EuiccProfile]:
        return list(self._profiles.values())

    @property
    def enabled(self) -> EuiccProfile | None:
        return next((p for p in self._profiles.values() if p.state is ProfileState.ENABLED), None)

    @property
    def free_slots(self) -> int:
        return self.capacity - len(self._profiles)

    def profile(self, iccid: str) -> EuiccProfile | None:
        return self._profiles.get(iccid)

    def iccids(self, operator_id: str | None = None) -> list[str]:
        return [
            p.iccid
            for p in self._profiles.values()
            if operator_id is None or p.operator_id == operator_id
        ]

    def inject_fault(self, operation: str, status: ESimOperationStatus, times: int = 1) -> None:
        """Make the next ``times`` ``operation`` calls fail with ``status``."""
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {OPERATIONS}")
        if status is ESimOperationStatus.Success or times < 1:
            raise ValueError("a fault needs a failure status and at least one occurrence")
        self._faults[operation].extend([status] * times)

    def _fault(self, operation: str, detail: str) -> None:
        pending = self._faults[operation]
        if pending:
            raise EuiccError(pending.pop(0), f"injected fault on {operation}: {detail}")

    def install(self, profile: EuiccProfile) -> None:
        self._fault("install", profile.iccid)
        if profile.iccid in self._profiles:
            raise EuiccError(ESimOperationStatus.Other, f"ICCID {profile.iccid} already installed")
        if self.free_slots <= 0:
            raise EuiccError(
                ESimOperationStatus.InsufficientSpaceOnCard,
                f"{len(self._profiles)} of {self.capacity} profile slots used",
            )
        profile.state = ProfileState.DISABLED
        self._profiles[profile.iccid] = profile

    def enable(self, iccid: str) -> str | None:
        """Enable ``iccid``; returns the ICCID that was enabled before, if another."""
        self._fault("enable", iccid)
        target = self._require(iccid)
        previous = self.enabled
        if previous is not None and previous is not target:
            previous.state = ProfileState.DISABLED
        target.state = ProfileState.ENABLED
        return previous.iccid if previous is not None and previous is not target else None

    def disable(self, iccid: str) -> None:
        self._require(iccid).state = ProfileState.DISABLED

    def delete(self, iccid: str) -> None:
        profile = self._require(iccid)
        if profile.state is ProfileState.ENABLED:
            raise EuiccError(
                ESimOperationStatus.PolicyViolation, f"disable {iccid} before deleting it"
            )
        del self._profiles[iccid]

    def _require(self, iccid: str) -> EuiccProfile:
        profile = self._profiles.get(iccid)
        if profile is None:
            raise EuiccError(ESimOperationStatus.ProfileNotPresent, f"no profile {iccid} on card")
        return profile
