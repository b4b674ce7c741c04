"""Operations API credentials: the ``api_credentials`` table (only the digest is stored)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import ApiCredential


def add(session: AsyncSession, row: ApiCredential) -> None:
    session.add(row)


async def live_by_digest(session: AsyncSession, token_sha256: str) -> ApiCredential | None:
    """The credential with this token digest, unless it was revoked."""
    return await session.scalar(
        select(ApiCredential).where(
            ApiCredential.token_sha256 == token_sha256, ApiCredential.revoked_at.is_(None)
        )
    )


async def list_all(session: AsyncSession) -> list[ApiCredential]:
    return list((await session.scalars(select(ApiCredential).order_by(ApiCredential.id))).all())


async def get(session: AsyncSession, credential_id: int) -> ApiCredential | None:
    return await session.get(ApiCredential, credential_id)
