"""Settings of one SM-DP+ process (``SmdpConfig``)."""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, Field, field_validator

_ADDRESS = re.compile(r"^[A-Za-z0-9.\-:]+$")


def _env(name: str, default: float) -> float:
    """A callback tunable from ``MP_SMDP_<NAME>`` (docs/smdp.md S15), else ``default``."""
    return float(os.environ.get(f"MP_SMDP_{name.upper()}", default))


class SmdpConfig(BaseModel):
    """What the SM-DP+ needs to know about itself.

    ``address`` is the SM-DP+ address written into activation codes
    (``1$<address>$<matchingId>``, esim-rsp 1.8: FQDN characters, no ``$``), e.g.
    ``127.0.0.1:8702`` for the local stack; ``public_base_url`` is where its HTTP API
    answers. Limits: ``session_ttl_seconds`` for a device download session,
    ``max_download_attempts`` download sessions per order (8.8.5/6.4 after),
    ``max_cc_attempts`` wrong confirmation codes (8.2.7/6.4 on the last one).
    Callbacks to the operator carry ``requester_identifier`` as their
    ``functionRequesterIdentifier``; they wait in the outbox (docs/smdp.md S15) and are
    retried with exponential backoff from ``callback_backoff_seconds`` capped at
    ``callback_backoff_max_seconds`` until ``callback_give_up_seconds`` after they were
    written; a sender leases a callback for ``callback_lease_seconds``. The four default
    from ``MP_SMDP_CALLBACK_BACKOFF_SECONDS`` etc. when set.
    """

    address: str = "127.0.0.1:8702"
    requester_identifier: str = Field(default="mobileplans-smdp", min_length=1, max_length=64)
    public_base_url: str = "http://127.0.0.1:8702"
    session_ttl_seconds: int = Field(default=900, gt=0)
    max_download_attempts: int = Field(default=5, gt=0)
    max_cc_attempts: int = Field(default=3, gt=0)
    callback_backoff_seconds: float = Field(
        default_factory=lambda: _env("callback_backoff_seconds", 30.0), ge=0
    )
    callback_backoff_max_seconds: float = Field(
        default_factory=lambda: _env("callback_backoff_max_seconds", 600.0), ge=0
    )
    callback_give_up_seconds: float = Field(
        default_factory=lambda: _env("callback_give_up_seconds", 86400.0), gt=0
    )
    callback_lease_seconds: float = Field(
        default_factory=lambda: _env("callback_lease_seconds", 60.0), gt=0
    )
    callback_timeout_seconds: float = Field(default=5.0, gt=0)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _ADDRESS.fullmatch(value):
            raise ValueError("must be a host[:port] without '$' (SGP.22 activation code)")
        return value
