"""The API's conventions (docs/api.md), on every endpoint: ``updated_since``, CORS for anonymous
reads, rate-limit headers."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.utils import timezone

from tests.api.support import ENDPOINTS, keys, payload, results


def _field(endpoint) -> str:
    return "id" if endpoint.lookup == "pk" else endpoint.lookup


@pytest.mark.django_db
def test_updated_since_lists_only_records_changed_since(api, endpoint):
    old, new = endpoint.make(), endpoint.make()
    long_ago = timezone.now() - datetime.timedelta(days=400)
    endpoint.model.objects.filter(pk=old.pk).update(updated_at=long_ago)
    since = (timezone.now() - datetime.timedelta(days=1)).date().isoformat()
    listed = keys(api.get(endpoint.list_url(), {"updated_since": since}), _field(endpoint))
    assert str(endpoint.key(new)) in map(str, listed)
    assert str(endpoint.key(old)) not in map(str, listed)
    moment = (long_ago - datetime.timedelta(minutes=1)).isoformat()
    both = keys(api.get(endpoint.list_url(), {"updated_since": moment}), _field(endpoint))
    assert {endpoint.key(old), endpoint.key(new)} <= set(map(str, both))


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "2024-02-30", "2024-05-01T25:00", "1714561200"])
def test_a_malformed_updated_since_is_a_400(api, endpoint, bad):
    response = api.get(endpoint.list_url(), {"updated_since": bad})
    assert response.status_code == 400
    assert "updated_since" in response.json()


@pytest.mark.django_db
def test_updated_since_in_the_site_time_zone_without_an_offset(api):
    funding = ENDPOINTS["funding"]
    record = funding.make()
    # 10:00 in Brussels in summer is 08:00 UTC.
    moment = datetime.datetime(2024, 7, 1, 8, 0, tzinfo=datetime.UTC)
    funding.model.objects.filter(pk=record.pk).update(updated_at=moment)
    assert keys(api.get(funding.list_url(), {"updated_since": "2024-07-01T09:59:00"})) == [record.slug]
    assert keys(api.get(funding.list_url(), {"updated_since": "2024-07-01T10:01:00"})) == []
    assert keys(api.get(funding.list_url(), {"updated_since": "2024-07-01T08:00:00Z"})) == [record.slug]
    assert results(api.get(funding.list_url(), {"updated_since": "2024-07-02"})) == []


def _rate(settings, anon: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": anon},
    }


@pytest.mark.django_db
@pytest.mark.parametrize("page_cache", [0, 600])
def test_rate_limit_headers_count_down_per_client_then_429_with_retry_after(client, settings, page_cache):
    """Built or served from the page cache, each answer tells its own client what is left; a
    cached answer never carries another client's count."""
    settings.PAGE_CACHE_SECONDS = page_cache
    _rate(settings, "3/min")
    ENDPOINTS["regions"].make()
    first, second = client.get("/api/v1/regions/"), client.get("/api/v1/regions/")
    assert [first["X-RateLimit-Limit"], second["X-RateLimit-Limit"]] == ["3", "3"]
    assert [first["X-RateLimit-Remaining"], second["X-RateLimit-Remaining"]] == ["2", "1"]
    now = timezone.now().timestamp()
    assert now < int(first["X-RateLimit-Reset"]) <= now + 61
    if page_cache:
        assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    other = client.get("/api/v1/regions/", REMOTE_ADDR="192.0.2.7")
    assert other["X-RateLimit-Remaining"] == "2"  # its own count, not the first client's
    client.get("/api/v1/regions/")
    throttled = client.get("/api/v1/regions/")
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert throttled["X-RateLimit-Remaining"] == "0"


