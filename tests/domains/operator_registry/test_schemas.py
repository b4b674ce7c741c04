"""Validation of operator configuration against the spec's limits (spec 3.1-3.4)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mobileplans.domains.operator_registry.assets import brand_name_line_share
from mobileplans.domains.operator_registry.schemas import (
    GatewayTemplate,
    IccidRangeIn,
    OperatorSpec,
    RegistryDocument,
)
from tests.support import operator_data


def errors_of(data: dict[str, Any], **context: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        OperatorSpec.model_validate(data, context=context or None)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in caught.value.errors()]


def test_a_complete_operator_is_accepted() -> None:
    spec = OperatorSpec.model_validate(operator_data(countries=["us", "UK"]))
    assert spec.countries == ["GB", "US"]
    assert spec.environments  # portal default callback host derived from portalUrl
    settings = next(iter(spec.environments.values()))
    assert settings.callback_hosts == ["https://portal.contoso.example"]


def test_unknown_country_names_the_field() -> None:
    [(where, message)] = errors_of(operator_data(countries=["US", "XX"]))
    assert where == "countries.1"
    assert "XX" in message


class TestUrls:
    def test_strict_policy_rejects_http_and_ports(self) -> None:
        data = operator_data()
        data["environments"]["production"]["portalUrl"] = "http://portal.example/x"
        assert "https" in errors_of(data)[0][1]
        data["environments"]["production"]["portalUrl"] = "https://portal.example:8443/x"
        assert "port" in errors_of(data)[0][1]

    def test_local_policy_accepts_loopback_only(self) -> None:
        data = operator_data()
        data["environments"]["production"]["portalUrl"] = "http://127.0.0.1:8701/contoso/portal/"
        spec = OperatorSpec.model_validate(data, context={"url_policy": "local"})
        assert spec.environments["production"].callback_hosts == ["http://127.0.0.1:8701"]  # type: ignore[index]
        data["environments"]["production"]["portalUrl"] = "http://portal.example:8701/"
        assert errors_of(data, url_policy="local")

    def test_offer_uri_needs_a_trailing_slash(self) -> None:
        data = operator_data()
        data["environments"]["production"]["offerUri"] = "https://api.contoso.example/v1"
        [(where, message)] = errors_of(data)
        assert where.endswith("offerUri")
        assert "'/'" in message

    def test_callback_host_must_be_an_origin(self) -> None:
        data = operator_data()
        data["environments"]["production"]["callbackHosts"] = ["https://portal.example/path"]
        assert "origin" in errors_of(data)[0][1]


class TestAssets:
    def test_logo_must_be_a_documented_square(self) -> None:
        ok = OperatorSpec.model_validate(
            operator_data(logo={"uri": "https://c.example/l.png", "width": 300, "height": 300})
        )
        assert ok.logo is not None
        for width, height in ((300, 299), (320, 320)):
            data = operator_data(
                logo={"uri": "https://c.example/l.png", "width": width, "height": height}
            )
            assert "300x300" in errors_of(data)[0][1]

    def test_gateway_image_limits_and_png(self) -> None:
        image = {"uri": "https://c.example/g.png", "width": 1200, "height": 600}
        GatewayTemplate.model_validate({"images": [image]})
        with pytest.raises(ValidationError, match="1200x600"):
            GatewayTemplate.model_validate({"images": [{**image, "width": 1201}]})
        with pytest.raises(ValidationError, match="PNG"):
            GatewayTemplate.model_validate(
                {"images": [{**image, "uri": "https://c.example/g.jpg"}]}
            )

    def test_colours_are_0xRRGGBBAA(self) -> None:
        assert GatewayTemplate.model_validate({"buttonColor": "0x00B0F0FF"}).button_color
        with pytest.raises(ValidationError, match="0xRRGGBBAA"):
            GatewayTemplate.model_validate({"buttonColor": "#00B0F0"})

    def test_template_id_number_becomes_string_and_legacy_key_is_read(self) -> None:
        template = GatewayTemplate.model_validate({"id": 123, "hyperlinkColor": "0x00B0F0FF"})
        assert template.id == "123"
        assert template.hyperlink_font_color == "0x00B0F0FF"

    def test_template_ids_are_unique(self) -> None:
        data = operator_data(gatewayTemplates=[{"id": "0"}, {"id": 0}])
        assert "unique" in errors_of(data)[0][1]

    def test_brand_name_must_fit_the_flyout_line(self) -> None:
        assert brand_name_line_share("W" * 18) == pytest.approx(1.0)
        assert brand_name_line_share("i" * 72) == pytest.approx(1.0)
        OperatorSpec.model_validate(operator_data(brand="M" * 19))
        assert "flyout" in errors_of(operator_data(brand="M" * 20))[0][1]


class TestRanges:
    def test_start_and_end_need_equal_length_and_order(self) -> None:
        with pytest.raises(ValidationError, match="same number of digits"):
            IccidRangeIn.model_validate(
                {
                    "environment": "production",
                    "start": "890199900000000000",
                    "end": "8901999000000000000",
                }
            )
        with pytest.raises(ValidationError, match="greater than end"):
            IccidRangeIn.model_validate(
                {
                    "environment": "production",
                    "start": "8901999000000000009",
                    "end": "8901999000000000000",
                }
            )

    def test_bounds_are_iccid_shaped(self) -> None:
        with pytest.raises(ValidationError, match="18-20 digits"):
            IccidRangeIn.model_validate(
                {"environment": "production", "start": "8901", "end": "8902"}
            )

    def test_integers_from_yaml_are_read_as_digits(self) -> None:
        rng = IccidRangeIn.model_validate(
            {"environment": "staging", "start": 8901999000000000000, "end": 8901999000000000099}
        )
        assert rng.start == "8901999000000000000"

    def test_a_range_needs_settings_for_its_environment(self) -> None:
        data = operator_data()
        data["iccidRanges"][0]["environment"] = "staging"
        assert "no settings" in errors_of(data)[0][1]


class TestOtherFields:
    def test_monitoring_iccid_check_digit_follows_leniency(self) -> None:
        assert "Luhn" in errors_of(operator_data(monitoringIccid="8901999000000000000"))[0][1]
        spec = OperatorSpec.model_validate(
            operator_data(monitoringIccid="8901999000000000000F", iccidLenient=True)
        )
        assert spec.monitoring_iccid == "8901999000000000000"

    def test_contacts_need_a_way_to_reach_them_and_valid_numbers(self) -> None:
        assert "email or a phone" in errors_of(operator_data(contacts=[{"name": "NOC"}]))[0][1]
        assert errors_of(operator_data(contacts=[{"name": "NOC", "phone": "12345"}]))
        spec = OperatorSpec.model_validate(
            operator_data(
                contacts=[{"name": "NOC", "phone": "+1 425 555 0100", "severity": "sev1"}]
            )
        )
        assert spec.contacts[0].phone == "+14255550100"

    def test_plmn_and_timezone(self) -> None:
        assert OperatorSpec.model_validate(operator_data(plmns=["001001"])).plmns == ["001-001"]
        assert errors_of(operator_data(plmns=["1-01"]))
        assert "time zone" in errors_of(operator_data(timezone="Mars/Olympus"))[0][1]

    def test_operator_id_is_a_slug(self) -> None:
        assert errors_of(operator_data("Contoso Cellular"))

    def test_document_rejects_duplicate_operator_ids(self) -> None:
        with pytest.raises(ValidationError, match="appears twice"):
            RegistryDocument.model_validate({"operators": [operator_data(), operator_data()]})
