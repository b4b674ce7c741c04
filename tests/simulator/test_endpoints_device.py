"""endpoints.json reading and the simulated PC."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from mobileplans.kit.certs import ensure_local_pki
from mobileplans.kit.identifiers import IdentifierError, parse_eid
from mobileplans.simulator.clients import NetworkClient
from mobileplans.simulator.device import (
    DEFAULT_IMEI,
    Device,
    PhysicalSim,
    RegistrationState,
    fresh_eid,
)
from mobileplans.simulator.endpoints import EndpointsError, load_endpoints, parse_endpoints
from mobileplans.simulator.euicc import Euicc, EuiccProfile
from tests.support import free_port

EID = "89049032000000000000000000000163"
ENDPOINTS = {
    "broker": "http://127.0.0.1:8700",
    "operator": "http://127.0.0.1:8701",
    "smdp": "http://127.0.0.1:8702",
    "admin_token": "t",
    "environment": "production",
    "operators": [
        {
            "id": "contoso",
            "name": "Contoso Cellular",
            "countries": ["US"],
            "portal_url": "http://127.0.0.1:8701/contoso/portal/",
            "iccid_ranges": [],
        },
        {"id": "fabrikam", "name": "Fabrikam Mobile", "countries": ["FR", "GB"]},
    ],
    "demo": {
        "operators": ["contoso", "fabrikam"],
        "eids": [EID],
        "sims": {"warm_sim": "8901999000000000012", "active_prepaid": "8901999000000000020"},
        "accounts": {
            "existing": {
                "operator": "contoso",
                "email": "a@b.example",
                "password": "p",
                "iccid": "8901999000000000020",
                "eid": EID,
            }
        },
        "plans": {"prepaid": "c-5gb", "delayed": "c-later"},
        "delay_minute_seconds": 1,
        "location": "US",
        "imei": DEFAULT_IMEI,
    },
}


def test_the_documented_shape_loads(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps(ENDPOINTS))
    endpoints = load_endpoints(path)
    assert endpoints.demo.plans.prepaid == "c-5gb"
    assert endpoints.demo.delay_minute_seconds == 1
    assert endpoints.demo.accounts["existing"].eid == EID
    assert endpoints.demo.sims.warm_candidates() == ["8901999000000000012"]
    assert endpoints.network_base("contoso") == "http://127.0.0.1:8701/contoso/network"
    assert endpoints.smdp_base("127.0.0.1:8702") == "http://127.0.0.1:8702"
    assert endpoints.smdp_base("smdp.operator.example") == "https://smdp.operator.example"
    assert endpoints.with_broker("http://x.example").broker == "http://x.example"


def test_defaults_when_the_demo_section_is_missing() -> None:
    endpoints = parse_endpoints({"broker": "http://127.0.0.1:8700", "operator": None})
    assert endpoints.demo.delay_minute_seconds == 60
    assert endpoints.network_base("contoso") is None


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EndpointsError, match="not found"):
        load_endpoints(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(EndpointsError, match="not readable JSON"):
        load_endpoints(tmp_path / "bad.json")
    with pytest.raises(EndpointsError, match="broker"):
        parse_endpoints({"operator": "x"})
    with pytest.raises(EndpointsError, match="delay_minute_seconds"):
        parse_endpoints({"broker": "http://b", "demo": {"delay_minute_seconds": 0}})


def test_fresh_eids_are_valid_distinct_and_keep_the_prefix() -> None:
    eids = {fresh_eid(EID) for _ in range(20)}
    assert len(eids) == 20
    for eid in eids:
        assert parse_eid(eid) == eid
        assert eid.startswith(EID[:16])


def esim_pc(**extra: object) -> Device:
    return Device(imei=DEFAULT_IMEI, location="us", market="US", euicc=Euicc(EID), **extra)  # type: ignore[arg-type]


def test_provider_query_for_esim_and_physical_sim() -> None:
    pc = esim_pc()
    assert pc.provider_query() == {
        "location": "US",
        "market": "US",
        "imei": DEFAULT_IMEI,
        "eid": EID,
    }
    assert pc.euicc is not None
    pc.euicc.install(EuiccProfile("8901999000000000020", "contoso", "Contoso", "p"))
    assert pc.provider_query()["iccids"] == "8901999000000000020"
    sim = Device(
        imei=DEFAULT_IMEI, location="US", market="US", sim=PhysicalSim("8901999000000000012")
    )
    assert sim.provider_query() == {
        "location": "US",
        "market": "US",
        "imei": DEFAULT_IMEI,
        "iccid": "8901999000000000012",
    }


def test_a_device_is_validated() -> None:
    with pytest.raises(IdentifierError):
        Device(imei="001102000315469", location="US", market="US", euicc=Euicc(EID))
    with pytest.raises(ValueError, match="either an eUICC or a physical SIM"):
        Device(imei=DEFAULT_IMEI, location="US", market="US")
    with pytest.raises(IdentifierError):
        Device(imei=DEFAULT_IMEI, location="XX", market="US", euicc=Euicc(EID))


async def test_registration_without_a_line_or_network() -> None:
    pc = esim_pc()
    assert (await pc.register(None)).state is RegistrationState.NONE
    assert pc.euicc is not None
    pc.euicc.install(EuiccProfile("8901999000000000020", "contoso", "Contoso", "p"))
    pc.euicc.enable("8901999000000000020")
    unobservable = await pc.register(None)  # no core-network stand-in: cannot tell
    assert unobservable.state is RegistrationState.NONE
    assert not unobservable.observable
    assert unobservable.iccid == "8901999000000000020"
    async with httpx.AsyncClient(timeout=5) as http:
        down = NetworkClient(http, f"http://127.0.0.1:{free_port()}/contoso/network")
        registration = await pc.register(down)
    assert registration.state is RegistrationState.SEARCHING
    assert registration.observable
    assert registration.iccid == "8901999000000000020"
    assert not registration.state.registered
    assert RegistrationState.HOME.registered
    assert RegistrationState.ROAMING.registered


def test_the_device_trusts_the_stack_local_ca(tmp_path: Path) -> None:
    plain = parse_endpoints({"broker": "https://b.example"})
    assert plain.trust_bundle() is None
    assert plain.verify().verify_mode == ssl.CERT_REQUIRED
    pki = ensure_local_pki(tmp_path, now=datetime.now(UTC))
    endpoints = parse_endpoints(
        {"broker": "https://127.0.0.1:1", "tls": {"ca_file": str(pki.ca.cert_file)}}
    )
    context = endpoints.verify()
    assert context.cert_store_stats()["x509_ca"] >= 1
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    # one context per bundle, shared by every client of the process (D285)
    assert endpoints.verify() is context
    assert plain.verify() is not context
    # GetBalance's client certificate goes into a context of its own, never the shared one
    with_cert = parse_endpoints(
        {
            "broker": "https://127.0.0.1:1",
            "tls": {"ca_file": str(pki.ca.cert_file)},
            "mo_api": {
                "client_cert": str(pki.broker.cert_file),
                "client_key": str(pki.broker.key_file),
            },
        }
    )
    mo_context = with_cert.mo_api_verify()
    assert mo_context is not with_cert.verify()
    assert mo_context.cert_store_stats()["x509_ca"] >= 1
    missing = parse_endpoints({"broker": "https://b", "tls": {"ca_file": str(tmp_path / "no")}})
    with pytest.raises(EndpointsError, match="tls CA bundle"):
        missing.verify()


def test_per_operator_demo_data_wins_for_that_operator() -> None:
    data = json.loads(json.dumps(ENDPOINTS))
    data["demo"]["by_operator"] = {
        "fabrikam": {
            "plans": {"prepaid": "fabrikam-10gb-month"},
            "sims": {"warm_sim": "8944999099999900059"},
        }
    }
    endpoints = parse_endpoints(data)
    fabrikam = endpoints.for_operator("fabrikam")
    assert fabrikam.demo.plans.prepaid == "fabrikam-10gb-month"
    assert fabrikam.demo.sims.warm_candidates() == ["8944999099999900059"]
    assert fabrikam.demo.accounts == endpoints.demo.accounts  # not given: top level kept
    assert endpoints.for_operator("contoso") is endpoints


def test_without_a_broker_the_device_launches_the_portal_as_the_service_would() -> None:
    from urllib.parse import parse_qs, urlsplit

    from mobileplans.simulator.app import direct_provider, flyout_from_balances

    endpoints = parse_endpoints(
        {
            "operators": [
                {
                    "id": "northwind",
                    "name": "Northwind",
                    "countries": ["US"],
                    "portal_url": "https://portal.northwind.example/mp?brand=nw",
                }
            ]
        }
    )
    assert endpoints.broker is None
    pc = esim_pc()
    assert pc.euicc is not None
    pc.euicc.install(EuiccProfile("8901999000000000020", "northwind", "Northwind", "p"))
    pc.euicc.install(EuiccProfile("8944999000000000021", "fabrikam", "Fabrikam", "p"))
    provider = direct_provider(endpoints, "northwind", pc)
    url = urlsplit(provider.launch_url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (url.scheme, url.netloc, url.path) == ("https", "portal.northwind.example", "/mp")
    assert query["brand"] == "nw"
    assert query["transactionId"] == provider.transaction_id
    assert len(provider.transaction_id) <= 64
    assert (query["market"], query["location"], query["eid"]) == ("US", "US", EID)
    assert query["iccids"] == "8901999000000000020"  # this MO's profiles only (2.1.1)
    assert provider.notification_hosts == ("https://portal.northwind.example",)
    assert provider.gateway == {}
    zero = {"balances": [{"type": "NONE", "dataRemaininginMB": 0.0, "timeRemaining": "PT0S"}]}
    assert flyout_from_balances(zero).action == "connectWithDataPlan"
    payg = {
        "balances": [{"type": "MODIRECTPAYG", "dataRemaininginMB": 5.0, "timeRemaining": "P1D"}]
    }
    assert flyout_from_balances(payg).balance_text == "5.0 MB, P1D"


def test_an_endpoints_file_needs_a_broker_or_a_portal() -> None:
    with pytest.raises(EndpointsError, match="needs a 'broker' URL or an operator"):
        parse_endpoints({"operators": [{"id": "northwind", "countries": ["US"]}]})
    with pytest.raises(EndpointsError, match=r"operators\.0\.countries"):
        parse_endpoints({"broker": "https://b", "operators": [{"id": "x", "countries": 3}]})
