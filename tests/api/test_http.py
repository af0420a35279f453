"""HTTP behaviour of the API: conditional requests, optimistic concurrency, throttling, caching."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils.http import http_date

from funding.models import FundingRecord
from migrationsupport.api.conditional import version_tag
from tests.api.support import API
from tests.factories import CountryFactory, FundingRecordFactory, RegionFactory, SourceFactory, ThemeFactory

pytestmark = pytest.mark.django_db

# A Publisher: changes published records (an Editor works on drafts).
CHANGE = ("funding.change_fundingrecord", "funding.publish_fundingrecord")


def test_detail_etag_names_the_version_and_if_none_match_gives_304(api):
    record = FundingRecordFactory(slug="package")
    response = api.get(f"{API}/funding/package/")
    etag = response["ETag"]
    assert etag.startswith(f'"{version_tag(record)}-')
    assert response["Last-Modified"] == http_date(record.updated_at.timestamp())
    assert "Accept" in response["Vary"]
    assert "no-cache" in response["Cache-Control"]

    not_modified = api.get(f"{API}/funding/package/", HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag

    # A change to a related record changes the answer, and so its ETag.
    record.source.title = "Renamed"
    record.source.save()
    assert api.get(f"{API}/funding/package/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_if_modified_since_gives_304_until_the_record_changes(api):
    record = FundingRecordFactory(slug="package")
    since = http_date(record.updated_at.timestamp() + 1)
    assert api.get(f"{API}/funding/package/", HTTP_IF_MODIFIED_SINCE=since).status_code == 304


def test_list_etag_changes_when_the_list_does(api):
    FundingRecordFactory()
    first = api.get(f"{API}/funding/")
    assert api.get(f"{API}/funding/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    # The CSV is written while it is sent: no body to take a digest of before it goes.
    assert not api.get(f"{API}/funding/", {"format": "csv"}).has_header("ETag")
    FundingRecordFactory()
    assert api.get(f"{API}/funding/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_update_with_the_current_etag_succeeds_and_returns_the_next_one(staff_client):
    FundingRecordFactory(slug="package", title="Old")
    officer = staff_client(*CHANGE)
    etag = officer.get(f"{API}/funding/package/")["ETag"]
    changed = officer.patch(f"{API}/funding/package/", {"title": "New"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200, changed.content
    assert changed["ETag"] != etag
    assert changed.json()["version"] == 2
    # The new ETag is the one to base the next change on.
    again = officer.patch(
        f"{API}/funding/package/", {"title": "Newer"}, format="json", HTTP_IF_MATCH=changed["ETag"]
    )
    assert again.status_code == 200


def test_update_based_on_a_stale_etag_is_412_and_changes_nothing(staff_client):
    record = FundingRecordFactory(slug="package", title="Old")
    first, second = staff_client(*CHANGE, "funding.delete_fundingrecord"), staff_client(*CHANGE)
    stale = first.get(f"{API}/funding/package/")["ETag"]
    assert second.patch(f"{API}/funding/package/", {"title": "Theirs"}, format="json").status_code == 200

    for method in (first.patch, first.put):
        refused = method(f"{API}/funding/package/", {"title": "Mine"}, format="json", HTTP_IF_MATCH=stale)
        assert refused.status_code == 412
        assert "version 2" in refused.json()["detail"]
    refused_delete = first.delete(f"{API}/funding/package/", HTTP_IF_MATCH=stale)
    assert refused_delete.status_code == 412
    record.refresh_from_db()
    assert (record.title, record.version) == ("Theirs", 2)


def test_if_match_accepts_star_weak_tags_and_the_short_version_tag(staff_client):
    record = FundingRecordFactory(slug="package")
    officer = staff_client(*CHANGE)
    url = f"{API}/funding/package/"
    assert officer.patch(url, {}, format="json", HTTP_IF_MATCH="*").status_code == 200
    record.version = 2
    weak = f'W/"{version_tag(record)}-abc"'
    assert officer.patch(url, {}, format="json", HTTP_IF_MATCH=weak).status_code == 200
    record.version = 3
    short = f'"{version_tag(record)}"'
    assert officer.patch(url, {}, format="json", HTTP_IF_MATCH=f'"x", {short}').status_code == 200
    refused = officer.patch(url, {}, format="json", HTTP_IF_MATCH=short)
    assert refused.status_code == 412
    assert "from version 3, it is now at version 4" in refused.json()["detail"]


def test_etags_name_no_internal_id_or_edit_count(staff_client):
    record = FundingRecordFactory(slug="package")
    officer = staff_client(*CHANGE)
    tag = officer.get(f"{API}/funding/package/")["ETag"].strip('"')
    assert tag.split("-")[0] == version_tag(record)
    assert not tag.startswith(f"{record.pk}-")
    # The same record and version under another SECRET_KEY: another tag, so it cannot be guessed.
    with override_settings(SECRET_KEY="another-key"):
        assert version_tag(record) != tag.split("-")[0]


def test_anonymous_clients_are_throttled_with_retry_after(api, settings, staff_client):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "3/min"}}
    ThemeFactory()
    assert [api.get(f"{API}/themes/").status_code for _ in range(3)] == [200, 200, 200]
    throttled = api.get(f"{API}/themes/")
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert "throttled" in throttled.json()["detail"].lower()
    # Staff clients are not throttled.
    officer = staff_client()
    assert [officer.get(f"{API}/themes/").status_code for _ in range(5)] == [200] * 5


def test_default_rate_is_generous(settings):
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"] == "300/min"


def test_protected_delete_is_a_409_not_a_500(staff_client):
    region = RegionFactory(slug="south")
    CountryFactory(region=region, name="Morocco")
    response = staff_client("regions.delete_region", "regions.publish_region").delete(f"{API}/regions/south/")
    assert response.status_code == 409
    assert "Morocco" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)  # the cache's version moves when an edit commits
def test_page_cache_serves_anonymous_api_answers_fresh(api, settings):
    """With the site's page cache on, anonymous API answers come from it until any edit."""
    settings.PAGE_CACHE_SECONDS = 600
    record = FundingRecordFactory(slug="package", amount=Decimal(60))
    first = api.get(f"{API}/funding/package/")
    assert first.status_code == 200
    assert api.get(f"{API}/funding/package/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    FundingRecord.objects.filter(pk=record.pk).update(title="Changed behind the cache's back")
    record.amount = Decimal(61)
    record.save()
    assert api.get(f"{API}/funding/package/").json()["amount"] == 61


def test_writes_are_atomic(staff_client):
    """A write that fails half-way (an unknown related slug) leaves nothing behind."""
    source = SourceFactory()
    body = {"slug": "new", "title": "New", "source": source.slug, "regions": ["nowhere"]}
    response = staff_client("funding.add_fundingrecord").post(f"{API}/funding/", body, format="json")
    assert response.status_code == 400
    assert "regions" in response.json()
    assert not FundingRecord.objects.filter(slug="new").exists()


def test_head_with_a_current_etag_is_304_like_get(api):
    record = FundingRecordFactory()
    url = f"{API}/funding/{record.slug}/"
    etag = api.get(url)["ETag"]
    assert api.head(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert api.head(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200
