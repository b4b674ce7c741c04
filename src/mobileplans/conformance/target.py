"""The operator under test: the target file (YAML, docs/conformance.md), validated.

Every problem is reported with its line (``target.yaml line 7: tls.client_key: ...``);
certificate and key files are read at load time, so an unreadable one is an argument
error before any request goes out. Relative paths are relative to the target file.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from mobileplans.kit import yaml_lines
from mobileplans.kit.identifiers import parse_country, parse_iccid
from mobileplans.kit.yaml_lines import Problem, YamlFileError
from mobileplans.simulator.endpoints import DemoData

DEFAULT_UNKNOWN_ICCID = "8999999999999999999"
"""Well-formed (19 digits, issuer 99999) and in no operator's range: every MO answers 404."""


class TargetError(ValueError):
    """The target cannot be used; the message is one line."""


def _https_or_http(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


def _iccid(value: str) -> str:
    return parse_iccid(str(value), field="iccid")


def _country(value: str) -> str:
    return parse_country(str(value))


Url = Annotated[str, AfterValidator(_https_or_http)]
Iccid = Annotated[str, AfterValidator(_iccid)]
Country = Annotated[str, AfterValidator(_country)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _file(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    base = (info.context or {}).get("base_dir")
    path = value if value.is_absolute() or base is None else Path(base) / value
    try:
        path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {value}: {exc.strerror or exc}") from exc
    return path


class TargetTls(_Model):
    client_certificate: Path | None = None
    client_key: Path | None = None
    ca_bundle: Path | None = None
    client_ca_certificate: Path | None = None
    client_ca_key: Path | None = None

    _files = field_validator(
        "client_certificate",
        "client_key",
        "ca_bundle",
        "client_ca_certificate",
        "client_ca_key",
    )(_file)


class TargetIccids(_Model):
    active: Iccid
    zero_balance: Iccid | None = None
    not_supported: Iccid | None = None
    unknown: Iccid = DEFAULT_UNKNOWN_ICCID


class TargetLocations(_Model):
    served: list[Country] = Field(min_length=1)
    not_served: Country | None = None


class TargetApis(_Model):
    get_offers: bool = False
    get_notifications: bool = False


class Target(_Model):
    operator: str = Field(default="operator", min_length=1, max_length=64)
    environment: str = "staging"
    mo_base_url: Url
    portal_url: Url
    offer_uri: Url | None = None
    notification_uri: Url | None = None
    smdp_url: Url | None = None
    broker_url: Url | None = None
    network_url: Url | None = None
    callback_hosts: list[str] = Field(default_factory=list)
    tls: TargetTls = Field(default_factory=TargetTls)
    iccids: TargetIccids
    locations: TargetLocations
    apis: TargetApis = Field(default_factory=TargetApis)
    latency_sla_ms: float = Field(default=400.0, gt=0)
    device: DemoData | None = None

    def api_base(self, api: str) -> str:
        """``mo_base_url`` or the declared OfferUri / NotificationUri, without the ``/``."""
        chosen = {"offers": self.offer_uri, "notifications": self.notification_uri}.get(api)
        return (chosen or self.mo_base_url).rstrip("/")

    def summary(self) -> dict[str, Any]:
        """The target as written into reports: URLs, roles, declared APIs; file names only."""
        data = self.model_dump(mode="json", exclude={"device"})
        data["tls"] = {k: Path(v).name for k, v in data["tls"].items() if v}
        return data


def _check_tls(target: Target, lines: dict[yaml_lines.Path, int], source: str) -> None:
    tls = target.tls
    pairs = [
        ("client_certificate", "client_key", tls.client_certificate, tls.client_key),
        ("client_ca_certificate", "client_ca_key", tls.client_ca_certificate, tls.client_ca_key),
    ]
    for cert_name, key_name, cert, key in pairs:
        if (cert is None) != (key is None):
            missing = key_name if key is None else cert_name
            line = yaml_lines.line_for(("tls",), lines)
            raise YamlFileError(source, [Problem(line, f"tls.{missing}", "is required too")])
        if cert is not None and key is not None:
            try:
                ssl.create_default_context().load_cert_chain(cert, key)
            except (ssl.SSLError, OSError, ValueError) as exc:
                line = yaml_lines.line_for(("tls", cert_name), lines)
                reason = getattr(exc, "reason", None) or str(exc)
                raise YamlFileError(
                    source, [Problem(line, f"tls.{cert_name}", f"unusable with its key: {reason}")]
                ) from exc
    if tls.ca_bundle is not None:
        try:
            ssl.create_default_context(cafile=str(tls.ca_bundle))
        except (ssl.SSLError, OSError, ValueError) as exc:
            line = yaml_lines.line_for(("tls", "ca_bundle"), lines)
            raise YamlFileError(
                source, [Problem(line, "tls.ca_bundle", f"not a PEM CA bundle: {exc}")]
            ) from exc


def parse_target(text: str, *, source: str, base_dir: Path | None = None) -> Target:
    """Validate a target document, or raise :class:`YamlFileError` (line-precise)."""
    data, lines = yaml_lines.parse(text, source)
    if not isinstance(data, dict):
        raise YamlFileError(source, [Problem(1, "", "the file must be a mapping (see docs)")])
    try:
        target = Target.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = [
            Problem(
                yaml_lines.line_for(tuple(e["loc"]), lines),
                yaml_lines.dotted(tuple(e["loc"])),
                str(e["msg"]).removeprefix("Value error, "),
            )
            for e in exc.errors()
        ]
        raise YamlFileError(source, problems[:1]) from exc
    _check_tls(target, lines, source)
    return target


def load_target(path: Path) -> Target:
    """Read and validate a target file; every problem is a one-line :class:`TargetError`."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TargetError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return parse_target(text, source=str(path), base_dir=path.parent)
    except YamlFileError as exc:
        raise TargetError(str(exc)) from exc
