"""The demo configuration ``mobileplans up`` seeds.

Contoso Cellular (US), live, and Fabrikam Mobile (GB, FR), in Integration (issue #9):
Fabrikam's production range is its *test* range (where every demo SIM and SM-DP+ profile
of it lies) with the full range ahead of it, so the production catalog offers it only to
devices with one of its test SIMs (D146, D167).

Names, numbers and hosts are neutral placeholders: ``.example`` mail domains, the
ITU test network MCC 001, fictional ICCID issuer numbers, Ofcom/NANP drama numbers.
"""

from __future__ import annotations

from typing import Any

from mobileplans.kit.identifiers import iccid_check_digit

DEMO_OPERATOR_IDS = ("contoso", "fabrikam")
DEMO_PHONE = {"contoso": ("+1425555", "+14255550123"), "fabrikam": ("+447911", "+447911123456")}
"""Each demo operator's E.164 prefix and the subscriber number the simulator looks up."""


CALLBACK_API = {"contoso": "current", "fabrikam": "legacy"}
"""The JS callback generation each demo portal speaks (spec 2.2): the registry and the
reference operator's sites must agree (Fabrikam's portal calls ``DataMart``)."""
DEMO_SIM_ROLES = ("monitoring_iccid", "active_prepaid", "zero_balance", "not_supported", "warm_sim")
"""Demo SIMs sit at the top of each production range (``…0999999nnnn``), far from the
SM-DP+ inventory, which is generated upward from the start of the range."""


def _iccid(body18: str) -> str:
    return body18 + iccid_check_digit(body18)


WARM_POOL = 50
"""Extra warm physical SIMs (``…09999990100`` upward), so first-run-sim can run again and again."""


def demo_sim(prefix: str, role: str) -> str:
    return _iccid(f"{prefix}0999999{DEMO_SIM_ROLES.index(role) + 1:04d}")


def warm_pool(prefix: str) -> list[str]:
    return [_iccid(f"{prefix}0999999{100 + n:04d}") for n in range(WARM_POOL)]


def operator_urls(operator_base: str, operator_id: str) -> dict[str, str]:
    root = f"{operator_base}/{operator_id}"
    return {
        "portalUrl": f"{root}/portal/",
        "moBaseUrl": f"{root}/api/v1",
        "offerUri": f"{root}/api/v1/",
        "notificationUri": f"{root}/api/v1/",
    }


def _operator(
    operator_base: str,
    operator_id: str,
    brand: str,
    countries: list[str],
    prefix: str,
    plmn: str,
    template: dict[str, Any],
    contacts: list[dict[str, Any]],
    timezone: str,
    *,
    in_onboarding: bool = False,
) -> dict[str, Any]:
    urls = operator_urls(operator_base, operator_id)
    assets = f"{operator_base}/{operator_id}/static"
    return {
        "id": operator_id,
        "brandName": brand,
        "countries": countries,
        "plmns": [plmn],
        "logo": {"uri": f"{assets}/logo-300.png", "width": 300, "height": 300},
        "gatewayTemplates": [
            {
                **template,
                "images": [
                    {
                        "uri": f"{assets}/gateway-740x480.png",
                        "width": 740,
                        "height": 480,
                    }
                ],
            }
        ],
        "monitoringIccid": demo_sim(prefix, "monitoring_iccid"),
        "onboardingPhase": "launched",
        "timezone": timezone,
        "environments": {"staging": dict(urls), "production": dict(urls)},
        "contacts": contacts,
        "iccidRanges": [
            *_production_ranges(prefix, in_onboarding),
            {
                "environment": "staging",
                "start": prefix + "900000000000",
                "end": prefix + "999999999999",
                "kind": "test",
            },
        ],
    }


def _production_ranges(prefix: str, in_onboarding: bool) -> list[dict[str, Any]]:
    """Live: ``…0`` is the full range. In onboarding: ``…0`` (the demo SIMs, the SM-DP+
    inventory) is the production *test* range, and the full range ``…1``-``…8`` waits."""
    demo = {"environment": "production", "start": prefix + "000000000000"}
    if not in_onboarding:
        return [{**demo, "end": prefix + "099999999999", "kind": "full"}]
    return [
        {**demo, "end": prefix + "099999999999", "kind": "test"},
        {
            "environment": "production",
            "start": prefix + "100000000000",
            "end": prefix + "899999999999",
            "kind": "full",
        },
    ]


def demo_document(operator_base: str) -> dict[str, Any]:
    """The demo configuration as a config-file mapping, URLs under ``operator_base``."""
    contoso = _operator(
        operator_base,
        "contoso",
        "Contoso Cellular",
        ["US"],
        "8901999",
        "001-01",
        {
            "id": "0",
            "backgroundColor": "0x0F3057FF",
            "bodyFontColor": "0xFFFFFFFF",
            "bodyText": "Stay connected from virtually anywhere.",
            "buttonColor": "0x00B0F0FF",
            "buttonFontColor": "0xFFFFFFFF",
            "buttonText": "Get started",
            "hyperlinkFontColor": "0x00B0F0FF",
        },
        [
            {
                "severity": "any",
                "name": "Contoso NOC",
                "email": "noc@contoso.example",
                "phone": "+14255550100",
            }
        ],
        "America/Los_Angeles",
    )
    fabrikam = _operator(
        operator_base,
        "fabrikam",
        "Fabrikam Mobile",
        ["GB", "FR"],
        "8944999",
        "001-02",
        {
            "id": "0",
            "bodyText": "Data plans for the UK and France.",
            "buttonText": "Continue",
        },
        [
            {
                "severity": "any",
                "name": "Fabrikam Operations",
                "email": "ops@fabrikam.example",
                "phone": "+442079460000",
            }
        ],
        "Europe/London",
        in_onboarding=True,
    )
    for operator in (contoso, fabrikam):
        operator["callbackApi"] = CALLBACK_API[operator["id"]]
        operator["phonePrefixes"] = [DEMO_PHONE[operator["id"]][0]]
    return {"version": 1, "operators": [contoso, fabrikam]}
