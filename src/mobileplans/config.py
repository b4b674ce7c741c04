"""Process settings (env prefix ``MP_``).

The embedded default is SQLite (WAL) in the data directory; ``MP_DATABASE_URL``
switches to PostgreSQL (``postgresql+asyncpg://...``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    """The two Mobile Plans environments (spec 3.9): Staging and Production."""

    STAGING = "staging"
    PRODUCTION = "production"


class UrlPolicy(StrEnum):
    """How strictly operator URLs are checked (spec 3.1: https, no port).

    ``strict`` enforces the spec; ``local`` also accepts ``http`` and ports on
    loopback hosts, so ``mobileplans up`` can run the whole stack on 127.0.0.1.
    """

    STRICT = "strict"
    LOCAL = "local"


class PlatformContact(BaseModel):
    """A platform-side escalation contact (spec 5.4): implementation support during staging
    and onboarding, operations support in production. Placeholders by default."""

    name: str
    email: str
    phone: str | None = None
    """E.164; the number the operator side phones on a High / Sev 1 escalation (issue #10)."""
    environment: Environment | None = None
    severity: str = "any"


def _default_platform_contacts() -> list[PlatformContact]:
    return [
        PlatformContact(
            name="Mobile Plans Implementation Support",
            email="mp-implementation@platform.example",
            phone="+14255550101",
            environment=Environment.STAGING,
        ),
        PlatformContact(
            name="Mobile Plans Operations Support",
            email="mp-operations@platform.example",
            phone="+14255550100",
            environment=Environment.PRODUCTION,
        ),
    ]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MP_", extra="ignore")

    data_dir: Path = Field(default=Path(".mobileplans"))
    database_url: str | None = None
    admin_token: str | None = None
    environment: Environment = Environment.PRODUCTION
    url_policy: UrlPolicy = UrlPolicy.STRICT
    config_poll_seconds: float = 2.0
    broker_fast_path: bool = True
    transaction_retention_days: int = 90
    balance_cache_seconds: float = 10.0
    balance_timeout_seconds: float = 1.5
    broker_client_cert: Path | None = None
    broker_client_key: Path | None = None
    broker_ca_file: Path | None = None
    smtp_host: str | None = None
    """Outbound mail for notifications; unset: email notifications go to the log channel."""
    smtp_port: int = 25
    smtp_from: str = "mobileplans@platform.example"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    notification_lease_seconds: float = 60.0
    """How long a worker holds an outbox row it is sending; a killed worker's rows are
    retaken by another worker after this."""
    platform_contacts: list[PlatformContact] = Field(default_factory=_default_platform_contacts)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'mobileplans.db').resolve()}"


class MtlsPolicy(BaseModel):
    """Client-certificate rules of an MO API (spec 2.8, 7.1 #5).

    ``ca_file``: PEM bundle the client certificate must chain to. ``subject``: the
    RFC 4514 subject the platform's certificate must carry (spec 2.8 advises checking it);
    ``None`` accepts any subject from that CA.
    """

    ca_file: Path
    subject: str | None = None


class OperatorSite(BaseModel):
    """One operator hosted by the reference operator app (``/{operator_id}/...``)."""

    operator_id: str
    brand_name: str
    countries: list[str]
    languages: list[str] = Field(default_factory=lambda: ["en", "fr"])
    es2plus_url: str
    es2plus_requester_id: str
    callback_api: str = "current"  # current | legacy (spec 2.2.2 / 2.2.4)
    support_email: str = "support@operator.example"
    support_phone: str = "+14255550100"
    mtls: MtlsPolicy | None = None
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 100
    returning_gateway_id: str | None = None
    """GetOffers: gateway template for lines with a plan in service (spec 2.6); else "0"."""
    brand_color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")
    """``#RRGGBB`` of the generated logo and gateway image; derived from the id if unset."""
    download_delay_minute_seconds: float = 60.0
    """How long a download-delay "minute" lasts; the demo shortens it so scenarios finish fast."""


class OperatorAppConfig(BaseModel):
    """What the reference operator app serves: its sites and its public base URL."""

    sites: list[OperatorSite]
    public_base_url: str
    session_secret: str

    def site(self, operator_id: str) -> OperatorSite | None:
        return next((s for s in self.sites if s.operator_id == operator_id), None)
