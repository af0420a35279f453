"""Record addresses from a template reversed once: the same as reverse(), whatever the value."""

from __future__ import annotations

import pytest
from django.urls import reverse, set_script_prefix

from migrationsupport.addresses import page_address


@pytest.mark.parametrize(
    ("url_name", "key", "value"),
    [
        ("funding:record-detail", "slug", "eu-support-2024"),
        ("region-detail", "slug", "western_balkans-2"),
        ("country-detail", "iso_code", "tr"),
        ("agreements:document-detail", "slug", "8675309867530986753"),  # the placeholder itself
        ("theme-detail", "slug", "a"),
    ],
)
def test_page_address_is_reverse(url_name, key, value):
    assert page_address(url_name, key, value) == reverse(url_name, kwargs={key: value})


def test_a_value_reverse_would_quote_is_reversed():
    # Not a slug: the template is not used, reverse() quotes it (and refuses what it refuses).
    assert page_address("country-detail", "iso_code", "t r") == reverse(
        "country-detail", kwargs={"iso_code": "t r"}
    )


def test_the_script_prefix_is_part_of_the_address():
    plain = page_address("region-detail", "slug", "r")
    set_script_prefix("/mounted/")
    try:
        assert page_address("region-detail", "slug", "r") == "/mounted" + plain
    finally:
        set_script_prefix("/")
