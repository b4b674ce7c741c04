"""How much schemathesis generates and what it checks (docs/operations.md, "Generated API tests").

``MP_FUZZ_EXAMPLES`` raises the examples per operation for the longer release run; the
seed is fixed and generation derandomized, so a run is repeatable.
"""

from __future__ import annotations

import os

import schemathesis

SEED = 20261205
EXAMPLES = int(os.environ.get("MP_FUZZ_EXAMPLES", "5"))
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "allow_header_conformance",
)


ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]
RULES_BEYOND_SCHEMA = {
    # Identifiers checked beyond a pattern: ICCID and EID check digits, ISO 3166 country
    # registry, E.164 numbering plans (kit.identifiers).
    ("GET", "/v1/providers"): "country, EID and ICCID checks",
    ("GET", "/v1/sims/{iccid}"): "ICCID check digit",
    ("GET", "/v1/balances"): "ICCID check digit",
    ("GET", "/v1/phone-numbers/{e164}"): "E.164 numbering plan",
    ("POST", "/v1/telemetry/purchase"): "ICCID check digit, spec 2.2 status names",
    ("POST", "/v1/admin/operators/{operator_id}/iccid-ranges"): "ICCID check digit, order",
    ("PUT", "/v1/admin/operators/{operator_id}"): "the registry's rules (countries, ranges)",
    ("PUT", "/v1/admin/config"): "the YAML document's content",
    # Rules across fields or on the caller: endsAt after startsAt; the platform names the
    # operator it acts on (an operator's credential implies it).
    ("POST", "/v1/sla/{operator_id}/maintenance"): "endsAt after startsAt",
    ("POST", "/v1/maintenance"): "endsAt after startsAt; the platform names operatorId",
    ("POST", "/v1/incidents"): "the platform names operatorId; the policy's severity names",
    ("POST", "/v1/bugs"): "the platform names operatorId",
}
"""Operations where a request the JSON Schema allows may still break a documented rule
that JSON Schema cannot say: ``positive_data_acceptance`` accepts their 400 (each a
problem+json naming the field). Everything a schema can say is in the schema."""


def fuzz_config(
    headers: dict[str, str] | None = None, parameters: dict[str, object] | None = None
) -> schemathesis.Config:
    """``parameters``: fixed values (``"path.operator_id": "contoso"``) instead of generated."""
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": headers or {},
            "parameters": parameters or {},
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "mode": "all"},
            # One unexpected method per operation is enough to see a 405 and its Allow.
            "phases": {
                "stateful": {"enabled": False},
                "coverage": {"unexpected-methods": ["OPTIONS"]},
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "operations": [
                {
                    "include-method": method,
                    "include-path": path,
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 400]}},
                }
                for method, path in RULES_BEYOND_SCHEMA
            ],
        }
    )
