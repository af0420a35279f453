"""Standard codes: ISO 3166-1 from pycountry, UN M49 from the vendored table, checked against each
other and against the seed's countries; the API gives them and filters on them."""

from __future__ import annotations

import json
from pathlib import Path

import pycountry
import pytest
from django.conf import settings

from regions.codes import country_codes, m49_table, to_alpha_2
from tests.factories import CountryFactory, FundingRecordFactory

SEED_COUNTRIES = Path(settings.BASE_DIR) / "fixtures" / "04_countries.json"


def seed_country_codes() -> list[str]:
    return [
        row["fields"]["iso_code"]
        for row in json.loads(SEED_COUNTRIES.read_text(encoding="utf-8"))
        if row["model"] == "regions.country"
    ]


def test_the_m49_table_agrees_with_pycountry_on_every_country_both_know():
    compared = 0
    for alpha_2, row in m49_table().items():
        country = pycountry.countries.get(alpha_2=alpha_2)
        if country is None:
            continue
        compared += 1
        assert row["ISO3166-1-Alpha-3"] == country.alpha_3, alpha_2
        assert int(row["ISO3166-1-numeric"]) == int(country.numeric), alpha_2
        assert int(row["M49"]) == int(country.numeric), alpha_2  # M49 country codes are ISO numeric
    assert compared >= 240


@pytest.mark.parametrize("alpha_2", seed_country_codes())
def test_every_seed_country_has_iso_codes_and_an_m49_region(alpha_2):
    codes = country_codes(alpha_2)
    country = pycountry.countries.get(alpha_2=alpha_2)
    assert country is not None, f"{alpha_2} is not an ISO 3166-1 code"
    assert (codes.alpha_3, codes.numeric) == (country.alpha_3, country.numeric)
    assert codes.m49_region is not None and codes.m49_subregion is not None, alpha_2
    assert codes.m49_region.code in {"002", "009", "019", "142", "150"}  # M49's five regions
    # The code is what the table says, read back independently of regions.codes.
    assert int(codes.m49_region.code) == int(m49_table()[alpha_2]["Region Code"])


def test_codes_in_any_form_give_the_alpha_2_code():
    assert {to_alpha_2(code) for code in ("TR", "tr", "TUR", "tur", "792", " Tur ")} == {"TR"}
    assert to_alpha_2("ZZZ") == "ZZZ"  # unknown: no country rather than another one
    assert country_codes("XK").alpha_3 is None  # a user-assigned code the ISO list does not have


@pytest.mark.django_db
def test_the_explorer_page_filters_on_alpha_3_too(client):
    turkiye = CountryFactory(iso_code="TR")
    FundingRecordFactory(title="Money for Türkiye").countries.add(turkiye)
    FundingRecordFactory(title="Money elsewhere")
    page = client.get("/funding/", {"country": "TUR"}).content.decode()
    assert "Money for Türkiye" in page
    assert "Money elsewhere" not in page
