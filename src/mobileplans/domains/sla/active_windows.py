"""Which operators are inside an excluded (announced, not cancelled) maintenance window now.

The incident engine asks this: probes failing during announced maintenance open no
incident (spec 5.5, issue #5); a late-notice or cancelled window does not protect.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.domains.sla import repository
from mobileplans.domains.sla.maintenance import is_excluded


async def in_excluded_window(session: AsyncSession, now: datetime) -> set[tuple[str, str | None]]:
    """``(operator_id, environment)`` pairs under excluded maintenance at ``now``;
    environment None means every environment of that operator."""
    rows = await repository.windows_overlapping(session, None, now, now + timedelta(microseconds=1))
    return {
        (w.operator_id, w.environment)
        for w in rows
        if is_excluded(w) and w.starts_at <= now < w.ends_at
    }


def covers(windows: set[tuple[str, str | None]], operator_id: str, environment: str) -> bool:
    return (operator_id, None) in windows or (operator_id, environment) in windows
