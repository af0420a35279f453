"""Funding's code lists: ISO 4217 from pycountry, OECD DAC purpose codes and IATI organisation
identifiers from the vendored IATI code lists, refused when unknown in every write path."""

from __future__ import annotations

import pycountry
import pytest
from django.core.exceptions import ValidationError

from funding.codes import CURRENCY, dac_purposes, iati_organisations
from tests.factories import FundingRecordFactory

pytestmark = pytest.mark.django_db


def test_the_currency_is_the_iso_4217_euro():
    assert CURRENCY is pycountry.currencies.get(alpha_3="EUR")
    assert CURRENCY.numeric == "978"


def test_the_vendored_code_lists_hold_the_codes_the_issue_names():
    assert dac_purposes()["15190"]["name"] == (
        "Facilitation of orderly, safe, regular and responsible migration and mobility"
    )
    assert iati_organisations()["XI-IATI-EC_NEAR"]["name"].startswith("European Commission")
    assert all(len(code) == 5 and code.isdigit() for code in dac_purposes())


def test_a_record_refuses_an_unknown_purpose_code_or_organisation():
    record = FundingRecordFactory.build(
        source=FundingRecordFactory().source, dac_purpose_code="99999", donor_iati_identifier="XI-IATI-NOPE"
    )
    with pytest.raises(ValidationError) as error:
        record.full_clean()
    assert set(error.value.message_dict) >= {"dac_purpose_code", "donor_iati_identifier"}
    record.dac_purpose_code, record.donor_iati_identifier = "15190", "XI-IATI-EC_NEAR"
    record.slug = "valid-codes"
    record.full_clean()
