"""``mobileplans up``: the whole stack on 127.0.0.1 with the embedded default.

Ports (decision D100): broker N, reference operator N+1, SM-DP+ N+2, console N+3 (issue
#10); N+4 to N+8 stay free for later parts; the local mail server takes N+9. One
worker (probes, rollups, incidents, notifications). Seeds the demo on first start, keeps
data across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

from mobileplans.apps.broker.app import create_app as create_broker
from mobileplans.apps.console.app import create_app as create_console
from mobileplans.apps.operator.app import create_app as create_operator
from mobileplans.apps.smdp.app import create_app as create_smdp
from mobileplans.cli.demo import CALLBACK_API, DEMO_OPERATOR_IDS
from mobileplans.cli.demo_onboarding import ensure_onboarding_demo
from mobileplans.cli.demo_operator import ensure_operator_demo
from mobileplans.cli.demo_registry import Ports, ensure_demo
from mobileplans.cli.demo_smdp import ensure_smdp_demo, requester_id
from mobileplans.cli.endpoints import DELAY_MINUTE_SECONDS, endpoints_summary
from mobileplans.cli.mail_sink import MailSink
from mobileplans.cli.runtime import (
    database,
    ensure_admin_token,
    ensure_secret,
    keep_url_policy,
    write_private,
)
from mobileplans.cli.tls import StackTls, prepare_tls
from mobileplans.config import OperatorAppConfig, OperatorSite, Settings, UrlPolicy
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.kit.clock import SystemClock
from mobileplans.web.server import Listener, make_server, serve_all
from mobileplans.worker.loop import run_worker

console = Console()

SITES = {
    "contoso": (
        "Contoso Cellular",
        ["US"],
        CALLBACK_API["contoso"],
        "support@contoso.example",
        "+14255550100",
    ),
    "fabrikam": (
        "Fabrikam Mobile",
        ["GB", "FR"],
        CALLBACK_API["fabrikam"],
        "support@fabrikam.example",
        "+442079460000",
    ),
}


def operator_config(ports: Ports, secret: str, tls: StackTls | None = None) -> OperatorAppConfig:
    sites = [
        OperatorSite(
            operator_id=op,
            brand_name=brand,
            countries=countries,
            es2plus_url=ports.smdp,
            es2plus_requester_id=requester_id(op),
            callback_api=api,
            support_email=email,
            support_phone=phone,
            download_delay_minute_seconds=DELAY_MINUTE_SECONDS,
            mtls=tls.mo_api_policy() if tls else None,
        )
        for op, (brand, countries, api, email, phone) in SITES.items()
    ]
    return OperatorAppConfig(sites=sites, public_base_url=ports.operator, session_secret=secret)


async def seed(sessions: async_sessionmaker[AsyncSession], ports: Ports) -> None:
    now = SystemClock().now()
    await ensure_demo(sessions, ports)
    await ensure_operator_demo(sessions, list(DEMO_OPERATOR_IDS), now)
    await ensure_smdp_demo(sessions, ports.operator, list(DEMO_OPERATOR_IDS), now)
    await ensure_onboarding_demo(sessions, now)


MAIL_PORT_OFFSET = 9
"""The local mail server listens on N+9: the ports below it are for the stack's parts."""


