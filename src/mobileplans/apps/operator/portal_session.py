"""The portal's session: a signed cookie (HMAC-SHA256 with ``OperatorAppConfig.session_secret``).

Format: ``base64url(JSON) "." base64url(HMAC-SHA256(secret, "<operatorId>|" + payload))``.
The operator id is part of what is signed, so one operator's cookie is never accepted
by another. A cookie older than ``MAX_AGE_SECONDS`` (from the launch) or with a bad
signature reads as no session. Only what the flow needs is kept: no card number, no
password; a new card is reduced to its last four digits and expiry at checkout.

The cookie is ``HttpOnly``, ``SameSite=Lax``, ``Path=/{operatorId}/portal``, and
``Secure`` on https. "Secure logout" (spec 5.11) = the cookie is deleted when the
session ends (confirmation, cancel, error).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

COOKIE_NAME = "mp_portal"
MAX_AGE_SECONDS = 3600


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceState(_State):
    transaction_id: str
    location: str
    market: str
    eid: str | None = None
    iccid: str | None = None
    iccids: list[str] = []
    imei: str | None = None


class CardState(_State):
    last4: str
    expiry: str


class ReentryState(_State):
    iccid: str
    errors: list[tuple[str, str | None]] = []  # (code name as received, timestamp text)
    key: str  # checkout key of the re-issue order


class EndState(_State):
    """A finished session: what the terminal page shows and the call it hands the app."""

    kind: str  # cancelled | error
    reason: str  # an i18n message key
    callback: dict[str, Any] | None = None


class PortalState(_State):
    operator_id: str
    issued: float  # epoch seconds of the launch
    device: DeviceState | None = None
    account_id: int | None = None
    user_account: str | None = None  # New | Existing
    email: str | None = None
    plan_id: int | None = None
    target: str | None = None  # "new" or an ICCID
    instrument: str | None = None  # saved | new
    card: CardState | None = None
    checkout_key: str | None = None
    terms: bool = False
    reentry: ReentryState | None = None
    end: EndState | None = None
    receipt: str | None = None  # order id of a placed order (the user is signed out)

    @property
    def transaction_id(self) -> str:
        return self.device.transaction_id if self.device else ""

    @property
    def signed_in(self) -> bool:
        return self.account_id is not None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, operator_id: str, payload: str) -> str:
    mac = hmac.new(secret.encode(), f"{operator_id}|{payload}".encode(), hashlib.sha256)
    return _b64(mac.digest())


def encode(state: PortalState, secret: str) -> str:
    payload = _b64(state.model_dump_json(exclude_defaults=True).encode())
    return f"{payload}.{_signature(secret, state.operator_id, payload)}"


def decode(token: str | None, secret: str, operator_id: str, now: datetime) -> PortalState | None:
    """The state in ``token`` if it is genuine, for this operator and not expired."""
    if not token or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    expected = _signature(secret, operator_id, payload)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    try:
        state = PortalState.model_validate_json(_unb64(payload))
    except (ValidationError, ValueError, binascii.Error):
        return None
    if state.operator_id != operator_id:
        return None
    age = now.timestamp() - state.issued
    return state if 0 <= age <= MAX_AGE_SECONDS else None
