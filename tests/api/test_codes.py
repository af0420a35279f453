"""Standard codes in the API: ISO 3166-1 alpha-3, numeric and UN M49 for countries (and as
filters), ISO 4217, OECD DAC purpose codes and IATI organisation identifiers for funding."""

from __future__ import annotations

import pytest

from tests.api.support import API, keys
from tests.factories import CountryFactory, FundingRecordFactory, PopulationFigureFactory

pytestmark = pytest.mark.django_db


def test_the_api_gives_a_country_s_iso_and_m49_codes(api):
    CountryFactory(iso_code="TR", name="Türkiye")
    body = api.get(f"{API}/countries/TR/").json()
    assert body["iso_alpha3"] == "TUR"
    assert body["iso_numeric"] == "792"
    assert (body["m49_region"], body["m49_region_name"]) == ("142", "Asia")
    assert (body["m49_subregion"], body["m49_subregion_name"]) == ("145", "Western Asia")


def test_the_api_filters_on_alpha_3_and_numeric_codes_as_on_alpha_2(api):
    turkiye = CountryFactory(iso_code="TR")
    other = CountryFactory(iso_code="SY")
    here = FundingRecordFactory(slug="in-turkiye")
    here.countries.add(turkiye)
    FundingRecordFactory(slug="in-syria").countries.add(other)
    PopulationFigureFactory(slug="hosted-in-turkiye", country=turkiye)
    PopulationFigureFactory(slug="hosted-in-syria", country=other)
    for code in ("TR", "tr", "TUR", "tur", "792"):
        assert keys(api.get(f"{API}/funding/", {"country": code}), "slug") == ["in-turkiye"], code
        assert keys(api.get(f"{API}/population-figures/", {"country": code}), "slug") == [
            "hosted-in-turkiye"
        ], code
    assert api.get(f"{API}/funding/", {"country": "ZZZ"}).status_code == 400


def test_the_api_gives_and_checks_funding_codes(api, staff_client):
    FundingRecordFactory(slug="with-codes", dac_purpose_code="15190", donor_iati_identifier="XI-IATI-EC_NEAR")
    body = api.get(f"{API}/funding/with-codes/").json()
    assert body["currency"] == "EUR"
    assert body["dac_purpose_code"] == "15190"
    assert body["dac_purpose_name"].startswith("Facilitation of orderly")
    assert body["donor_iati_identifier"] == "XI-IATI-EC_NEAR"
    response = staff_client("funding.change_fundingrecord", "funding.publish_fundingrecord").patch(
        f"{API}/funding/with-codes/", {"dac_purpose_code": "12345"}, format="json"
    )
    assert response.status_code == 400
    assert "dac_purpose_code" in response.json()
