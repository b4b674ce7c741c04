"""SM-DP+ tables (prefix ``smdp_``): profile inventory, its history, ES2+ calls, downloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mobileplans.db.base import Base


class SmdpProfile(Base):
    """One eSIM profile the SM-DP+ holds, by ICCID, with its SGP.22 lifecycle state."""

    __tablename__ = "smdp_profiles"

    iccid: Mapped[str] = mapped_column(String(20), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    profile_type: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    eid: Mapped[str | None] = mapped_column(String(32))
    matching_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirmation_code_hash: Mapped[str | None] = mapped_column(String(128))
    cc_attempts: Mapped[int] = mapped_column(Integer, default=0)
    download_attempts: Mapped[int] = mapped_column(Integer, default=0)
    spn: Mapped[str] = mapped_column(String(32))
    profile_name: Mapped[str] = mapped_column(String(64))
    requester_id: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SmdpProfileEvent(Base):
    """Every state transition of a profile, with the function that caused it."""

    __tablename__ = "smdp_profile_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    iccid: Mapped[str] = mapped_column(String(20), index=True)
    at: Mapped[datetime]
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    function: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]


class SmdpRequester(Base):
    """An ES2+ client (functionRequesterIdentifier) and where to send its callbacks."""

    __tablename__ = "smdp_requesters"

    requester_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    callback_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class SmdpFunctionCall(Base):
    """ES2+ calls seen, by (requester, functionCallIdentifier): replays answer the same."""

    __tablename__ = "smdp_function_calls"

    requester_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    function_call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    function: Mapped[str] = mapped_column(String(32))
    body_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class SmdpDownloadSession(Base):
    """A device download in progress (our SGP.22-shaped device interface)."""

    __tablename__ = "smdp_download_sessions"

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    iccid: Mapped[str] = mapped_column(String(20), index=True)
    eid: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SmdpCallbackOutbox(Base):
    """A ``handleDownloadProgressInfo`` callback waiting for (or past) delivery (issue #11).

    Written in the transaction of the profile change that produced it; delivered in ``id``
    order per ICCID by ``domains.smdp.outbox`` (lease = compare-and-set on ``lease_owner``
    and ``lease_expires_at``). ``status``: ``pending`` → ``delivered`` | ``failed``.
    """

    __tablename__ = "smdp_callback_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    iccid: Mapped[str] = mapped_column(String(20), index=True)
    requester_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    call_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
