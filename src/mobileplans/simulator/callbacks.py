"""Portal → app calls, from the page's ``mp-callback`` block or the browser bridge.

A :class:`BridgeCall` is what reached the app: the bridge object and function the
portal called, the arguments, and the script names it registered
(``registrationChangedScript``, ``profileActivationCompleteScript``). :func:`interpret`
turns it into what the app must do (an :class:`Intent`), with the spec's rules checked:

- spec 2.2.4 ``MobilePlansInlineOperations.notifyProfileDownload(meta, ac[, downloadDelay])``,
  ``.notifyBalanceAddition(meta[, iccid])``, ``.notifyOperationCancel(ctx)``;
- spec 2.2.3 ``MobilePlans.notifyPurchaseWithProfileDownload``,
  ``.notifyPurchaseDelayedProfile``, ``.notifyBalanceAddition``, ``.notifyCancelledPurchase``,
  and the era A inline names ``MobilePlansInlineProfile(Download).notifyInlineProfileDownload``;
- spec 2.2.2 ``DataMart.notifyPurchaseResult(JSON string)`` (alias
  ``MobilePlans.notifyPurchaseResult``, 7.1 #17), ``purchaseResult`` as a string or an
  object (7.1 #12).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from mobileplans.kit.esim import ActivationCode, ActivationCodeError
from mobileplans.kit.identifiers import IdentifierError, parse_iccid
from mobileplans.simulator.meta import Expect, MetaCheck, parse_meta

SCRIPT_NAMES = ("registrationChangedScript", "profileActivationCompleteScript")
SCRIPT_ALIASES = {"RegistrationCompleteScript": "registrationChangedScript"}
INLINE_OBJECTS = (
    "MobilePlansInlineOperations",
    "MobilePlansInlineProfile",
    "MobilePlansInlineProfileDownload",
)
LEGACY_OBJECTS = ("MobilePlans", "DataMart")


class CallbackError(ValueError):
    """The call cannot be understood at all (bad JSON, unknown function)."""


@dataclass(frozen=True)
class BridgeCall:
    object: str
    function: str
    args: tuple[Any, ...]
    scripts: dict[str, str] = field(default_factory=dict)
    origin: str | None = None

    @property
    def name(self) -> str:
        return f"{self.object}.{self.function}"


@dataclass
class Intent:
    """What the app does for a call; ``check`` carries the metadata verdict."""

    kind: str  # download | balance | cancelled | delayed_smds | operation_cancel
    check: MetaCheck | None
    activation_code: ActivationCode | None = None
    download_delay_minutes: int | None = None
    registration_interval_minutes: int | None = None
    iccid: str | None = None
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def all_violations(self) -> list[str]:
        return [*(self.check.violations if self.check else []), *self.violations]

    def all_notes(self) -> list[str]:
        return [*(self.check.notes if self.check else []), *self.notes]


def parse_callback_block(text: str, *, origin: str | None = None) -> BridgeCall:
    """Parse ``<script type="application/json" id="mp-callback">`` (docs/activation.md)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CallbackError(f"mp-callback is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CallbackError("mp-callback must be a JSON object")
    obj, function, args = data.get("object"), data.get("function"), data.get("args", [])
    if not isinstance(obj, str) or not isinstance(function, str) or not isinstance(args, list):
        raise CallbackError("mp-callback needs 'object' and 'function' strings and an 'args' list")
    scripts = data.get("scripts")
    scripts = {} if scripts is None else scripts
    if not isinstance(scripts, dict):
        raise CallbackError("mp-callback 'scripts' must be an object")
    return BridgeCall(obj, function, tuple(args), normalize_scripts(scripts), origin)


def normalize_scripts(scripts: dict[str, Any]) -> dict[str, str]:
    """Keep string script names, mapping the diagrams' ``RegistrationCompleteScript`` (7.1 #18)."""
    out: dict[str, str] = {}
    for key, value in scripts.items():
        name = SCRIPT_ALIASES.get(key, key)
        if name in SCRIPT_NAMES and isinstance(value, str) and value:
            out.setdefault(name, value)
    return out


def interpret(call: BridgeCall, *, transaction_id: str | None = None) -> Intent:
    """Map a call to what the app does; raise :class:`CallbackError` for unknown names."""
    obj, fn = call.object, call.function
    if fn in ("notifyProfileDownload", "notifyInlineProfileDownload") and obj in INLINE_OBJECTS:
        return _profile_download(call)
    if fn == "notifyPurchaseWithProfileDownload" and obj in LEGACY_OBJECTS:
        return _async_connectivity(call)
    if fn == "notifyBalanceAddition" and obj in (*INLINE_OBJECTS, *LEGACY_OBJECTS):
        return _balance_addition(call, iccid_required=obj in LEGACY_OBJECTS)
    if fn == "notifyCancelledPurchase" and obj in LEGACY_OBJECTS:
        return Intent("cancelled", parse_meta(_arg(call, 0), expect=Expect.FAILURE))
    if fn == "notifyPurchaseDelayedProfile" and obj in LEGACY_OBJECTS:
        intent = Intent("delayed_smds", parse_meta(_arg(call, 0), expect=Expect.SUCCESS))
        intent.download_delay_minutes = _minutes(
            _arg(call, 1), "profileDownloadDelayInterval", intent
        )
        return intent
    if fn == "notifyOperationCancel" and obj in INLINE_OBJECTS:
        return Intent("operation_cancel", None)
    if fn == "notifyPurchaseResult" and obj in LEGACY_OBJECTS:
        return interpret_legacy(_arg(call, 0), transaction_id=transaction_id)
    raise CallbackError(f"{call.name} is not a Mobile Plans callback")


def _arg(call: BridgeCall, index: int) -> Any:
    return call.args[index] if index < len(call.args) else None


def _profile_download(call: BridgeCall) -> Intent:
    intent = Intent("download", parse_meta(_arg(call, 0), expect=Expect.SUCCESS))
    intent.activation_code = _activation_code(_arg(call, 1), intent)
    if len(call.args) > 2 and call.args[2] is not None:
        intent.download_delay_minutes = _minutes(call.args[2], "downloadDelay", intent)
    if call.function == "notifyInlineProfileDownload":
        intent.notes.append(f"{call.name} is the era A name of notifyProfileDownload")
    return intent


def _async_connectivity(call: BridgeCall) -> Intent:
    intent = Intent("download", parse_meta(_arg(call, 0), expect=Expect.SUCCESS))
    intent.activation_code = _activation_code(_arg(call, 1), intent)
    minutes = _minutes(_arg(call, 2), "networkRegistrationInterval", intent)
    intent.registration_interval_minutes = None if minutes is None else round_interval(minutes)
    return intent


def _balance_addition(call: BridgeCall, *, iccid_required: bool) -> Intent:
    intent = Intent("balance", parse_meta(_arg(call, 0), expect=Expect.SUCCESS))
    raw = _arg(call, 1)
    if raw in (None, ""):
        if iccid_required:
            intent.violations.append(f"{call.name} needs the ICCID whose balance grew")
        return intent
    intent.iccid = _iccid(raw, intent)
    return intent


def _activation_code(value: Any, intent: Intent) -> ActivationCode | None:
    if not isinstance(value, str) or not value:
        intent.violations.append("activationCode must be a non-empty string")
        return None
    try:
        code = ActivationCode.parse(value)
    except ActivationCodeError as exc:
        intent.violations.append(f"activationCode {value!r}: {exc}")
        return None
    if code.confirmation_code_required:
        intent.violations.append("activation codes must not require a confirmation code (2.2.5)")
    if not code.matching_id:
        intent.notes.append("activation code has an empty matchingId (default SM-DP+ download)")
    return code


def _minutes(value: Any, name: str, intent: Intent) -> int | None:
    number = value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        intent.violations.append(f"{name} must be an unsigned integer of minutes, got {value!r}")
        return None
    return number


def _iccid(value: Any, intent: Intent) -> str | None:
    if not isinstance(value, str):
        intent.violations.append(f"iccid must be a string, got {type(value).__name__}")
        return None
    try:
        return parse_iccid(value, lenient=True)
    except IdentifierError as exc:
        intent.violations.append(f"iccid {value!r}: {exc.rule}")
        return None


def round_interval(minutes: int) -> int:
    """Round up to a multiple of 15, at least 15 unless 0 (spec 7.1 #16)."""
    return 0 if minutes == 0 else -(-minutes // 15) * 15


def interpret_legacy(payload: Any, *, transaction_id: str | None = None) -> Intent:
    """``DataMart.notifyPurchaseResult(JSON string)`` (spec 2.2.2; 7.1 #12)."""
    notes: list[str] = []
    violations: list[str] = []
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise CallbackError(f"notifyPurchaseResult payload is not JSON: {exc}") from exc
    else:
        violations.append("notifyPurchaseResult must be passed a JSON string (JSON.stringify)")
    if not isinstance(payload, dict):
        raise CallbackError("notifyPurchaseResult payload must be a JSON object")
    result = payload.get("purchaseResult")
    if isinstance(result, str):
        try:
            result = json.loads(result)
        except ValueError:
            violations.append("purchaseResult is a string but not JSON")
    elif isinstance(result, dict):
        notes.append("purchaseResult passed as an object (the spec asks for a JSON string)")
    success = payload.get("success")
    if not isinstance(success, bool):
        violations.append(f"success must be a boolean, got {success!r}")
    intent = _legacy_intent(payload, result, success is True)
    intent.violations[:0] = violations
    intent.notes[:0] = notes
    _legacy_checks(payload, intent, transaction_id)
    return intent


def _legacy_intent(payload: dict[str, Any], result: Any, success: bool) -> Intent:
    if not success:
        return Intent("cancelled", parse_meta(result, expect=Expect.FAILURE))
    check = parse_meta(result, expect=Expect.SUCCESS)
    code = payload.get("activationCode")
    raw_iccid = payload.get("iccid", payload.get("Iccid"))
    if code:
        intent = Intent("download", check)
        intent.activation_code = _activation_code(code, intent)
    else:
        intent = Intent("balance", check)
    if raw_iccid:
        intent.iccid = _iccid(raw_iccid, intent)
    elif intent.kind == "balance":
        intent.violations.append("a physical-SIM purchase result must carry the iccid")
    return intent


def _legacy_checks(payload: dict[str, Any], intent: Intent, transaction_id: str | None) -> None:
    if payload.get("ver") != "1":
        intent.violations.append(f"ver must be '1', got {payload.get('ver')!r}")
    echoed = payload.get("transactionId")
    if transaction_id is not None and echoed != transaction_id:
        intent.violations.append(
            f"transactionId must echo the launch transactionId {transaction_id!r}, got {echoed!r}"
        )
