import datetime
from pathlib import Path

import pytest
from django.template import engines

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


#: templates/sitemap.xml before 4 December 2026 (night), when its loop wrote the <url> elements.
REMOVED_SITEMAP = (Path(__file__).parents[1] / "removed_templates" / "sitemap.xml").read_text()


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"])
def test_the_url_rows_are_the_bytes_the_template_loop_wrote(zone, settings):
    """``{% url_rows %}`` writes what the loop wrote: escaped addresses, the day of the last
    change in the current time zone (a change late on the 4th in UTC is the 5th in Kiritimati and
    still the 4th in Los Angeles), nothing for an address without one."""
    settings.TIME_ZONE = zone
    urlset = [
        {
            "location": "https://example.org/funding/a&b/",
            "lastmod": datetime.datetime(2025, 3, 4, 23, 30, tzinfo=datetime.UTC),
        },
        {"location": "https://example.org/countries/by/", "lastmod": None},
        {
            "location": "https://example.org/<x>/\"'/",
            "lastmod": datetime.datetime(999, 1, 2, 12, tzinfo=datetime.UTC),
        },
        {"location": "https://example.org/day/", "lastmod": datetime.date(2024, 5, 6)},
    ]
    django = engines["django"]
    written = django.from_string((Path(settings.BASE_DIR) / "templates" / "sitemap.xml").read_text()).render(
        {"urlset": urlset}
    )
    assert written == django.from_string(REMOVED_SITEMAP).render({"urlset": urlset})
    assert "a&amp;b" in written and "&lt;x&gt;" in written
    assert written.count("<lastmod>") == 3


def test_each_page_of_a_section_holds_what_django_s_own_get_urls_gives(
    monkeypatch, client, django_assert_num_queries
):
    """``PublishedSitemap.get_urls`` reads a page's slice without counting the section first:
    the same addresses, last changes and section date as Django's ``Sitemap.get_urls`` (which
    counts, then slices) on every page, a 404 past the end, one query a page."""
    from types import SimpleNamespace

    from django.contrib.sitemaps import Sitemap
    from django.core.paginator import EmptyPage, PageNotAnInteger

    from migrationsupport.urls import SITEMAPS

    records = FundingRecordFactory.create_batch(23)
    FundingRecordFactory(status="draft")
    for day, record in enumerate(records, start=1):  # last changes out of the order of the pages
        moment = datetime.datetime(2025, 1, 1 + (day * 7) % 28, tzinfo=datetime.UTC)
        FundingRecord.objects.filter(pk=record.pk).update(updated_at=moment)
    section = SITEMAPS["funding"]
    monkeypatch.setattr(section, "limit", 10)
    site = SimpleNamespace(domain="example.org")

    for page in ("2", 1, 2, 3):
        ours, django = section(), section()
        got = ours.get_urls(page=page, site=site, protocol="https")
        expected = Sitemap.get_urls(django, page=page, site=site, protocol="https")
        assert [(u["location"], u["lastmod"]) for u in got] == [
            (u["location"], u["lastmod"]) for u in expected
        ]
        assert ours.latest_lastmod == django.latest_lastmod
    assert len(got) == 3
    for page, error in ((4, EmptyPage), (0, EmptyPage), (10**20, EmptyPage), ("x", PageNotAnInteger)):
        with pytest.raises(error):
            section().get_urls(page=page, site=site, protocol="https")
        with pytest.raises(error):
            Sitemap.get_urls(section(), page=page, site=site, protocol="https")

    with django_assert_num_queries(1):
        last = client.get("/sitemap-funding.xml?p=3")
    assert last.content.decode().count("<url>") == 3
    assert last.headers["Last-Modified"]
    assert client.get("/sitemap-funding.xml?p=4").status_code == 404
    assert client.get("/sitemap-funding.xml?p=x").status_code == 404
    assert client.get(f"/sitemap-funding.xml?p={10**20}").status_code == 404


def test_the_funding_section_is_counted_from_the_stored_count_while_it_is_current(monkeypatch, client):
    """At 100 000 funding records counting them was the index's slowest query (a scan, 30 ms):
    while the stored totals are current the section's size is their stored count (the count of
    the very set the section lists), and once a write made them stale it is counted from the
    records again."""
    from funding import rollup
    from funding.models import FundingTotalsSet
    from migrationsupport.urls import SITEMAPS

    monkeypatch.setattr(SITEMAPS["funding"], "limit", 10)
    FundingRecordFactory.create_batch(25)
    FundingRecordFactory(status="draft")
    assert rollup.rebuild()
    listed = rollup.fingerprint(SITEMAPS["funding"]().items())
    assert listed == rollup.fingerprint(rollup.published_set())
    index = client.get("/sitemap.xml").content.decode()
    assert "sitemap-funding.xml?p=3" in index
    assert "sitemap-funding.xml?p=4" not in index

    # The stored size is what the index reads: made 45 by hand, it links five pages.
    assert FundingTotalsSet.objects.filter(key=listed, grouping="", size=25).update(size=45) == 1
    index = client.get("/sitemap.xml").content.decode()
    assert "sitemap-funding.xml?p=5" in index

    FundingRecordFactory.create_batch(6)  # 31 published now, the stored count stale
    index = client.get("/sitemap.xml").content.decode()
    assert "sitemap-funding.xml?p=4" in index
    assert "sitemap-funding.xml?p=5" not in index
