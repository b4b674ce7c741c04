"""Purchase metadata the portal hands the app, and the checks a conformance kit applies.

Spec 2.2.4 (current table), 2.2.2 (legacy), 7.1 #13-#15:

- ``moDirectStatus`` is required and one of the documented values (the union of the
  tables plus the samples' ``cancelled``); ``modirectStatus`` is accepted as an alias.
- ``planName`` is required: non-empty on success (``Complete``), ``""`` otherwise.
- ``userAccount``, ``purchaseInstrument`` and ``line`` (alias ``lineType``) are optional,
  but when present they are ``New``, ``Existing``, ``Bailed`` or ``None``.
- Values are PascalCase strings (7.1 #14); another casing is accepted and noted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Expect(StrEnum):
    """What a callback says happened, which decides the planName rule."""

    SUCCESS = "success"  # a profile download or a balance addition: something was bought
    FAILURE = "failure"  # a cancelled or failed purchase: nothing was bought
    ANY = "any"


ACCOUNT_VALUES = ("New", "Existing", "Bailed", "None")
MO_DIRECT_STATUS_VALUES = (
    "Complete",
    "ServiceError",
    "BillingError",
    "InvalidSIM",
    "LogOnFailed",
    "PurchaseFailed",
    "ClientError",
    "Bailed",
    "Cancelled",
    "None",
)
SUCCESS_STATUS = "Complete"
NAME_ALIASES = {"lineType": "line", "modirectStatus": "moDirectStatus"}
OPTIONAL_FIELDS = ("userAccount", "purchaseInstrument", "line")
PLAN_NAME_MAX = 120


@dataclass(frozen=True)
class PurchaseMeta:
    user_account: str | None
    purchase_instrument: str | None
    line: str | None
    mo_direct_status: str | None
    plan_name: str | None

    @property
    def succeeded(self) -> bool:
        return self.mo_direct_status == SUCCESS_STATUS

    def wire(self) -> dict[str, str | None]:
        return {
            "userAccount": self.user_account,
            "purchaseInstrument": self.purchase_instrument,
            "line": self.line,
            "moDirectStatus": self.mo_direct_status,
            "planName": self.plan_name,
        }


@dataclass
class MetaCheck:
    """The parsed metadata with what is wrong (violations) and merely odd (notes)."""

    meta: PurchaseMeta
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _canonical(name: str, value: Any, allowed: tuple[str, ...], check: MetaCheck) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        check.violations.append(f"{name} must be a string, got {type(value).__name__}")
        return None
    for candidate in allowed:
        if candidate.lower() == value.lower():
            if candidate != value:
                check.notes.append(f"{name} {value!r} is not PascalCase ({candidate!r})")
            return candidate
    check.violations.append(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return value


def _merge_aliases(raw: dict[str, Any], check: MetaCheck) -> dict[str, Any]:
    merged = dict(raw)
    for alias, name in NAME_ALIASES.items():
        if alias not in raw:
            continue
        check.notes.append(f"metadata uses the alias {alias!r} for {name!r}")
        if name in raw and raw[name] != raw[alias]:
            check.violations.append(f"{alias} and {name} disagree: {raw[alias]!r} vs {raw[name]!r}")
        merged.setdefault(name, raw[alias])
    return merged


def parse_meta(value: Any, *, expect: Expect = Expect.ANY) -> MetaCheck:
    """Parse and validate one purchase metadata object (spec 2.2.4)."""
    empty = PurchaseMeta(None, None, None, None, None)
    if not isinstance(value, dict):
        return MetaCheck(empty, [f"purchase metadata must be an object, got {_kind(value)}"])
    check = MetaCheck(empty)
    raw = _merge_aliases(value, check)
    fields = {n: _canonical(n, raw.get(n), ACCOUNT_VALUES, check) for n in OPTIONAL_FIELDS}
    status = raw.get("moDirectStatus")
    if status is None:
        check.violations.append("moDirectStatus is required")
    status = _canonical("moDirectStatus", status, MO_DIRECT_STATUS_VALUES, check)
    plan_name = _plan_name(raw, check)
    check.meta = PurchaseMeta(
        fields["userAccount"], fields["purchaseInstrument"], fields["line"], status, plan_name
    )
    _check_outcome(check, expect)
    return check


def _plan_name(raw: dict[str, Any], check: MetaCheck) -> str | None:
    if "planName" not in raw or raw["planName"] is None:
        check.violations.append('planName is required ("" when nothing was bought)')
        return None
    name = raw["planName"]
    if not isinstance(name, str):
        check.violations.append(f"planName must be a string, got {type(name).__name__}")
        return None
    if len(name) > PLAN_NAME_MAX:
        check.notes.append(f"planName is {len(name)} characters long")
    return name


def _check_outcome(check: MetaCheck, expect: Expect) -> None:
    meta = check.meta
    if meta.succeeded and meta.plan_name is not None and not meta.plan_name.strip():
        check.violations.append("planName must be a non-empty name when moDirectStatus is Complete")
    if meta.mo_direct_status and not meta.succeeded and meta.plan_name:
        check.violations.append(
            f'planName must be "" when moDirectStatus is {meta.mo_direct_status}'
        )
    if expect is Expect.SUCCESS and meta.mo_direct_status and not meta.succeeded:
        check.violations.append(
            f"this callback reports a completed purchase, but moDirectStatus is "
            f"{meta.mo_direct_status}"
        )
    if expect is Expect.FAILURE and meta.succeeded:
        check.violations.append("a cancelled purchase must not report moDirectStatus Complete")
    if expect is Expect.FAILURE and meta.line in ("New", "Existing"):
        check.violations.append(f"a cancelled purchase must not report line {meta.line}")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
