"""Portal launch URLs are built exactly like the spec's canonical examples (spec 2.1.1)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from mobileplans.domains.catalog.launch import DeviceContext, build_launch_url, launch_parameters


def test_esim_launch_matches_the_canonical_example() -> None:
    device = DeviceContext(
        location="US",
        market="US",
        imei="001102000315468",
        eid="89033023422130000000000199055797",
        iccids=("8988247000101867183", "8988247000103824828"),
    )
    params = launch_parameters(device, "/7RBTuSJt02OZbX8.4", device.iccids)
    assert build_launch_url("https://moportal.com", params) == (
        "https://moportal.com?market=US&location=US&transactionId=%2F7RBTuSJt02OZbX8.4"
        "&eid=89033023422130000000000199055797&imei=001102000315468"
        "&iccids=8988247000101867183,8988247000103824828"
    )


def test_physical_sim_launch_matches_the_canonical_example() -> None:
    device = DeviceContext(
        location="us", market="us", imei="001102000311608", iccid="8988247000100003319"
    )
    params = launch_parameters(device, "waoigFfX00yGH3Vb.1", ())
    assert build_launch_url("https://moportal.com", params) == (
        "https://moportal.com?iccid=8988247000100003319&imei=001102000311608&market=us"
        "&transactionId=waoigFfX00yGH3Vb.1&location=us"
    )


def test_esim_without_profiles_omits_iccids_and_physical_sim_never_sends_eid() -> None:
    esim = DeviceContext(location="US", market="US", eid="89033023422130000000000199055797")
    names = [name for name, _ in launch_parameters(esim, "t.1", ())]
    assert names == ["market", "location", "transactionId", "eid"]
    sim = DeviceContext(location="US", market="US", iccid="8988247000100003319")
    names = [name for name, _ in launch_parameters(sim, "t.1", ())]
    assert "eid" not in names
    assert "iccids" not in names


def test_existing_query_string_is_extended_and_values_are_encoded() -> None:
    device = DeviceContext(location="GB", market="FR")
    url = build_launch_url("https://p.example/mp?brand=x", launch_parameters(device, "a&b=c", ()))
    query = dict(parse_qsl(urlsplit(url).query))
    assert query == {"brand": "x", "market": "FR", "location": "GB", "transactionId": "a&b=c"}
