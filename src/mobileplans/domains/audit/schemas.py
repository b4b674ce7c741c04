from __future__ import annotations

from typing import Any

from mobileplans.kit.schema import ApiModel


class AuditEntryRead(ApiModel):
    id: int
    at: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
