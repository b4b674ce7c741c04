"""What the registry keeps of a filed report beyond its outcomes (decision D206)."""

from __future__ import annotations

from mobileplans.domains.onboarding.evidence import report_summary


def test_a_report_is_kept_without_its_exchanges_and_with_bounded_failures() -> None:
    failure = {"sent": "s" * 900, "got": "HTTP 500", "expected": "HTTP 200"}
    document = {
        "kitVersion": "1.2",
        "startedAt": "2026-11-02T08:55:00+00:00",
        "target": {"operator": "alpha", "mo_base_url": "https://api.alpha.example/v1", "x": 1},
        "cases": [
            {
                "id": "MOAPI-GB-001",
                "title": "Active SIM",
                "spec": "2.3",
                "mandatory": True,
                "outcome": "fail",
                "detail": "d" * 2000,
                "failures": [failure] * 8,
                "exchanges": [{"body": "secret-ish body"}],
            },
            {"id": "DEVICE-001", "outcome": "skip"},
            "not a case",
        ],
    }
    kept = report_summary(document)
    assert kept["kitVersion"] == "1.2"
    assert kept["target"] == {"operator": "alpha", "mo_base_url": "https://api.alpha.example/v1"}
    first, second = kept["cases"]
    assert "exchanges" not in first
    assert len(first["failures"]) == 5
    assert len(first["failures"][0]["sent"]) == 500
    assert len(first["detail"]) == 1000
    assert (first["title"], first["spec"], first["mandatory"]) == ("Active SIM", "2.3", True)
    assert second == {
        "id": "DEVICE-001",
        "title": "",
        "spec": "",
        "mandatory": False,
        "outcome": "skip",
        "detail": "",
        "failures": [],
    }
    assert report_summary({})["cases"] == []
