"""Wire schemas of the operator registry (spec 3.1, 3.3, 3.4; issue #2).

URL rules depend on the deployment's :class:`~mobileplans.config.UrlPolicy`, passed
as validation context ``{"url_policy": "strict"|"local"}`` (default strict).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mobileplans.config import Environment, UrlPolicy
from mobileplans.domains.operator_registry.assets import (
    COLOR,
    GATEWAY_IMAGE_MAX,
    LOGO_SIZES,
    brand_name_line_share,
)
from mobileplans.domains.operator_registry.phone_numbers import parse_prefix
from mobileplans.kit import identifiers as ids
from mobileplans.kit.schema import ApiModel
from mobileplans.kit.urls import check_endpoint_url, check_origin, origin_of

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


class OnboardingPhase(StrEnum):
    """Mobile Plans onboarding phases (spec 4.4) plus the post-launch state."""

    FEASIBILITY = "feasibility"
    DEVELOPMENT = "development"
    INTEGRATION = "integration"
    ROLLOUT = "rollout"
    LAUNCHED = "launched"


class RangeKind(StrEnum):
    """A production range may be a test subset first, then the full range (spec 4.3)."""

    TEST = "test"
    FULL = "full"


class CallbackApi(StrEnum):
    """Which JS callback generation the operator's portal uses (spec 2.2)."""

    CURRENT = "current"
    LEGACY = "legacy"


class Severity(StrEnum):
    """Severity names of the three generations (spec 5.3); ``any`` matches all."""

    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    HIGH = "high"
    LOW = "low"
    ANY = "any"


def _strict(info: ValidationInfo) -> bool:
    context = info.context or {}
    return bool(context.get("url_policy", UrlPolicy.STRICT) == UrlPolicy.STRICT)


def _country(value: object) -> object:
    return ids.parse_country(value, field="countries") if isinstance(value, str) else value


Country = Annotated[str, BeforeValidator(_country)]


class Logo(ApiModel):
    """Brand logo: square, full bleed, no transparency (spec 3.3)."""

    uri: str
    width: int
    height: int

    @model_validator(mode="after")
    def _square_and_sized(self) -> Logo:
        if self.width != self.height or self.width not in LOGO_SIZES:
            allowed = ", ".join(f"{s}x{s}" for s in sorted(LOGO_SIZES))
            raise ValueError(f"logo must be one of {allowed} px (300x300 for Mobile Plans)")
        return self


class GatewayImage(ApiModel):
    uri: str
    width: int = Field(gt=0)
    height: int = Field(gt=0)

    @model_validator(mode="after")
    def _png_within_limits(self) -> GatewayImage:
        max_w, max_h = GATEWAY_IMAGE_MAX
        if self.width > max_w or self.height > max_h:
            raise ValueError(f"gateway image must be at most {max_w}x{max_h} px")
        if not self.uri.lower().split("?")[0].endswith(".png"):
            raise ValueError("gateway image must be a PNG")
        return self


class GatewayTemplate(ApiModel):
    """Enhanced gateway template (spec 3.4); ``id`` is coerced to a string (7.1 #23)."""

    id: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] = "0"
    background_color: str | None = None
    body_font_color: str | None = None
    body_text: str | None = Field(default=None, max_length=500)
    button_color: str | None = None
    button_font_color: str | None = None
    button_text: str | None = Field(default=None, max_length=40)
    hyperlink_font_color: str | None = Field(
        default=None,
        validation_alias=AliasChoices("hyperlinkFontColor", "hyperlinkColor"),
    )
    images: list[GatewayImage] = Field(default_factory=list)

    @field_validator(
        "background_color",
        "body_font_color",
        "button_color",
        "button_font_color",
        "hyperlink_font_color",
    )
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        if value is not None and not COLOR.fullmatch(value):
            raise ValueError("colour must be 0xRRGGBBAA")
        return value


