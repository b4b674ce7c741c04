"""Plans, accounts and lines of the subscriber domain."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.domains.subscriber import service
from mobileplans.domains.subscriber.passwords import hash_password, verify_password
from mobileplans.domains.subscriber.schemas import LineStatus, SimKind
from mobileplans.errors import BadRequest, Conflict, NotFound, Unauthorized
from mobileplans.kit.clock import FrozenClock
from tests.domains.subscriber.conftest import FOREIGN, LINE, OPERATOR, Office, plan_in
from tests.support import pg_url, valid_iccid


async def test_ensure_plans_creates_then_updates_by_code(
    session: AsyncSession, office: Office
) -> None:
    changed = plan_in("prepaid", "prepaid", 2048, 14, ["US", "MX"])
    plans = await service.ensure_plans(session, OPERATOR, [changed])
    by_code = {p.code: p for p in plans}
    assert set(by_code) == {"prepaid", "travel"}
    assert by_code["prepaid"].id == office.prepaid.id
    assert (by_code["prepaid"].data_mb, by_code["prepaid"].countries) == (2048, ["US", "MX"])
    assert await service.get_plan(session, OPERATOR, office.prepaid.id) == by_code["prepaid"]
    with pytest.raises(NotFound):  # another operator's plan
        await service.get_plan(session, "fabrikam", office.prepaid.id)


async def test_sign_up_and_sign_in(session: AsyncSession, clock: FrozenClock) -> None:
    account = await service.sign_up(
        session,
        OPERATOR,
        email=" Ada@Example.COM ",
        password="correct horse",
        display_name="  Ada  ",
        now=clock.now(),
    )
    assert (account.email, account.display_name) == ("ada@example.com", "Ada")
    signed = await service.sign_in(
        session, OPERATOR, email="ADA@example.com", password="correct horse"
    )
    assert signed.id == account.id
    for email, password in (("ada@example.com", "wrong horse"), ("bob@example.com", "x" * 8)):
        with pytest.raises(Unauthorized):
            await service.sign_in(session, OPERATOR, email=email, password=password)
    with pytest.raises(Unauthorized):  # accounts are per operator
        await service.sign_in(
            session, "fabrikam", email="ada@example.com", password="correct horse"
        )
    with pytest.raises(Conflict):
        await service.sign_up(
            session,
            OPERATOR,
            email="ada@example.com",
            password="x" * 8,
            display_name="",
            now=clock.now(),
        )


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("nobody", "long enough", "email"),
        ("@x.example", "long enough", "email"),
        ("a@b.example", "short", "password"),
    ],
)
async def test_sign_up_rules(
    session: AsyncSession, clock: FrozenClock, email: str, password: str, field: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await service.sign_up(
            session, OPERATOR, email=email, password=password, display_name="", now=clock.now()
        )
    assert caught.value.extra["field"] == field


async def test_lines(session: AsyncSession, office: Office, clock: FrozenClock) -> None:
    line = await service.get_line(session, OPERATOR, LINE)
    assert (line.status, line.account_id, line.supported) == (LineStatus.ACTIVE, None, True)
    with pytest.raises(NotFound):
        await service.get_line(session, OPERATOR, FOREIGN)
    assert await service.find_line(session, OPERATOR, FOREIGN) is None
    with pytest.raises(Conflict):
        await service.create_line(
            session,
            OPERATOR,
            iccid=LINE,
            sim_kind=SimKind.ESIM,
            status=LineStatus.WARM,
            now=clock.now(),
        )
    owner = await service.sign_up(
        session,
        OPERATOR,
        email="o@example.com",
        password="x" * 8,
        display_name="O",
        now=clock.now(),
    )
    other = await service.sign_up(
        session,
        OPERATOR,
        email="p@example.com",
        password="x" * 8,
        display_name="P",
        now=clock.now(),
    )
    attached = await service.attach_line(
        session, OPERATOR, LINE, account_id=owner.id, status=LineStatus.INSTALLED, now=clock.now()
    )
    assert (attached.account_id, attached.status) == (owner.id, LineStatus.INSTALLED)
    assert [x.iccid for x in await service.lines_of_account(session, owner.id)] == [LINE]
    with pytest.raises(Conflict):
        await service.attach_line(
            session, OPERATOR, LINE, account_id=other.id, status=LineStatus.ACTIVE, now=clock.now()
        )
    with pytest.raises(NotFound):
        await service.attach_line(
            session,
            OPERATOR,
            FOREIGN,
            account_id=owner.id,
            status=LineStatus.ACTIVE,
            now=clock.now(),
        )
    await service.set_line_status(session, LINE, LineStatus.ACTIVE, clock.now())
    session.expire_all()
    assert (await service.get_line(session, OPERATOR, LINE)).status is LineStatus.ACTIVE


async def test_concurrent_create_line_is_a_conflict(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Two transactions create the same SIM: the second gets 409, not a database error."""
    if pg_url() is None:
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL")
    iccid = valid_iccid("890199900000000555")
    async with sessions() as first, sessions() as second:
        for session in (first, second):  # both see no line yet
            assert await service.find_line(session, OPERATOR, iccid) is None
        await service.create_line(
            first,
            OPERATOR,
            iccid=iccid,
            sim_kind=SimKind.ESIM,
            status=LineStatus.WARM,
            now=clock.now(),
        )
        await first.commit()
        with pytest.raises(Conflict):
            await service.create_line(
                second,
                OPERATOR,
                iccid=iccid,
                sim_kind=SimKind.ESIM,
                status=LineStatus.WARM,
                now=clock.now(),
            )
        await second.rollback()


def test_passwords() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$")
    assert stored != hash_password("correct horse")  # salted
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "md5$abc$def", "scrypt$!!!$!!!", "scrypt$$", "scrypt$YWJj$", "scrypt$a$b$c"],
)
def test_damaged_password_hashes_match_nothing(stored: str) -> None:
    assert verify_password("anything", stored) is False