async def run_up(settings: Settings, ports: Ports, *, tls: bool = False) -> None:
    settings = settings.model_copy(update={"url_policy": UrlPolicy.LOCAL})
    keep_url_policy(settings, UrlPolicy.LOCAL)
    token, generated = ensure_admin_token(settings)
    secret = ensure_secret(settings, "session_secret")
    console_secret = ensure_secret(settings, "console_session_secret")
    stack_tls = prepare_tls(settings.data_dir) if tls else None
    if stack_tls is not None:
        ports = Ports(ports.host, ports.base, "https")
        settings = stack_tls.broker_settings(settings)
    sink = None
    if settings.smtp_host is None:  # no mail server configured: a local one, into an mbox
        sink = MailSink(settings.data_dir, "127.0.0.1", ports.base + MAIL_PORT_OFFSET)
        settings = settings.model_copy(update={"smtp_host": sink.host, "smtp_port": sink.port})
    with sink or contextlib.nullcontext():
        async with database(settings, process_name="up") as sessions:
            await seed(sessions, ports)
            summary = endpoints_summary_path(settings.data_dir)
            endpoints = await endpoints_summary(sessions, settings, ports, token)
            endpoints["tls"] = stack_tls.summary() if stack_tls else None
            endpoints["mail"] = {
                "smtp": f"{settings.smtp_host}:{settings.smtp_port}",
                "mbox": str(sink.path.resolve()) if sink else None,
            }
            write_private(summary, json.dumps(endpoints, indent=2) + "\n")
            _announce(endpoints, summary, token if generated else None, settings)
            # The apps answer requests on an engine of their own (on SQLite: statements on
            # the event loop); the worker keeps the thread driver for its long scans.
            async with database(
                settings, process_name="up", upgrade=False, serving=True
            ) as app_sessions:
                await _serve(
                    settings,
                    sessions,
                    app_sessions,
                    ports,
                    token,
                    (secret, console_secret),
                    stack_tls,
                )
    console.print("[bold]mobileplans stopped[/bold]")


async def _serve(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    app_sessions: async_sessionmaker[AsyncSession],
    ports: Ports,
    token: str,
    secrets: tuple[str, str],
    stack_tls: StackTls | None,
) -> None:
    """The four apps and the worker (probes, incidents, notifications) until stopped."""
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(sessions, SystemClock(), worker_id="up", stop_event=stop, settings=settings)
    )
    try:
        await serve_all(_servers(settings, app_sessions, ports, token, secrets, stack_tls), stop)
    finally:
        stop.set()
        await worker


def _servers(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    ports: Ports,
    token: str,
    secrets: tuple[str, str],
    tls: StackTls | None,
) -> list[uvicorn.Server]:
    """The apps of the stack; ``secrets``: the operator portal's and the console's session
    secrets."""
    secret, console_secret = secrets
    smdp_config = SmdpConfig(address=ports.smdp_address, public_base_url=ports.smdp)
    apps: list[tuple[str, ASGIApp, int, ssl.SSLContext | None]] = [
        (
            "broker",
            create_broker(settings, sessions, admin_token=token),
            ports.base,
            tls.server_context() if tls else None,
        ),
        (
            "operator",
            create_operator(operator_config(ports, secret, tls), sessions),
            ports.base + 1,
            tls.server_context(client_ca=True) if tls else None,
        ),
        (
            "smdp",
            create_smdp(smdp_config, sessions),
            ports.base + 2,
            tls.server_context() if tls else None,
        ),
        (
            "console",
            create_console(
                settings,
                sessions,
                admin_token=token,
                session_secret=console_secret,
                secure_cookies=tls is not None,
            ),
            ports.base + 3,
            tls.server_context() if tls else None,
        ),
    ]
    return [
        make_server(Listener(name, app, ports.host, port, ssl_context=context))
        for name, app, port, context in apps
    ]


def endpoints_summary_path(data_dir: Path) -> Path:
    return data_dir / "endpoints.json"


def _announce(
    endpoints: dict[str, Any], path: Path, new_token: str | None, settings: Settings
) -> None:
    """What a user needs on the terminal; the admin token only when it was just made (so
    it does not land in the logs of every start: it stays in the data directory)."""
    shown = {k: v for k, v in endpoints.items() if k not in ("demo", "admin_token")}
    console.print_json(json.dumps(shown))
    console.print(f"[green]endpoints and demo data written to[/green] {path} (mode 0600)")
    if new_token is not None:
        console.print(
            f"[yellow]new admin token[/yellow] {new_token} (kept in "
            f"{settings.data_dir.resolve() / 'admin_token'}, mode 0600; shown only now)"
        )
    same_url = "  # and the same MP_DATABASE_URL" if settings.database_url else ""
    console.print(
        "other commands find this stack with: "
        f"[bold]export MP_DATA_DIR={settings.data_dir.resolve()}[/bold]{same_url}",
        soft_wrap=True,
    )
    console.print(
        f"broker {endpoints['broker']}/docs · portal {endpoints['operator']}/contoso/portal/"
        f" · SM-DP+ {endpoints['smdp']}/docs · console {endpoints['dashboard']}"
        " — Ctrl-C stops everything"
    )
