"""Generated identifiers (kit/ids.py)."""

from __future__ import annotations

import re
import uuid

from mobileplans.kit.ids import new_ms_dm_transaction_id, new_transaction_id


def test_ms_dm_transaction_ids_are_canonical_random_uuids() -> None:
    ids = [new_ms_dm_transaction_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        assert text.startswith("MSFT-")
        value = uuid.UUID(text[5:])
        assert str(value) == text[5:]  # canonical lower-case 8-4-4-4-12
        assert value.version == 4
        assert value.variant == uuid.RFC_4122
    # every random bit moves: no hex digit outside the fixed version/variant is constant
    columns = list(zip(*(text[5:].replace("-", "") for text in ids), strict=True))
    varying = [i for i, column in enumerate(columns) if len(set(column)) > 1]
    assert varying == [i for i in range(32) if i != 12]  # digit 12 is the version "4"
    assert set(columns[16]) <= set("89ab")  # the variant's two bits


def test_portal_transaction_ids_are_base62_with_an_attempt_suffix() -> None:
    for _ in range(500):
        assert re.fullmatch(r"[A-Za-z0-9]{16}\.1", new_transaction_id())
