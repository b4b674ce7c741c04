"""Portal languages: Accept-Language negotiation (RFC 9110 q-values) and complete catalogues."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mobileplans.apps.operator import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"


@pytest.mark.parametrize(
    ("header", "available", "expected"),
    [
        (None, ["en", "fr"], "en"),
        ("", ["en", "fr"], "en"),
        ("fr", ["en", "fr"], "fr"),
        ("FR-ca", ["en", "fr"], "fr"),
        ("de;q=1, fr;q=0.4, en;q=0.3", ["en", "fr"], "fr"),
        ("en;q=0.3, fr;q=0.4", ["en", "fr"], "fr"),
        ("fr;q=0.5, en;q=0.5", ["en", "fr"], "fr"),  # a tie keeps header order
        ("fr;q=0", ["en", "fr"], "en"),
        ("fr;q=1.5", ["en", "fr"], "en"),  # out of range: ignored
        ("*", ["fr", "en"], "fr"),
        ("fr", ["en"], "en"),  # the site does not offer French
        ("de", ["fr"], "fr"),  # nothing acceptable, no English offered: the site's first
        ("xx", ["xx", "yy"], "en"),  # no catalogue for these
    ],
)
def test_negotiation(header: str | None, available: list[str], expected: str) -> None:
    assert i18n.negotiate(header, available) == expected


def test_every_language_has_every_key_and_the_same_fields() -> None:
    catalogues = i18n.catalogues()
    assert {"en", "fr"} <= set(catalogues)
    english = catalogues["en"]
    for language, texts in catalogues.items():
        assert set(texts) == set(english), language
        for key, text in texts.items():
            assert set(re.findall(r"\{(\w+)\}", text)) == set(
                re.findall(r"\{(\w+)\}", english[key])
            ), (language, key)


def test_templates_use_only_known_keys() -> None:
    english = i18n.catalogues()["en"]
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([\w.]+)'\s*[,)]", template.read_text()))
    assert used
    assert used <= set(english), used - set(english)


def test_missing_key_falls_back_to_english_then_to_the_key() -> None:
    french = i18n.Translator("fr")
    assert french("nav.next") == "Suivant"
    assert french("no.such.key") == "no.such.key"
    assert i18n.Translator("zz").language == "en"
    assert french("support.line", email="a@b.example", phone="+1") == (
        "Besoin d'aide ? Écrivez à a@b.example ou appelez le +1."
    )
