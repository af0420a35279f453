import datetime

import pytest

from funding.models import FundingRecord
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


def test_the_index_dates_each_section_by_its_latest_published_change(client):
    published = FundingRecordFactory(slug="published-record")
    FundingRecord.objects.filter(pk=published.pk).update(
        updated_at=datetime.datetime(2025, 3, 4, tzinfo=datetime.UTC)
    )
    draft = FundingRecordFactory(slug="draft-record", status="draft")
    FundingRecord.objects.filter(pk=draft.pk).update(
        updated_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    )

    index = client.get("/sitemap.xml").content.decode()
    section = index[index.index("sitemap-funding.xml") :]
    assert section[section.index("<lastmod>") + 9 :].startswith("2025-03-04")


def test_a_section_reads_as_django_writes_it_with_what_our_template_leaves_out_unused(client):
    """templates/sitemap.xml writes an address and its last change: a section that gave a
    change frequency, a priority or language alternates would lose them without a word."""
    from migrationsupport.urls import SITEMAPS

    for name, section in SITEMAPS.items():
        sitemap = section()
        assert getattr(sitemap, "changefreq", None) is None, name
        assert getattr(sitemap, "priority", None) is None, name
        assert not sitemap.alternates and not sitemap.i18n, name

    FundingRecordFactory(slug="published-record")
    FundingRecord.objects.update(updated_at=datetime.datetime(2025, 3, 4, tzinfo=datetime.UTC))
    funding = client.get("/sitemap-funding.xml").content.decode()
    assert funding.endswith(
        "<url><loc>http://testserver/funding/published-record/</loc>"
        "<lastmod>2025-03-04</lastmod></url>\n</urlset>\n"
    )
