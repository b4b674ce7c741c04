"""Operations API credentials and the party a token stands for.

The platform side authenticates with the admin token (or a platform credential); each
operator gets its own credentials (``mobileplans credentials create --operator ID``). A
token is shown once; only its SHA-256 is stored. An operator party sees and changes only
its own incidents, maintenance windows and bugs: records of other operators answer 404,
as if they did not exist.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import ApiCredential
from mobileplans.domains.access import repository
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.errors import BadRequest, Forbidden, NotFound

Side = Literal["platform", "operator"]
TOKEN_PREFIX = "mpo_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class Party:
    """The caller: ``side`` platform (``operator_id`` None) or operator."""

    side: Side
    operator_id: str | None
    actor: str

    @property
    def is_platform(self) -> bool:
        return self.side == "platform"

    def sees(self, operator_id: str | None) -> bool:
        """Whether records of ``operator_id`` (None: global records) are visible."""
        return self.is_platform or (operator_id is not None and operator_id == self.operator_id)

    def check_visible(self, operator_id: str | None, what: str) -> None:
        """404 for a record this party may not see (its existence is not revealed)."""
        if not self.sees(operator_id):
            raise NotFound(f"{what} does not exist")

    def acting_for(self, operator_id: str | None) -> str:
        """The operator a request is about: an operator party may name only itself."""
        if self.is_platform:
            if operator_id is None:
                raise BadRequest("operatorId is required", field="operatorId")
            return operator_id
        assert self.operator_id is not None
        if operator_id not in (None, self.operator_id):
            raise Forbidden(
                f"credentials of operator {self.operator_id!r} cannot act for {operator_id!r}"
            )
        return self.operator_id


PLATFORM_ADMIN = Party("platform", None, "admin")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedCredential:
    id: int
    operator_id: str | None
    name: str
    token: str


async def create_credential(
    session: AsyncSession, *, operator_id: str | None, name: str, now: datetime
) -> IssuedCredential:
    """A new credential for an operator (or the platform when ``operator_id`` is None)."""
    if operator_id is not None:
        await registry_service.get_operator(session, operator_id)
    if not name.strip() or len(name) > 120:
        raise BadRequest("name must be 1-120 characters", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiCredential(
        operator_id=operator_id,
        name=name.strip(),
        token_sha256=token_digest(token),
        created_at=now,
        revoked_at=None,
    )
    repository.add(session, row)
    await session.flush()
    return IssuedCredential(row.id, operator_id, row.name, token)


async def authenticate(session: AsyncSession, token: str) -> Party | None:
    """The party of a live credential, or None."""
    row = await repository.live_by_digest(session, token_digest(token))
    if row is None:
        return None
    if row.operator_id is None:
        return Party("platform", None, f"platform:{row.name}")
    return Party("operator", row.operator_id, f"{row.operator_id}:{row.name}")


async def list_credentials(session: AsyncSession) -> list[ApiCredential]:
    return await repository.list_all(session)


async def revoke(session: AsyncSession, credential_id: int, *, now: datetime) -> ApiCredential:
    row = await repository.get(session, credential_id)
    if row is None:
        raise NotFound(f"credential {credential_id} does not exist")
    if row.revoked_at is None:
        row.revoked_at = now
        await session.flush()
    return row
