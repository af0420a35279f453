"""The "Method and sources" page (issue 17, point 5): each measure, how totals are made, what "more
than" does to a total, the sources, and what is covered, read from the records."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from funding.models import Measure
from tests.factories import CountryFactory, RegionFactory
from tests.seed.test_fixtures import FIXTURES

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(client):
    call_command("loaddata", *FIXTURES, verbosity=0)
    return client.get("/funding-figures/").content.decode()


def test_the_method_page_explains_each_measure_with_the_seeds_figures(page):
    assert "<h1>Method and sources</h1>" in page
    for _, label in Measure.choices:
        assert f"<dt>{label}</dt>" in page, label
    for example in ("more than €33 billion", "almost €6 billion", "€2.12 billion", "close to €900 million"):
        assert example in page, example


def test_the_method_page_says_how_totals_are_made_and_what_more_than_does(page):
    assert 'id="totals"' in page
    for words in ("€47 million", "€13 million", "€60 million", "more than €350 million", "€36 million"):
        assert words in page, words
    assert "shared by" in page
    assert "is a lower bound" in page
    assert "more than €386 million" in page


def test_the_method_page_lists_the_covered_countries_from_the_records_and_says_the_rest_are_not(page, client):
    assert "EU support to partner countries on migration and forced displacement" in page  # the source
    for name in ("Western Balkans", "Serbia", "Türkiye", "Ukraine", "Syria"):
        assert name in page, name
    assert "North Africa</a>: the source names no country of this region" in page
    assert "Partner countries the source does not name are not covered." in page
    # Read from the records: a country added by officers is covered, a draft is not.
    region = RegionFactory(name="Sahel")
    CountryFactory(name="Niger", iso_code="NE", region=region)
    CountryFactory(name="Chad", iso_code="TD", region=region, status="draft")
    page = client.get("/funding-figures/").content.decode()
    assert "Niger" in page
    assert "Chad" not in page


def test_funding_totals_link_to_how_totals_are_made(client, page):
    explorer = client.get("/funding/").content.decode()
    assert '/funding-figures/#totals">How totals are made</a>' in explorer


def test_a_country_whose_region_is_a_draft_is_still_listed_as_covered(client):
    draft_region = RegionFactory(name="Unreleased region", status="draft")
    CountryFactory(name="Niger", iso_code="NE", region=draft_region)
    page = client.get("/funding-figures/").content.decode()
    assert "Unreleased region" not in page
    assert "Also covered, outside these regions:" in page and "Niger" in page
