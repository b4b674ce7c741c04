"""Generated identifiers: portal ``transactionId`` and ``X-MS-DM-TransactionId``."""

from __future__ import annotations

import secrets
import string
import uuid

_ALPHABET = string.ascii_letters + string.digits


def new_transaction_id(length: int = 16) -> str:
    """A portal-launch ``transactionId`` shaped like the spec's examples (``waoigFfX00yGH3Vb.1``).

    16 random base62 characters and a ``.1`` attempt suffix: 19 characters, far under
    the 64-character limit of spec 2.1.1.
    """
    body = "".join(secrets.choice(_ALPHABET) for _ in range(length))
    return f"{body}.1"


def new_ms_dm_transaction_id() -> str:
    """``MSFT-<uuid>``, the ``X-MS-DM-TransactionId`` form of spec 2.9 / 7.1 #3."""
    return f"MSFT-{uuid.uuid4()}"


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
