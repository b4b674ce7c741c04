"""Inventory: Luhn-valid ICCIDs inside the operator's range, requesters, counts."""

from __future__ import annotations

from typing import Any

import pytest
from stdnum import luhn

from mobileplans.config import Environment
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.smdp import inventory
from mobileplans.errors import BadRequest, Conflict, NotFound
from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import POSTPAID, PREPAID, Sessions, World
from tests.support import operator_data


async def generate(sessions: Sessions, clock: FrozenClock, count: int, **kw: Any) -> list[str]:
    operator = kw.pop("operator", "contoso")
    environment = kw.pop("environment", Environment.PRODUCTION)
    async with session_scope(sessions) as session:
        ranges = await inventory.ranges_for(session, operator, environment)
        return await inventory.generate_profiles(
            session,
            operator_id=operator,
            ranges=ranges,
            profile_type=kw.pop("profile_type", PREPAID),
            count=count,
            now=clock.now(),
            spn=kw.pop("spn", "Contoso"),
            profile_name=kw.pop("profile_name", "Contoso 5 GB"),
        )


async def small_operator(sessions: Sessions, clock: FrozenClock) -> None:
    """'tiny': one production range of 100 numbers, i.e. 10 Luhn-valid ICCIDs."""
    data = operator_data("tiny", brand="Tiny", prefix="8901777")
    data["iccidRanges"] = [
        {"environment": "production", "start": "8901777000000000000", "end": "8901777000000000099"}
    ]
    async with session_scope(sessions) as session:
        spec = OperatorSpec.model_validate(data)
        await registry_service.put_operator(session, spec, actor="t", now=clock.now())


class TestGenerate:
    async def test_luhn_valid_inside_the_range_and_recorded(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        created = await generate(sessions, clock, 25)
        assert len(set(created)) == 25
        for iccid in created:
            assert luhn.is_valid(iccid)
            assert "8901999000000000000" <= iccid <= "8901999099999999999"
        assert not set(created) & set(world.prepaid + world.postpaid)  # skipped the held ones
        async with session_scope(sessions) as session:
            first = await inventory.get_profile(session, created[0])
            history = await inventory.profile_events(session, created[0])
        assert (first.state, first.spn, first.profile_type) == ("Available", "Contoso", PREPAID)
        assert [(e.from_state, e.to_state, e.function) for e in history] == [
            (None, "Available", "generate")
        ]

    async def test_top_up_generates_only_what_is_missing(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        async def top_up() -> list[str]:
            async with session_scope(sessions) as session:
                ranges = await inventory.ranges_for(session, "contoso", Environment.PRODUCTION)
                return await inventory.top_up_profiles(
                    session, operator_id="contoso", ranges=ranges, profile_type=PREPAID,
                    available=5, now=clock.now(), spn="Contoso", profile_name="Contoso 5 GB",
                )  # fmt: skip

        assert len(await top_up()) == 2  # the world holds 3 Available PREPAID profiles
        assert await top_up() == []

    async def test_range_full_creates_nothing(self, sessions: Sessions, clock: FrozenClock) -> None:
        await small_operator(sessions, clock)
        with pytest.raises(Conflict, match="range full"):
            await generate(sessions, clock, 11, operator="tiny")
        assert len(await generate(sessions, clock, 10, operator="tiny")) == 10
        with pytest.raises(Conflict, match="only 0 free"):
            await generate(sessions, clock, 1, operator="tiny")
        async with session_scope(sessions) as session:
            counts = await inventory.profile_counts(session, "tiny")
        assert [(c.state, c.count) for c in counts] == [("Available", 10)]

    async def test_no_range_in_that_environment(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        with pytest.raises(BadRequest, match="no ICCID range"):
            await generate(sessions, clock, 1, environment=Environment.STAGING)

    async def test_unknown_operator(self, sessions: Sessions, clock: FrozenClock) -> None:
        with pytest.raises(NotFound):
            await generate(sessions, clock, 1, operator="nobody")

    @pytest.mark.parametrize(
        ("count", "extra"),
        [(0, {}), (100_001, {}), (1, {"spn": "x" * 33}), (1, {"profile_type": " "})],
    )
    async def test_bad_input(
        self,
        sessions: Sessions,
        clock: FrozenClock,
        world: World,
        count: int,
        extra: dict[str, Any],
    ) -> None:
        with pytest.raises(BadRequest):
            await generate(sessions, clock, count, **extra)


class TestRequesters:
    async def test_register_update_and_list(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        async with session_scope(sessions) as session:
            await inventory.register_requester(
                session, requester_id="contoso-bss", operator_id="contoso",
                callback_url="https://bss.contoso.example/es2", now=clock.now(),
            )  # fmt: skip
            listed = await inventory.list_requesters(session, "contoso")
        assert [(r.requester_id, r.callback_url) for r in listed] == [
            ("contoso-bss", "https://bss.contoso.example/es2")
        ]

    @pytest.mark.parametrize(
        ("operator", "url", "error"),
        [
            ("nobody", None, NotFound),
            ("contoso", "ftp://bss.example/x", BadRequest),
            ("contoso", "https://user@bss.example/x", BadRequest),
            ("contoso", "not a url", BadRequest),
        ],
    )
    async def test_refused(
        self,
        sessions: Sessions,
        clock: FrozenClock,
        world: World,
        operator: str,
        url: str | None,
        error: type[Exception],
    ) -> None:
        async with session_scope(sessions) as session:
            with pytest.raises(error):
                await inventory.register_requester(
                    session, requester_id="r", operator_id=operator, callback_url=url,
                    now=clock.now(),
                )  # fmt: skip


async def test_counts_by_type_and_state(
    sessions: Sessions, clock: FrozenClock, world: World
) -> None:
    async with session_scope(sessions) as session:
        counts = await inventory.profile_counts(session)
    assert [(c.operator_id, c.profile_type, c.state.value, c.count) for c in counts] == [
        ("contoso", POSTPAID, "Available", 1),
        ("contoso", PREPAID, "Available", 3),
        ("fabrikam", PREPAID, "Available", 1),
    ]
