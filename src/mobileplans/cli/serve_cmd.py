"""``mobileplans serve PART`` and ``mobileplans openapi PART``: one part as a production process
(or ``--workers N`` processes of it sharing one port, on PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.types import ASGIApp

from mobileplans.cli.runtime import (
    database,
    ensure_admin_token,
    ensure_secret,
    fail,
    load_settings,
)
from mobileplans.config import Environment, OperatorAppConfig, OperatorSite, Settings, UrlPolicy
from mobileplans.db.engine import is_sqlite
from mobileplans.db.session import make_sessionmaker
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.kit import netguard
from mobileplans.web.server import (
    Listener,
    listening_socket,
    make_server,
    run_prefork,
    run_servers_forever,
    serve_all,
)

PARTS = ("broker", "operator", "smdp")
"""The parts with an HTTP API (OpenAPI document, /docs)."""
SERVED_PARTS = (*PARTS, "console")
"""What ``serve`` runs: the API parts and the console (HTML pages, no OpenAPI)."""
CONSOLE_SECRET = "console_session_secret"  # noqa: S105 - a file name in the data directory
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="MP_DATA_DIR", help="Data directory")
]


def _check_part(part: str, parts: tuple[str, ...] = PARTS) -> None:
    if part not in parts:
        raise typer.BadParameter(
            f"unknown part {part!r}; available: {', '.join(parts)}", param_hint="PART"
        )


def _operator_config(path: Path | None) -> OperatorAppConfig:
    if path is None:
        raise typer.BadParameter(
            "the operator needs --config FILE (YAML or JSON OperatorAppConfig)"
        )
    return OperatorAppConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def build_app(
    part: str,
    settings: Settings,
    sessions: Any,
    *,
    token: str,
    config: Path | None,
    smdp_address: str,
    public_url: str,
) -> ASGIApp:
    if part == "broker":
        from mobileplans.apps.broker.app import create_app as create_broker

        return create_broker(settings, sessions, admin_token=token)
    if part == "operator":
        from mobileplans.apps.operator.app import create_app as create_operator

        return create_operator(_operator_config(config), sessions)
    if part == "console":
        from mobileplans.apps.console.app import create_app as create_console

        secret = ensure_secret(settings, CONSOLE_SECRET)
        return create_console(settings, sessions, admin_token=token, session_secret=secret)
    from mobileplans.apps.smdp.app import create_app as create_smdp

    return create_smdp(SmdpConfig(address=smdp_address, public_base_url=public_url), sessions)


def serve(
    part: Annotated[str, typer.Argument(help="broker | operator | smdp | console")],
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8700,
    environment: Annotated[
        Environment | None,
        typer.Option(envvar="MP_ENVIRONMENT", help="broker: default environment served"),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="operator: OperatorAppConfig as YAML/JSON")
    ] = None,
    smdp_address: Annotated[
        str, typer.Option(help="smdp: address written into activation codes")
    ] = "127.0.0.1:8702",
    public_url: Annotated[
        str, typer.Option(help="smdp: base URL where this SM-DP+ answers")
    ] = "http://127.0.0.1:8702",
    workers: Annotated[
        int,
        typer.Option(help="Processes of this part on the port, 1-64 (more than 1: PostgreSQL)"),
    ] = 1,
) -> None:
    """Run one part as a production process: migrates first, seeds no demo data.

    --workers N runs N processes of the part on the same port (PostgreSQL only): the
    port is bound once, the processes share it, and the kernel hands each connection to
    one of them; SIGTERM stops them all (docs/operations.md, "Deploying on several
    machines")."""
    _check_part(part, SERVED_PARTS)
    settings = load_settings(data_dir, environment=environment)
    if not 1 <= workers <= 64:
        raise fail(f"--workers is 1 to 64 processes, not {workers}")
    if workers > 1 and is_sqlite(settings.resolved_database_url()):
        raise fail(
            f"--workers {workers} needs PostgreSQL (MP_DATABASE_URL=postgresql+asyncpg://...): "
            "a SQLite file is one process's database"
        )
    token, generated = ensure_admin_token(settings)
    if generated and part == "broker":
        typer.echo(f"generated an admin token in {settings.data_dir / 'admin_token'}", err=True)

    async def main(sock: socket.socket | None, upgrade: bool) -> None:
        netguard.enforce(strict=settings.url_policy == UrlPolicy.STRICT)  # D248
        async with database(settings, process_name=part, upgrade=upgrade, serving=True) as sessions:
            app = build_app(
                part,
                settings,
                sessions,
                token=token,
                config=config,
                smdp_address=smdp_address,
                public_url=public_url,
            )
            await serve_all([make_server(Listener(part, app, host, port, sock=sock))])

    if workers == 1:
        run_servers_forever(main(None, upgrade=True))
        return
    asyncio.run(_migrate(settings, part))  # once, before the processes start
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    typer.echo(f"{part}: {workers} processes on http://{host}:{port}", err=True)
    status = run_prefork(workers, lambda: run_servers_forever(main(sock, upgrade=False)))
    raise typer.Exit(status)


async def _migrate(settings: Settings, part: str) -> None:
    async with database(settings, process_name=f"{part}-migrate"):
        pass


def openapi_document(part: str) -> dict[str, Any]:
    """A part's OpenAPI document, built without a database."""
    sessions = make_sessionmaker(create_async_engine("sqlite+aiosqlite://"))
    site = OperatorSite(
        operator_id="contoso",
        brand_name="Contoso Cellular",
        countries=["US"],
        es2plus_url="https://smdp.example",
        es2plus_requester_id="contoso-bss",
    )
    operator_config = OperatorAppConfig(
        sites=[site],
        public_base_url="https://operator.example",
        session_secret="-",  # noqa: S106 (never served)
    )
    if part == "operator":
        from mobileplans.apps.operator.app import create_app as create_operator

        return create_operator(operator_config, sessions).api.openapi()
    if part == "smdp":
        from mobileplans.apps.smdp.app import create_app as create_smdp

        return create_smdp(SmdpConfig(), sessions).api.openapi()
    from mobileplans.apps.broker.app import create_app as create_broker

    return create_broker(Settings(), sessions, admin_token="-").api.openapi()  # noqa: S106


def openapi(
    part: Annotated[str, typer.Argument(help="broker | operator | smdp")] = "broker",
) -> None:
    """Print a part's OpenAPI document (docs/openapi/ holds the committed copies)."""
    _check_part(part)
    typer.echo(json.dumps(openapi_document(part), indent=2, sort_keys=True))
