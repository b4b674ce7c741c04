"""Generated identifiers: portal ``transactionId`` and ``X-MS-DM-TransactionId``."""

from __future__ import annotations

import os
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_BASE62 = bytes(ord(_ALPHABET[b % 62]) for b in range(248)).ljust(256, b"-")  # byte -> char
_UNEVEN = bytes(range(248, 256))  # 248 = 4 x 62: without these, every character is as likely


def new_transaction_id(length: int = 16) -> str:
    """A portal-launch ``transactionId`` shaped like the spec's examples (``waoigFfX00yGH3Vb.1``).

    16 random base62 characters and a ``.1`` attempt suffix: 19 characters, far under
    the 64-character limit of spec 2.1.1.
    """
    while True:  # one 1.5x draw nearly always has enough even bytes (a ~1e-8 miss draws again)
        body = secrets.token_bytes(length + length // 2).translate(_BASE62, _UNEVEN)
        if len(body) >= length:
            return f"{body[:length].decode()}.1"


def new_ms_dm_transaction_id() -> str:
    """``MSFT-<uuid>``, the ``X-MS-DM-TransactionId`` form of spec 2.9 / 7.1 #3.

    A random (version 4, RFC 9562 variant) UUID in its canonical 8-4-4-4-12 form, as
    ``uuid.uuid4()`` makes it, formatted from the bytes directly: one is made for every
    GetBalance the broker forwards, and ``uuid.UUID`` cost 2-4 % of that request's CPU."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # variant 10xx
    h = raw.hex()
    return f"MSFT-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
