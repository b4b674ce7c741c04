"""Password hashing for portal accounts: scrypt from the standard library.

scrypt (n=2^14, r=8, p=1) costs some 50 ms of CPU per hash by design. It never runs on
the event loop: :func:`hash_password_off_loop` and :func:`verify_password_off_loop` run it
in a small thread pool of its own (``password-hash-*`` threads, at most
:data:`HASH_THREADS`), so a burst of sign-ups queues behind itself and cannot take the
threads of the loop's default executor that ``asyncio.to_thread`` and DNS look-ups use.
``hashlib.scrypt`` releases the GIL, so the loop keeps serving while a hash runs.

Metrics (the process's default Prometheus registry, on every app's ``/metrics``):

- ``mobileplans_password_hash_seconds_total``: CPU seconds the hashing threads spent in
  scrypt (each hash measured with the thread's own CPU clock).
- ``mobileplans_password_hashes_total``: hashes computed (sign-up, sign-in, decoy).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from prometheus_client import Counter

_N, _R, _P = 2**14, 8, 1
HASH_THREADS = max(1, min(4, os.cpu_count() or 1))
"""Threads of the hashing pool: one per core, at most 4 (a hash is pure CPU)."""

HASH_SECONDS = Counter(
    "mobileplans_password_hash_seconds",
    "CPU seconds spent computing scrypt password hashes (thread CPU time)",
)
HASHES = Counter("mobileplans_password_hashes", "scrypt password hashes computed")

_T = TypeVar("_T")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _scrypt(password: str, salt: bytes, dklen: int) -> bytes:
    started = time.thread_time()
    try:
        return hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=dklen)
    finally:
        HASH_SECONDS.inc(time.thread_time() - started)
        HASHES.inc()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, 32)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    try:
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
    except ValueError:  # binascii.Error: a damaged stored hash matches nothing
        return False
    if not salt or not expected:
        return False
    digest = _scrypt(password, salt, len(expected))
    return hmac.compare_digest(digest, expected)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="password-hash")
        return _pool


async def _off_loop(fn: Callable[..., _T], *args: str) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_executor(), fn, *args)


async def hash_password_off_loop(password: str) -> str:
    """:func:`hash_password` in the hashing pool (the loop keeps serving meanwhile)."""
    return await _off_loop(hash_password, password)


async def verify_password_off_loop(password: str, stored: str) -> bool:
    """:func:`verify_password` in the hashing pool."""
    return await _off_loop(verify_password, password, stored)
