"""Purchase metadata as the app reports it (spec 2.2.1-2.2.4, resolutions 7.1 #12-#15).

Enum values are the union of the documented ones, read case-insensitively and stored
PascalCase (7.1 #14); the samples' ``cancelled`` becomes ``Cancelled``. Only
``moDirectStatus`` and ``planName`` are validated as required (7.1 #15): ``planName``
must be non-empty when ``moDirectStatus`` is ``Complete``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, BeforeValidator, Field, model_validator

from mobileplans.kit import identifiers as ids
from mobileplans.kit.schema import ApiModel

STEP_VALUES = ("None", "New", "Existing", "Bailed")
STATUS_VALUES = (
    "None",
    "Bailed",
    "Complete",
    "ServiceError",
    "BillingError",
    "InvalidSIM",
    "LogOnFailed",
    "PurchaseFailed",
    "ClientError",
    "Cancelled",
)


def _enum(values: tuple[str, ...], field: str) -> BeforeValidator:
    lookup = {v.lower(): v for v in values}

    def check(value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str) or value.lower() not in lookup:
            raise ValueError(f"{field} must be one of {', '.join(values)}")
        return lookup[value.lower()]

    return BeforeValidator(check)


def _transaction_id(value: object) -> object:
    return ids.parse_transaction_id(value) if isinstance(value, str) else value


def _iccid(value: object) -> object:
    return ids.parse_iccid(value, lenient=True) if isinstance(value, str) and value else None


class PurchaseReport(ApiModel):
    """``POST /v1/telemetry/purchase`` body."""

    transaction_id: Annotated[str, BeforeValidator(_transaction_id)]
    operator_id: str | None = Field(default=None, max_length=64)
    callback: str = Field(pattern=r"^[A-Za-z][A-Za-z.]{0,63}$")
    user_account: Annotated[str | None, _enum(STEP_VALUES, "userAccount")] = None
    purchase_instrument: Annotated[str | None, _enum(STEP_VALUES, "purchaseInstrument")] = None
    line: Annotated[str | None, _enum(STEP_VALUES, "line")] = Field(
        default=None, validation_alias=AliasChoices("line", "lineType")
    )
    mo_direct_status: Annotated[str, _enum(STATUS_VALUES, "moDirectStatus")] = Field(
        validation_alias=AliasChoices("moDirectStatus", "modirectStatus")
    )
    plan_name: str = Field(max_length=120)
    iccid: Annotated[str | None, BeforeValidator(_iccid)] = None

    @model_validator(mode="after")
    def _plan_named_on_success(self) -> PurchaseReport:
        if self.mo_direct_status == "Complete" and not self.plan_name.strip():
            raise ValueError("planName must be non-empty when moDirectStatus is Complete")
        return self


class PurchaseRecorded(ApiModel):
    id: int
    transaction_id: str
    operator_id: str | None
    received_at: str
