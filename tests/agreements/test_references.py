"""Official references: the documented CELEX and Official Journal formats, valid and invalid."""

import pytest
from django.core.exceptions import ValidationError

from agreements.references import reference_kind, reference_url, validate_official_reference


@pytest.mark.parametrize(
    "value",
    [
        "32014D0252",  # a Council decision
        "22014A0507(01)",  # an international agreement, with its sequence number
        "32019R1896",  # a regulation
        "32019R1896R(02)",  # a corrigendum
        "02019R1896-20240101",  # a consolidated version
        "C2023E0001",
    ],
)
def test_celex_numbers_in_the_documented_format_are_accepted(value):
    assert reference_kind(value) == "celex"
    validate_official_reference(value)
    assert reference_url(value) == f"https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:{value}"


@pytest.mark.parametrize(
    "value",
    [
        "OJ L 128, 30.4.2014, p. 15",
        "OJ C 326, 26.10.2012, p. 1-390",
        "OJ L 56I, 29.2.2020, p. 1",
        "OJ L, 2024/1234, 22.5.2024",
        "OJ C, 2023/1001, 3.10.2023",
    ],
)
def test_official_journal_citations_in_both_forms_are_accepted(value):
    assert reference_kind(value) == "oj"
    validate_official_reference(value)
    assert reference_url(value) == ""


@pytest.mark.parametrize(
    "value",
    [
        "2014D0252",  # no sector digit
        "32014d0252",  # type in lower case
        "3214D0252",  # a 3-digit year
        "32014D252",  # a 3-digit number
        "32014DXY0252",  # three type letters
        "02019R1896-20241301",  # no 13th month
        "CELEX:32014D0252",  # the prefix belongs to the address, not the number
        "OJ L 128, 31.4.2014, p. 15",  # 31 April
        "OJ X 128, 30.4.2014, p. 15",  # no series X
        "OJ L 128 30.4.2014 p. 15",  # commas missing
        "OJ L, 2024/1234",  # the date is missing
        "OJ L, 2024/1234, 2024-05-22",  # an ISO date is not the OJ's form
        "Official Journal",
    ],
)
def test_malformed_references_are_refused_with_the_expected_formats(value):
    assert reference_kind(value) is None
    with pytest.raises(ValidationError) as error:
        validate_official_reference(value)
    assert "32014D0252" in str(error.value) and "OJ L 128, 30.4.2014, p. 15" in str(error.value)


def test_an_empty_reference_is_allowed():
    validate_official_reference("")