class EnvironmentSettings(ApiModel):
    """An operator's endpoints in one environment (spec 3.1, 3.9)."""

    portal_url: str
    mo_base_url: str | None = None
    offer_uri: str | None = None
    notification_uri: str | None = None
    callback_hosts: list[str] = Field(default_factory=list)
    enabled: bool = True

    @field_validator("portal_url", "mo_base_url")
    @classmethod
    def _endpoint(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_endpoint_url(value, strict=_strict(info))

    @field_validator("offer_uri", "notification_uri")
    @classmethod
    def _base_with_slash(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        return check_endpoint_url(value, strict=_strict(info), trailing_slash=True)

    @field_validator("callback_hosts")
    @classmethod
    def _origins(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return [check_origin(v, strict=_strict(info)) for v in value]

    @model_validator(mode="after")
    def _default_callback_host(self) -> EnvironmentSettings:
        if not self.callback_hosts:
            object.__setattr__(self, "callback_hosts", [origin_of(self.portal_url)])
        return self


class Contact(ApiModel):
    """An escalation contact on the operator side (spec 5.4)."""

    severity: Severity = Severity.ANY
    environment: Environment | None = None
    name: str = Field(min_length=1, max_length=120)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = None

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return None if value is None else ids.parse_phone_number(value, field="phone")

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if not self.email and not self.phone:
            raise ValueError("a contact needs an email or a phone number")
        return self


class IccidRangeIn(ApiModel):
    """An inclusive ICCID range (spec 3.1, 3.2); start and end have the same length."""

    environment: Environment
    start: str
    end: str
    kind: RangeKind = RangeKind.FULL

    @field_validator("start", "end", mode="before")
    @classmethod
    def _digits_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("start", "end")
    @classmethod
    def _iccid(cls, value: str, info: ValidationInfo) -> str:
        # Range bounds need not carry valid check digits (COSA ranges end in 00/99).
        return ids.parse_iccid(value, field=info.field_name or "iccid", lenient=True)

    @model_validator(mode="after")
    def _ordered(self) -> IccidRangeIn:
        if len(self.start) != len(self.end):
            raise ValueError("start and end must have the same number of digits")
        if int(self.start) > int(self.end):
            raise ValueError("start must not be greater than end")
        return self


class IccidRangeRead(IccidRangeIn):
    id: int
    operator_id: str


class OperatorSpec(ApiModel):
    """One operator's whole configuration, as the admin API and the YAML file carry it."""

    id: str = Field(pattern=SLUG)
    brand_name: str = Field(min_length=1, max_length=120)
    countries: list[Country] = Field(min_length=1)
    plmns: list[str] = Field(default_factory=list)
    phone_prefixes: list[str] | None = None
    """E.164 prefixes of the numbers the operator serves (phone-number lookup, issue #9)."""
    logo: Logo | None = None
    gateway_templates: list[GatewayTemplate] = Field(default_factory=list)
    iccid_lenient: bool = False
    monitoring_iccid: str | None = None
    onboarding_phase: OnboardingPhase = OnboardingPhase.LAUNCHED
    """Live unless an onboarding project says otherwise (``onboarding start``; D140)."""
    callback_api: CallbackApi = CallbackApi.CURRENT
    timezone: str = "UTC"
    environments: dict[Environment, EnvironmentSettings] = Field(default_factory=dict)
    contacts: list[Contact] = Field(default_factory=list)
    iccid_ranges: list[IccidRangeIn] = Field(default_factory=list)

    @field_validator("monitoring_iccid", mode="before")
    @classmethod
    def _iccid_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("monitoring_iccid")
    @classmethod
    def _monitoring_iccid(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        lenient = bool(info.data.get("iccid_lenient", False))
        return ids.parse_iccid(value, field="monitoringIccid", lenient=lenient)

    @field_validator("brand_name")
    @classmethod
    def _fits_flyout(cls, value: str) -> str:
        if brand_name_line_share(value) > 1.0:
            raise ValueError("brand name does not fit the flyout's one line (spec 3.3)")
        return value

    @field_validator("countries")
    @classmethod
    def _unique_countries(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @field_validator("plmns")
    @classmethod
    def _plmns(cls, value: list[str]) -> list[str]:
        return [str(ids.parse_plmn(v, field="plmns")) for v in value]

    @field_validator("phone_prefixes")
    @classmethod
    def _prefixes(cls, value: list[str] | None) -> list[str] | None:
        return sorted({parse_prefix(v) for v in value}) or None if value is not None else None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> OperatorSpec:
        ids_seen = [t.id for t in self.gateway_templates]
        if len(ids_seen) != len(set(ids_seen)):
            raise ValueError("gateway template ids must be unique")
        if self.monitoring_iccid is not None:
            iccid = ids.parse_iccid(
                self.monitoring_iccid,
                field="monitoringIccid",
                lenient=self.iccid_lenient,
            )
            object.__setattr__(self, "monitoring_iccid", iccid)
        ordered = sorted(self.iccid_ranges, key=lambda r: (r.environment.value, r.start))
        object.__setattr__(self, "iccid_ranges", ordered)
        for rng in self.iccid_ranges:
            if rng.environment not in self.environments:
                raise ValueError(
                    f"ICCID range {rng.start}-{rng.end} names environment "
                    f"{rng.environment.value!r}, which has no settings"
                )
        return self


class RegistryDocument(ApiModel):
    """The whole configuration (``mobileplans config import|export``)."""

    version: int = 1
    operators: list[OperatorSpec]  # required: a document without it is not a configuration (D216)

    @model_validator(mode="after")
    def _unique_ids(self) -> RegistryDocument:
        seen: set[str] = set()
        for op in self.operators:
            if op.id in seen:
                raise ValueError(f"operator id {op.id!r} appears twice")
            seen.add(op.id)
        return self


class ImportSummary(ApiModel):
    created: list[str]
    updated: list[str]
    deleted: list[str]
    unchanged: list[str]
    version: int


class PhoneNumberRead(ApiModel):
    """``GET /v1/phone-numbers/{e164}``: the operator serving a number (seed 004 step 1)."""

    phone_number: str
    operator_id: str
    brand_name: str
    environment: Environment
