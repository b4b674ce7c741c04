"""``mobileplans``: run the stack, migrate the database, manage the configuration.

Every command reads ``MP_*`` environment variables (see ``docs/operations.md``);
``--data-dir`` picks the embedded SQLite database, ``MP_DATABASE_URL`` a PostgreSQL one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mobileplans.cli import (
    bugs_cmd,
    config_cmd,
    conformance_cmd,
    credentials_cmd,
    db_cmd,
    e2e_cmd,
    help_format,
    incidents_cmd,
    maintenance_cmd,
    onboarding_cmd,
    serve_cmd,
    sla_cmd,
    smdp_cmd,
    worker_cmd,
)
from mobileplans.cli.demo_registry import Ports
from mobileplans.cli.runtime import load_settings
from mobileplans.cli.up import run_up
from mobileplans.web.server import run_servers_forever

help_format.apply()
app = typer.Typer(
    name="mobileplans",
    help=(
        "Open-source Mobile Plans: broker, reference operator, SM-DP+, "
        "device simulator, live-site ops."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_cmd.app, name="db")
app.add_typer(config_cmd.app, name="config")
app.add_typer(sla_cmd.app, name="sla")
app.add_typer(sla_cmd.traffic_app, name="traffic")
app.add_typer(smdp_cmd.app, name="smdp")
app.add_typer(incidents_cmd.app, name="incidents")
app.add_typer(maintenance_cmd.app, name="maintenance")
app.add_typer(bugs_cmd.app, name="bugs")
app.add_typer(onboarding_cmd.app, name="onboarding")
app.add_typer(credentials_cmd.app, name="credentials")
app.command(name="e2e")(e2e_cmd.e2e)
app.add_typer(conformance_cmd.app, name="conformance")
app.add_typer(worker_cmd.app, name="probes")
app.command(name="worker")(worker_cmd.worker)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="MP_DATA_DIR",
        help="Data directory: SQLite database, admin token, endpoints.json (./.mobileplans)",
    ),
]


@app.command()
def up(
    data_dir: DataDir = None,
    port_base: Annotated[
        int,
        typer.Option(
            help="Broker on N, operator N+1, SM-DP+ N+2, console N+3 (to come), local mail "
            "server N+9",
        ),
    ] = 8700,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="HTTPS everywhere with a generated local CA; the MO API requires the "
            "broker's client certificate (mutual TLS)",
        ),
    ] = False,
) -> None:
    """Run the whole stack locally with the demo configuration; Ctrl-C stops it.

    Creates and migrates the database, seeds Contoso Cellular (US) and Fabrikam Mobile (GB,
    FR) on first start, writes endpoints.json (mode 0600) into the data directory and prints
    it without the admin token, and prints the `export MP_DATA_DIR=...` line that points
    the other commands at this data directory. A second run on the same data directory
    keeps the data. The data directory keeps the local URL policy (http and ports on
    loopback hosts) for the commands run on it.
    """
    settings = load_settings(data_dir)
    run_servers_forever(run_up(settings, Ports(host=host, base=port_base), tls=tls))


app.command()(serve_cmd.serve)
app.command()(serve_cmd.openapi)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
