"""Pure eSIM codecs shared by the SM-DP+, the operator and the device simulator.

- Activation codes (SGP.22 4.1; spec 2.2.5): ``1$<SM-DP+ address>$<matchingId>[$<OID>[$1]]``,
  never with the ``LPA:`` prefix when handed to the app.
- ``ESimOperationStatus`` names and values (spec 2.1.3) and the camelCase
  ``MobilePlansActivationError`` strings (spec 2.2.4).
- The confirmation-code hash of SGP.22: ``SHA-256(SHA-256(CC) || transactionId)``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import IntEnum

_ADDRESS = re.compile(r"^[A-Za-z0-9.\-:]+$")
_MATCHING_ID = re.compile(r"^[0-9A-Z\-]{0,64}$")


class ActivationCodeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ActivationCode:
    smdp_address: str
    matching_id: str
    oid: str | None = None
    confirmation_code_required: bool = False

    def __str__(self) -> str:
        text = f"1${self.smdp_address}${self.matching_id}"
        if self.oid or self.confirmation_code_required:
            text += f"${self.oid or ''}"
        if self.confirmation_code_required:
            text += "$1"
        return text

    @classmethod
    def parse(cls, text: str) -> ActivationCode:
        """Parse an activation code; the ``LPA:`` prefix is refused (spec 2.2.5, 7.2 #40)."""
        if text.upper().startswith("LPA:"):
            raise ActivationCodeError("activation code must not carry the 'LPA:' prefix")
        parts = text.split("$")
        if parts[0] != "1" or not 3 <= len(parts) <= 5:
            raise ActivationCodeError("activation code must be '1$<SM-DP+ address>$<matchingId>'")
        address, matching_id = parts[1], parts[2]
        if not _ADDRESS.fullmatch(address):
            raise ActivationCodeError(f"invalid SM-DP+ address {address!r}")
        if not _MATCHING_ID.fullmatch(matching_id):
            raise ActivationCodeError(f"invalid matchingId {matching_id!r}")
        oid = parts[3] if len(parts) > 3 and parts[3] else None
        flag = parts[4] if len(parts) > 4 else ""
        if flag not in ("", "1"):
            raise ActivationCodeError("confirmation-code flag must be '1' or absent")
        return cls(address, matching_id, oid, flag == "1")


class ESimOperationStatus(IntEnum):
    """WinRT ``ESimOperationStatus`` (spec 2.1.3); names travel in ``X-MP-LPAError-Codes``."""

    Success = 0
    NotAuthorized = 1
    NotFound = 2
    PolicyViolation = 3
    InsufficientSpaceOnCard = 4
    ServerFailure = 5
    ServerNotReachable = 6
    TimeoutWaitingForUserConsent = 7
    IncorrectConfirmationCode = 8
    ConfirmationCodeMaxRetriesExceeded = 9
    CardRemoved = 10
    CardBusy = 11
    Other = 12
    CardGeneralFailure = 13
    ConfirmationCodeMissing = 14
    InvalidMatchingId = 15
    NoEligibleProfileForThisDevice = 16
    OperationAborted = 17
    EidMismatch = 18
    ProfileNotAvailableForNewBinding = 19
    ProfileNotReleasedByOperator = 20
    OperationProhibitedByProfileClass = 21
    ProfileNotPresent = 22
    NoCorrespondingRequest = 23

    @property
    def activation_error(self) -> str:
        """The ``MobilePlansActivationError`` string (camelCase) for this status."""
        return self.name[0].lower() + self.name[1:]


def confirmation_code_digest(confirmation_code: str) -> bytes:
    """SHA-256 of the confirmation code: what the SM-DP+ stores (never the code itself)."""
    return hashlib.sha256(confirmation_code.encode()).digest()


def hash_cc(confirmation_code_digest_bytes: bytes, transaction_id: str) -> str:
    """``hashCc`` (SGP.22): hex SHA-256 over SHA-256(CC) followed by the session's transactionId."""
    return hashlib.sha256(confirmation_code_digest_bytes + transaction_id.encode()).hexdigest()
