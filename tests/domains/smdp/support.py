"""Helpers for SM-DP+ tests: a seeded world, ES2+ and device calls at the service level."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Environment
from mobileplans.db.models import SmdpDownloadSession, SmdpProfile, SmdpProfileEvent
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.smdp import download, es2plus, inventory, notifications
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.domains.smdp.envelope import Es2Request
from mobileplans.domains.smdp.schemas import Outcome
from mobileplans.kit.clock import FrozenClock
from mobileplans.kit.identifiers import eid_with_check_digits
from tests.support import free_port, operator_spec

Sessions = async_sessionmaker[AsyncSession]
PROTOCOL = "gsma/rsp/v2.5.0"
CONFIG = SmdpConfig(
    address="127.0.0.1:8702",
    session_ttl_seconds=600,
    max_download_attempts=3,
    max_cc_attempts=3,
    callback_backoff_seconds=0.01,
    callback_timeout_seconds=5,
)
EID_A = eid_with_check_digits("890490321234512345123456789012")
EID_B = eid_with_check_digits("890490321234512345123456789013")
PREPAID = "PREPAID-5GB"
POSTPAID = "POSTPAID"
_ids = itertools.count(1)


def fci() -> str:
    return f"FCI-1767225600-{next(_ids)}"


@dataclass
class World:
    prepaid: list[str]
    postpaid: list[str]
    fabrikam: list[str]


async def seed(
    sessions: Sessions,
    clock: FrozenClock,
    *,
    prepaid: int = 3,
    callback_url: str | None = None,
) -> World:
    """Contoso (requester contoso-bss) and Fabrikam (fabrikam-bss) with profiles."""
    now = clock.now()
    async with session_scope(sessions) as session:
        for spec in (
            operator_spec(),
            operator_spec("fabrikam", brand="Fabrikam Mobile", countries=["GB"], prefix="8944999"),
        ):
            await registry_service.put_operator(session, spec, actor="test", now=now)
        for operator in ("contoso", "fabrikam"):
            await inventory.register_requester(
                session,
                requester_id=f"{operator}-bss",
                operator_id=operator,
                callback_url=callback_url,
                now=now,
            )
        contoso = await inventory.ranges_for(session, "contoso", Environment.PRODUCTION)
        fabrikam = await inventory.ranges_for(session, "fabrikam", Environment.PRODUCTION)

        async def make(operator: str, ranges: Any, kind: str, count: int) -> list[str]:
            return await inventory.generate_profiles(
                session, operator_id=operator, ranges=ranges, profile_type=kind, count=count,
                now=now, spn=operator.title(), profile_name=f"{operator} {kind}",
            )  # fmt: skip

        return World(
            prepaid=await make("contoso", contoso, PREPAID, prepaid),
            postpaid=await make("contoso", contoso, POSTPAID, 1),
            fabrikam=await make("fabrikam", fabrikam, PREPAID, 1),
        )


def es2_request(
    function: str,
    body: dict[str, Any],
    *,
    requester: str = "contoso-bss",
    call_id: str | None = None,
    protocol: str | None = PROTOCOL,
) -> Es2Request:
    header = {"functionRequesterIdentifier": requester, "functionCallIdentifier": call_id or fci()}
    raw = orjson.dumps({"header": header, **body})
    return Es2Request(function, raw, protocol, "application/json")


async def es2(
    sessions: Sessions, clock: FrozenClock, function: str, body: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    """One ES2+ call in its own transaction; the response body."""
    return await es2_raw(sessions, clock, es2_request(function, body, **kw))


async def es2_raw(sessions: Sessions, clock: FrozenClock, request: Es2Request) -> dict[str, Any]:
    async with session_scope(sessions) as session:
        outcome = await es2plus.handle(session, request, config=CONFIG, now=clock.now())
    assert outcome.response is not None
    return outcome.response


def status(response: dict[str, Any]) -> str:
    return str(response["header"]["functionExecutionStatus"]["status"])


def code(response: dict[str, Any]) -> tuple[str, str]:
    data = response["header"]["functionExecutionStatus"]["statusCodeData"]
    return data["subjectCode"], data["reasonCode"]


DEVICE = {
    "initiateDownload": download.initiate_download,
    "getBoundProfilePackage": download.get_bound_profile_package,
    "handleNotification": notifications.handle_notification,
    "cancelSession": notifications.cancel_session,
}


async def device(
    sessions: Sessions, clock: FrozenClock, step: str, body: dict[str, Any] | bytes
) -> Outcome:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    async with session_scope(sessions) as session:
        return await DEVICE[step](session, raw, config=CONFIG, now=clock.now())


async def released(
    sessions: Sessions,
    clock: FrozenClock,
    *,
    eid: str | None = EID_A,
    profile_type: str = PREPAID,
    **confirm: Any,
) -> tuple[str, str]:
    """downloadOrder + confirmOrder(releaseFlag true): (ICCID, matchingId)."""
    order: dict[str, Any] = {"profileType": profile_type}
    if eid:
        order["eid"] = eid
    ordered = await es2(sessions, clock, "downloadOrder", order)
    assert status(ordered) == "Executed-Success", ordered
    iccid = ordered["iccid"]
    confirmed = await es2(
        sessions, clock, "confirmOrder", {"iccid": iccid, "releaseFlag": True, **confirm}
    )
    assert status(confirmed) == "Executed-Success", confirmed
    return iccid, confirmed["matchingId"]


async def profile(sessions: Sessions, iccid: str) -> SmdpProfile:
    async with session_scope(sessions) as session:
        row = await session.get(SmdpProfile, iccid)
        assert row is not None
        return row


async def events(sessions: Sessions, iccid: str) -> list[tuple[str | None, str, str]]:
    async with session_scope(sessions) as session:
        query = select(SmdpProfileEvent).where(SmdpProfileEvent.iccid == iccid)
        rows = (await session.scalars(query.order_by(SmdpProfileEvent.id))).all()
        return [(r.from_state, r.to_state, r.function) for r in rows]


async def download_session(sessions: Sessions, transaction_id: str) -> SmdpDownloadSession:
    async with session_scope(sessions) as session:
        row = await session.get(SmdpDownloadSession, transaction_id)
        assert row is not None
        return row


class CallbackServer:
    """A real operator-side ``handleDownloadProgressInfo`` endpoint on 127.0.0.1.

    Answers the statuses in ``answers`` in turn (then 204) and keeps every body received.
    """

    PATH = "/contoso/gsma/rsp2/es2plus/handleDownloadProgressInfo"

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.PATH}"

    async def _handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        self.headers.append(dict(request.headers))
        status = self.answers.pop(0) if self.answers else 204
        return web.Response(status=status)

    async def __aenter__(self) -> CallbackServer:
        app = web.Application()
        app.router.add_post(self.PATH, self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def points(self) -> list[tuple[int, str]]:
        return [
            (b["notificationPointId"], b["notificationPointStatus"]["status"]) for b in self.bodies
        ]
