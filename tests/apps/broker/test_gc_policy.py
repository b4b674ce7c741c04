"""The broker's start-up leaves the garbage collector as decision D271 sets it: the heap
alive after start-up frozen (D98) and young objects collected at GC_THRESHOLDS."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mobileplans.apps.broker.app import GC_THRESHOLDS, BrokerApp


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


@pytest.mark.usefixtures("restored_gc")
async def test_start_up_freezes_the_heap_and_sets_the_thresholds(broker: BrokerApp) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    async with broker.api.router.lifespan_context(broker.api):
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 10_000  # modules, schemas, the snapshot
