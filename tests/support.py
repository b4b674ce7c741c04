"""Helpers shared by tests (factories, free ports, the PostgreSQL switch)."""

from __future__ import annotations

import os
from typing import Any

from bench._ports import free_port as free_port
from bench._ports import free_port_block as free_port_block

from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.kit.identifiers import iccid_check_digit


def pg_url() -> str | None:
    return os.environ.get("MP_TEST_DATABASE_URL") or None


def valid_iccid(body18: str) -> str:
    return body18 + iccid_check_digit(body18)


def operator_data(
    operator_id: str = "contoso",
    *,
    brand: str = "Contoso Cellular",
    countries: list[str] | None = None,
    prefix: str = "8901999",
    environments: tuple[str, ...] = ("production",),
    **extra: Any,
) -> dict[str, Any]:
    """A valid operator as the admin API / YAML file carries it; ``prefix`` is 7 digits."""
    data: dict[str, Any] = {
        "id": operator_id,
        "brandName": brand,
        "countries": countries or ["US"],
        "environments": {
            env: {
                "portalUrl": f"https://portal.{operator_id}.example/mobileplans",
                "moBaseUrl": f"https://api.{operator_id}.example/v1",
            }
            for env in environments
        },
        "iccidRanges": [
            {
                "environment": env,
                "start": f"{prefix}{i}00000000000",
                "end": f"{prefix}{i}99999999999",
                "kind": "full",
            }
            for i, env in enumerate(environments)
        ],
    }
    data.update(extra)
    return data


def operator_spec(*args: Any, **kwargs: Any) -> OperatorSpec:
    return OperatorSpec.model_validate(operator_data(*args, **kwargs))
