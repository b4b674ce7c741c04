"""The JS calls a portal page hands to the app (spec 2.2.2, 2.2.4; docs/activation.md).

Current operators (``callback_api: current``):

- a new profile: ``MobilePlansInlineOperations.notifyProfileDownload(meta, ac)``, or with a
  third argument ``downloadDelay`` (minutes) for a delayed profile, with the two script
  names the app calls back (``registrationChangedScript``, ``profileActivationCompleteScript``);
- a balance: ``MobilePlansInlineOperations.notifyBalanceAddition(meta[, iccid])``;
- a cancel or an error: ``MobilePlans.notifyCancelledPurchase(meta)``.

Legacy operators: ``DataMart.notifyPurchaseResult(JSON.stringify(payload))`` with ``ver``
``"1"``, ``purchaseResult`` as a JSON *string*, ``success``, ``transactionId``,
``activationCode`` (a new profile only; ``""`` on failure) and ``iccid``.
"""

from __future__ import annotations

import json
from typing import Any

from mobileplans.domains.purchase.schemas import (
    Callback,
    CallbackApi,
    MetaValue,
    MoDirectStatus,
    PurchaseMeta,
)

SCRIPTS = {
    "registrationChangedScript": "mpRegistrationChanged",
    "profileActivationCompleteScript": "mpActivationComplete",
}
INLINE = "MobilePlansInlineOperations"


def _compact(value: Any) -> str:
    """``JSON.stringify`` output: no spaces, keys in insertion order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def profile_download(meta: PurchaseMeta, activation_code: str, delay: int | None) -> Callback:
    args: list[Any] = [meta.wire(), activation_code]
    if delay:
        args.append(delay)
    return Callback(INLINE, "notifyProfileDownload", args, dict(SCRIPTS))


def balance_addition(meta: PurchaseMeta, iccid: str | None) -> Callback:
    args: list[Any] = [meta.wire()]
    if iccid:
        args.append(iccid)
    return Callback(INLINE, "notifyBalanceAddition", args)


def cancelled_purchase(meta: PurchaseMeta) -> Callback:
    return Callback("MobilePlans", "notifyCancelledPurchase", [meta.wire()])


def legacy_result(
    meta: PurchaseMeta,
    *,
    transaction_id: str,
    activation_code: str | None,
    iccid: str | None,
) -> Callback:
    """``DataMart.notifyPurchaseResult`` exactly as the spec 2.2.2 examples build it."""
    success = meta.mo_direct_status is MoDirectStatus.COMPLETE
    payload: dict[str, Any] = {
        "ver": "1",
        "purchaseResult": _compact(meta.wire()),
        "success": success,
        "transactionId": transaction_id,
    }
    if not success:
        payload["activationCode"], payload["iccid"] = "", ""
    else:
        if activation_code:
            payload["activationCode"] = activation_code
        payload["iccid"] = iccid or ""
    return Callback("DataMart", "notifyPurchaseResult", [_compact(payload)])


def success(
    api: CallbackApi,
    meta: PurchaseMeta,
    *,
    transaction_id: str,
    iccid: str | None,
    activation_code: str | None = None,
    download_delay: int | None = None,
    notify_iccid: bool = False,
) -> Callback:
    """The call for a completed order: a profile to download, or a balance added."""
    if api is CallbackApi.LEGACY:
        return legacy_result(
            meta, transaction_id=transaction_id, activation_code=activation_code, iccid=iccid
        )
    if activation_code:
        return profile_download(meta, activation_code, download_delay)
    return balance_addition(meta, iccid if notify_iccid else None)


def failure(api: CallbackApi, meta: PurchaseMeta, *, transaction_id: str) -> Callback:
    """The call for a cancelled or failed session: control goes back to the app."""
    if api is CallbackApi.LEGACY:
        return legacy_result(meta, transaction_id=transaction_id, activation_code=None, iccid=None)
    return cancelled_purchase(meta)


def cancel_status(api: CallbackApi) -> MoDirectStatus:
    """``Cancelled`` for current portals (spec 1.6 cancel row, PascalCase per 7.1 #14);
    ``None`` for legacy ones, as the spec 2.2.2 "abandoned" example sends."""
    return MoDirectStatus.NONE if api is CallbackApi.LEGACY else MoDirectStatus.CANCELLED


def failure_meta(
    status: MoDirectStatus,
    *,
    user_account: MetaValue = MetaValue.NONE,
    purchase_instrument: MetaValue = MetaValue.NONE,
    line: MetaValue = MetaValue.NONE,
) -> PurchaseMeta:
    """Metadata of a session that bought nothing: ``planName`` is ``""`` (spec 2.2.4)."""
    return PurchaseMeta(
        user_account=user_account,
        purchase_instrument=purchase_instrument,
        line=line,
        mo_direct_status=status,
        plan_name="",
    )


def status_of(callback: dict[str, Any]) -> MoDirectStatus:
    """The ``moDirectStatus`` a stored callback reports (current or legacy shape)."""
    args = callback.get("args") or [{}]
    first = args[0]
    if isinstance(first, str):  # DataMart: a JSON string whose purchaseResult is a JSON string
        first = json.loads(json.loads(first)["purchaseResult"])
    return MoDirectStatus(first["moDirectStatus"])


def download_delay(callback: dict[str, Any]) -> int:
    """The ``downloadDelay`` of a ``notifyProfileDownload`` call, 0 when there is none."""
    args = callback.get("args") or []
    if callback.get("function") == "notifyProfileDownload" and len(args) > 2:
        return int(args[2])
    return 0
