"""``mobileplans credentials``: bearer tokens for the operations API (issue #5).

An operator's credential acts for that operator only (its own maintenance windows, bugs and
incidents); a platform credential (``--platform``) acts like the admin token there.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.cli.ops_common import DataDir, JsonFlag, console, errors, print_json, run, when
from mobileplans.cli.tables import fitted_table
from mobileplans.config import Settings
from mobileplans.db.models import ApiCredential
from mobileplans.domains.access import service
from mobileplans.domains.access.service import IssuedCredential
from mobileplans.kit.clock import SystemClock

app = typer.Typer(
    help=(
        "API credentials of the operations API: one per operator integration (sees only "
        "that operator's records) or for the platform. The token is printed once; only its "
        "SHA-256 is stored."
    ),
    no_args_is_help=True,
)


@app.command()
def create(
    name: Annotated[str, typer.Option("--name", help="What the credential is for")],
    operator: Annotated[
        str | None, typer.Option("--operator", help="The operator it acts for")
    ] = None,
    platform: Annotated[
        bool, typer.Option("--platform", help="A platform credential instead")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a credential and print its token (once: store it now)."""
    if platform == (operator is not None):
        raise typer.BadParameter("give exactly one of --operator ID or --platform")

    async def action(session: AsyncSession, _settings: Settings) -> IssuedCredential:
        return await service.create_credential(
            session, operator_id=operator, name=name, now=SystemClock().now()
        )

    issued = run(data_dir, action)
    who = f"operator {issued.operator_id}" if issued.operator_id else "the platform"
    errors.print(f"credential {issued.id} ({issued.name}) for {who}; the token is shown once:")
    typer.echo(issued.token)


def _wire(row: ApiCredential) -> dict[str, object]:
    return {
        "id": row.id,
        "operatorId": row.operator_id,
        "name": row.name,
        "createdAt": row.created_at.isoformat(),
        "revokedAt": row.revoked_at.isoformat() if row.revoked_at else None,
    }


@app.command("list")
def list_cmd(as_json: JsonFlag = False, data_dir: DataDir = None) -> None:
    """Credentials (never their tokens), revoked ones included."""

    async def action(session: AsyncSession, _settings: Settings) -> list[ApiCredential]:
        return await service.list_credentials(session)

    rows = run(data_dir, action)
    if as_json:
        print_json([_wire(r) for r in rows])
        return
    table = fitted_table("id", "party", "name", "created (UTC)", "revoked (UTC)", wrap=("name",))
    for r in rows:
        table.add_row(
            str(r.id),
            f"operator {r.operator_id}" if r.operator_id else "platform",
            r.name,
            when(r.created_at),
            when(r.revoked_at),
        )
    console().print(table)


@app.command()
def revoke(
    credential_id: Annotated[int, typer.Argument(help="Credential id (see list)")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a credential: its token stops working at once (idempotent)."""

    async def action(session: AsyncSession, _settings: Settings) -> ApiCredential:
        return await service.revoke(session, credential_id, now=SystemClock().now())

    row = run(data_dir, action)
    console().print(f"credential {row.id} revoked at {when(row.revoked_at)}")