@pytest.mark.django_db
@pytest.mark.parametrize("page_cache", [0, 600])
@pytest.mark.parametrize("method", ["get", "head"])
def test_a_304_still_says_where_the_client_stands(client, settings, page_cache, method):
    """An unchanged answer to ``If-None-Match`` is a 304, counted like any other: it keeps the
    ``X-RateLimit-*`` headers (Django's own 304 drops them), built or served from the cache."""
    settings.PAGE_CACHE_SECONDS = page_cache
    _rate(settings, "5/min")
    ENDPOINTS["regions"].make()
    etag = client.get("/api/v1/regions/")["ETag"]
    not_modified = getattr(client, method)("/api/v1/regions/", HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified["X-RateLimit-Limit"] == "5"
    assert not_modified["X-RateLimit-Remaining"] == "3"
    assert not_modified.has_header("X-RateLimit-Reset")


@pytest.mark.django_db
def test_staff_answers_carry_no_rate_limit_headers(staff_client, settings):
    _rate(settings, "3/min")
    response = staff_client().get("/api/v1/regions/")
    assert response.status_code == 200
    assert not response.has_header("X-RateLimit-Limit")


@pytest.mark.django_db
@pytest.mark.parametrize("page_cache", [0, 600])
def test_any_origin_may_read_the_api_anonymously(client, settings, page_cache):
    settings.PAGE_CACHE_SECONDS = page_cache
    ENDPOINTS["regions"].make()
    for _ in range(2):  # built, then (with the page cache) served from it
        response = client.get("/api/v1/regions/", HTTP_ORIGIN="https://news.example")
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "X-RateLimit-Remaining" in response["Access-Control-Expose-Headers"]
        assert "ETag" in response["Access-Control-Expose-Headers"]
        assert not response.has_header("Access-Control-Allow-Credentials")
    assert not client.get("/regions/", HTTP_ORIGIN="https://news.example").has_header(
        "Access-Control-Allow-Origin"
    )


@pytest.mark.django_db
def test_a_preflight_allows_reads_and_never_writes(client):
    read = client.options(
        "/api/v1/funding/",
        HTTP_ORIGIN="https://news.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )
    assert read.status_code == 204
    assert read["Access-Control-Allow-Origin"] == "*"
    assert "GET" in read["Access-Control-Allow-Methods"]
    assert "POST" not in read["Access-Control-Allow-Methods"]
    assert "If-None-Match" in read["Access-Control-Allow-Headers"]
    assert not read.has_header("Access-Control-Allow-Credentials")
    write = client.options(
        "/api/v1/funding/",
        HTTP_ORIGIN="https://news.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert not write.has_header("Access-Control-Allow-Origin")
    post = client.post("/api/v1/funding/", {}, HTTP_ORIGIN="https://news.example")
    assert not post.has_header("Access-Control-Allow-Origin")


@pytest.mark.django_db
def test_rich_text_comes_as_html_and_as_plain_text_without_footnote_marks(api):
    from tests.factories import CountryFactory

    CountryFactory(
        iso_code="BY",
        cooperation_note='<p>Belarus<sup>[1]</sup> suspended &amp; <a href="https://x.eu">see</a>.</p><p>Two</p>',
    )
    body = api.get("/api/v1/countries/by/").json()
    html = (
        '<p>Belarus<sup>[1]</sup> suspended &amp; <a href="https://x.eu" rel="noopener noreferrer">'
        "see</a>.</p><p>Two</p>"
    )
    assert body["cooperation_note_html"] == html
    assert body["cooperation_note_text"] == "Belarus suspended & see.\nTwo"
    assert body["cooperation_note"] == html  # the 1.0 name, deprecated
    assert list(body)[-1] == "cooperation_note"  # deprecated names come last
    response = api.get("/api/v1/countries/", {"format": "csv"})
    (row,) = csv.DictReader(io.StringIO(response.getvalue().decode()))
    assert row["cooperation_note_text"] == "Belarus suspended & see.\nTwo"


@pytest.mark.django_db
def test_rich_text_is_written_as_html(staff_client):
    writer = staff_client("funding.add_fundingrecord", "funding.change_fundingrecord")
    body = {**payload("funding"), "description_html": "<p>Hi<script>x()</script></p>"}
    response = writer.post("/api/v1/funding/", body, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["description_html"], response.json()["description_text"]) == ("<p>Hi</p>", "Hi")


@pytest.mark.django_db
def test_what_a_source_does_not_state_is_null_in_the_nested_object_too(api):
    from tests.factories import FundingRecordFactory, SourceFactory

    record = FundingRecordFactory(source=SourceFactory(publisher="", url=""))
    source = api.get(f"/api/v1/funding/{record.slug}/").json()["source"]
    assert source["slug"] == record.source.slug
    assert source["publisher"] is None and source["url"] is None
