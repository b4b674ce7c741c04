"""Admin API: operator registry, ICCID ranges, whole-configuration YAML, audit log (issue #2).

Every route needs ``Authorization: Bearer <MP_ADMIN_TOKEN>``. Changes reload this
replica's snapshot at once; other replicas follow within ``MP_CONFIG_POLL_SECONDS``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from mobileplans.apps.broker.deps import Admin, ConfigSession, Session, State
from mobileplans.domains.audit import service as audit_service
from mobileplans.domains.audit.schemas import AuditEntryRead
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import (
    IccidRangeIn,
    IccidRangeRead,
    ImportSummary,
    OperatorSpec,
)
from mobileplans.domains.operator_registry.yaml_io import (
    ConfigFileError,
    dump_document,
    load_document,
)
from mobileplans.errors import BadRequest
from mobileplans.web.params import RowId
from mobileplans.web.problems import problem_responses, validation_problem

router = APIRouter(
    prefix="/v1/admin", tags=["admin"], responses=problem_responses(400, 401, 404, 409, 429)
)

_SPEC_BODY = {
    "requestBody": {
        "content": {"application/json": {"schema": OperatorSpec.model_json_schema(by_alias=True)}},
        "required": True,
    }
}
_YAML_BODY = {
    "requestBody": {
        "content": {"application/yaml": {"schema": {"type": "string"}}},
        "required": True,
    }
}


def _parse_spec(state: State, operator_id: str, body: dict[str, Any]) -> OperatorSpec:
    body.setdefault("id", operator_id)
    if body["id"] != operator_id:
        raise BadRequest("body id must match the path", field="id")
    return validation_problem(OperatorSpec, body, url_policy=state.settings.url_policy)


@router.get("/operators", response_model=list[OperatorSpec], response_model_by_alias=True)
async def list_operators(_: Admin, session: Session) -> list[OperatorSpec]:
    return await registry_service.list_operators(session)


@router.get(
    "/operators/{operator_id}",
    response_model=OperatorSpec,
    response_model_by_alias=True,
)
async def get_operator(operator_id: str, _: Admin, session: Session) -> OperatorSpec:
    return await registry_service.get_operator(session, operator_id)


@router.put(
    "/operators/{operator_id}",
    response_model=OperatorSpec,
    response_model_by_alias=True,
    openapi_extra=_SPEC_BODY,
    responses={409: {"description": "ICCID range overlaps another operator's"}},
)
async def put_operator(
    operator_id: str,
    body: Annotated[dict[str, Any], Body()],
    actor: Admin,
    session: ConfigSession,
    state: State,
    response: Response,
) -> OperatorSpec:
    spec = _parse_spec(state, operator_id, body)
    stored, created = await registry_service.put_operator(
        session, spec, actor=actor, now=state.clock.now()
    )
    response.status_code = 201 if created else 200
    return stored


@router.delete("/operators/{operator_id}", status_code=204)
async def delete_operator(
    operator_id: str, actor: Admin, session: ConfigSession, state: State
) -> None:
    await registry_service.delete_operator(session, operator_id, actor=actor, now=state.clock.now())


@router.get(
    "/operators/{operator_id}/iccid-ranges",
    response_model=list[IccidRangeRead],
    response_model_by_alias=True,
)
async def list_ranges(operator_id: str, _: Admin, session: Session) -> list[IccidRangeRead]:
    return await registry_service.list_ranges(session, operator_id)


@router.post(
    "/operators/{operator_id}/iccid-ranges",
    status_code=201,
    response_model=IccidRangeRead,
    response_model_by_alias=True,
    responses={409: {"description": "Overlaps another range"}},
)
async def add_range(
    operator_id: str,
    rng: IccidRangeIn,
    actor: Admin,
    session: ConfigSession,
    state: State,
) -> IccidRangeRead:
    return await registry_service.add_range(
        session, operator_id, rng, actor=actor, now=state.clock.now()
    )


@router.delete("/operators/{operator_id}/iccid-ranges/{range_id}", status_code=204)
async def delete_range(
    operator_id: str, range_id: RowId, actor: Admin, session: ConfigSession, state: State
) -> None:
    await registry_service.delete_range(
        session, operator_id, range_id, actor=actor, now=state.clock.now()
    )


@router.get(
    "/config",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}}},
)
async def export_config(_: Admin, session: Session) -> Response:
    document = await registry_service.export_document(session)
    return Response(dump_document(document), media_type="application/yaml")


@router.put(
    "/config",
    response_model=ImportSummary,
    response_model_by_alias=True,
    openapi_extra=_YAML_BODY,
)
async def import_config(
    request: Request, actor: Admin, session: ConfigSession, state: State
) -> ImportSummary:
    """Replace the whole configuration; a file with any problem changes nothing."""
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        document = load_document(text, url_policy=state.settings.url_policy)
    except ConfigFileError as exc:
        first = exc.problems[0]
        raise BadRequest(
            str(first),
            field=first.path or "body",
            problems=[str(p) for p in exc.problems],
        ) from exc
    return await registry_service.import_document(
        session, document, actor=actor, now=state.clock.now()
    )


@router.get("/audit", response_model=list[AuditEntryRead], response_model_by_alias=True)
async def audit_log(
    _: Admin,
    session: Session,
    entity_id: Annotated[str | None, Query(alias="entityId")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryRead]:
    return await audit_service.list_entries(session, entity_id=entity_id, limit=limit)
