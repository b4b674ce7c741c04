from __future__ import annotations

import pytest

from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import Sessions, World, seed


@pytest.fixture
async def world(sessions: Sessions, clock: FrozenClock) -> World:
    return await seed(sessions, clock)
