"""Settings of one SM-DP+ process (``SmdpConfig``)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

_ADDRESS = re.compile(r"^[A-Za-z0-9.\-:]+$")


class SmdpConfig(BaseModel):
    """What the SM-DP+ needs to know about itself.

    ``address`` is the SM-DP+ address written into activation codes
    (``1$<address>$<matchingId>``, esim-rsp 1.8: FQDN characters, no ``$``), e.g.
    ``127.0.0.1:8702`` for the local stack; ``public_base_url`` is where its HTTP API
    answers. Limits: ``session_ttl_seconds`` for a device download session,
    ``max_download_attempts`` download sessions per order (8.8.5/6.4 after),
    ``max_cc_attempts`` wrong confirmation codes (8.2.7/6.4 on the last one).
    Callbacks to the operator carry ``requester_identifier`` as their
    ``functionRequesterIdentifier`` and are tried ``callback_attempts`` times with
    exponential backoff starting at ``callback_backoff_seconds``.
    """

    address: str = "127.0.0.1:8702"
    requester_identifier: str = Field(default="mobileplans-smdp", min_length=1, max_length=64)
    public_base_url: str = "http://127.0.0.1:8702"
    session_ttl_seconds: int = Field(default=900, gt=0)
    max_download_attempts: int = Field(default=5, gt=0)
    max_cc_attempts: int = Field(default=3, gt=0)
    callback_attempts: int = Field(default=4, gt=0, le=10)
    callback_backoff_seconds: float = Field(default=0.5, ge=0)
    callback_timeout_seconds: float = Field(default=5.0, gt=0)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _ADDRESS.fullmatch(value):
            raise ValueError("must be a host[:port] without '$' (SGP.22 activation code)")
        return value
