"""The password hash runs off the event loop, in a pool of its own, and is counted."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import REGISTRY

from mobileplans.domains.subscriber import passwords


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_the_loop_keeps_running_while_a_hash_is_computed() -> None:
    ticks = 0
    hashing = asyncio.ensure_future(passwords.hash_password_off_loop("correct horse"))
    while not hashing.done():  # on the loop, the hash would finish before the first tick
        ticks += 1
        await asyncio.sleep(0)
    assert ticks > 0
    stored = hashing.result()
    assert await passwords.verify_password_off_loop("correct horse", stored)
    assert not await passwords.verify_password_off_loop("wrong horse", stored)
    names = {t.name for t in threading.enumerate()}
    assert any(name.startswith("password-hash") for name in names), names


def test_hash_needs_no_thread_of_the_default_executor() -> None:
    """With every default-executor thread blocked (as when other ``to_thread`` users
    hold them), a sign-up's hash still completes: it never queues behind them."""

    async def scenario() -> None:
        blocked = threading.Event()
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        hold = asyncio.ensure_future(asyncio.to_thread(blocked.wait))
        try:
            stored = await passwords.hash_password_off_loop("correct horse")
            assert await passwords.verify_password_off_loop("correct horse", stored)
            assert not hold.done()  # the default executor's only thread was busy throughout
        finally:
            blocked.set()
            await hold

    asyncio.run(scenario())


async def test_hashes_are_counted_with_their_cpu_time() -> None:
    count0 = _sample("mobileplans_password_hashes_total")
    seconds0 = _sample("mobileplans_password_hash_seconds_total")
    await asyncio.gather(*(passwords.hash_password_off_loop(f"password {i}") for i in range(3)))
    assert _sample("mobileplans_password_hashes_total") == count0 + 3
    assert _sample("mobileplans_password_hash_seconds_total") > seconds0


async def test_a_damaged_stored_hash_matches_nothing_and_costs_no_hash() -> None:
    count0 = _sample("mobileplans_password_hashes_total")
    for stored in ("", "scrypt$$", "md5$a$b", "scrypt$!!$??"):
        assert not await passwords.verify_password_off_loop("correct horse", stored)
    assert _sample("mobileplans_password_hashes_total") == count0
