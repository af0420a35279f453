import pytest

from tests.factories import CountryFactory, FundingRecordFactory

pytestmark = pytest.mark.django_db


def test_sitemap_lists_published_records_and_never_drafts(client):
    FundingRecordFactory(slug="published-record")
    FundingRecordFactory(slug="draft-record", status="draft")
    CountryFactory(iso_code="BY")

    index = client.get("/sitemap.xml")
    assert index.status_code == 200
    assert b"sitemap-funding.xml" in index.content

    funding = client.get("/sitemap-funding.xml").content.decode()
    assert "/funding/published-record/" in funding
    assert "draft-record" not in funding
    assert "/countries/by/" in client.get("/sitemap-countries.xml").content.decode()
    assert "/funding/" in client.get("/sitemap-pages.xml").content.decode()
