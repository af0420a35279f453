import logging
import os
import urllib.request
import uuid

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection

from migrationsupport.cache import VERSION_KEY, content_version
from regions.models import Region
from tests.factories import RegionFactory
from tests.support.database import child_database_url
from tests.support.gunicorn import start_gunicorn


@pytest.fixture
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 600
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_the_version_moves_when_the_edit_commits_not_before(page_cache, django_capture_on_commit_callbacks):
    """A page built while the edit is not yet committed shows the old rows: it must be stored
    under the old version, so the version may move only once the edit is visible."""
    before = content_version()
    with django_capture_on_commit_callbacks(execute=True):
        RegionFactory(slug="uncommitted")
        assert content_version() == before
    assert content_version() > before


@pytest.mark.django_db(transaction=True)  # the version moves when an edit commits
def test_anonymous_page_is_served_from_cache_until_a_record_changes(
    client, page_cache, django_assert_num_queries
):
    region = RegionFactory(name="Alpha", slug="alpha")
    first = client.get("/regions/alpha/")
    assert first.status_code == 200
    assert first["X-Cache"] == "miss"
    with django_assert_num_queries(0):
        second = client.get("/regions/alpha/")
    assert second["X-Cache"] == "hit"
    assert second.content == first.content

    region.name = "Beta"
    region.save()
    fresh = client.get("/regions/alpha/")
    assert fresh["X-Cache"] == "miss"
    assert b"Beta" in fresh.content


@pytest.mark.django_db(transaction=True)  # the version moves when an edit commits
def test_publishing_unpublishing_and_deleting_make_pages_fresh(client, page_cache):
    region = RegionFactory(slug="gamma", status="draft")
    assert client.get("/regions/gamma/").status_code == 404
    region.status = "published"
    region.save()
    assert client.get("/regions/gamma/").status_code == 200
    region.status = "draft"
    region.save()
    assert client.get("/regions/gamma/").status_code == 404
    region.status = "published"
    region.save()
    assert client.get("/regions/gamma/").status_code == 200
    region.delete()
    assert client.get("/regions/gamma/").status_code == 404


@pytest.mark.django_db
def test_officers_are_never_served_cached_pages(client, admin_user, page_cache):
    RegionFactory(slug="delta")
    client.get("/regions/delta/")
    client.force_login(admin_user)
    response = client.get("/regions/delta/")
    assert "X-Cache" not in response


@pytest.mark.django_db
def test_site_keeps_serving_when_the_cache_is_unreachable(client, settings):
    settings.PAGE_CACHE_SECONDS = 600
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    RegionFactory(slug="epsilon", name="Epsilon")
    response = client.get("/regions/epsilon/")
    assert response.status_code == 200
    assert b"Epsilon" in response.content


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("X-Cache", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("X-Cache", ""), ""


@pytest.fixture
def shared_redis(settings):
    """CACHES as settings.py builds them with REDIS_URL: Redis, and each process's local copy."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    prefix = f"test-{uuid.uuid4().hex}"
    settings.PAGE_CACHE_SECONDS = 600
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        },
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": prefix},
    }
    yield url, prefix
    redis = get_redis_connection("default")
    redis.delete(*redis.keys(f"{prefix}:*"), f"{prefix}:none")


def _drop_pages_from_redis(prefix: str) -> int:
    redis = get_redis_connection("default")
    return redis.delete(*redis.keys(f"{prefix}:*page:*"), f"{prefix}:none")


@pytest.mark.django_db(transaction=True)  # the version moves when an edit commits
def test_with_redis_a_process_serves_its_own_copy_and_never_a_stale_one(client, shared_redis):
    _, prefix = shared_redis
    region = RegionFactory(name="Before the edit", slug="local")
    assert client.get("/regions/local/")["X-Cache"] == "miss"
    assert _drop_pages_from_redis(prefix) == 1

    # Gone from Redis, still in this process's memory under the same version.
    again = client.get("/regions/local/")
    assert again["X-Cache"] == "hit"
    assert b"Before the edit" in again.content

    region.name = "After the edit"
    region.save()  # bumps the version in Redis: the local copy's key is never asked for again
    fresh = client.get("/regions/local/")
    assert fresh["X-Cache"] == "miss"
    assert b"After the edit" in fresh.content


@pytest.mark.django_db
def test_a_large_answer_is_left_to_redis(client, shared_redis, monkeypatch):
    _, prefix = shared_redis
    RegionFactory(slug="large")
    page = client.get("/regions/large/")
    monkeypatch.setattr("migrationsupport.cache.LOCAL_MAX_BYTES", len(page.content) - 1)
    assert _drop_pages_from_redis(prefix) == 1

    assert client.get("/regions/large/")["X-Cache"] == "hit"  # from this process's memory
    other = client.get("/regions/large/?other=1")
    assert other["X-Cache"] == "miss"
    assert _drop_pages_from_redis(prefix) == 1
    assert client.get("/regions/large/?other=1")["X-Cache"] == "miss"  # it was never kept here


@pytest.mark.django_db
def test_a_lost_version_counter_restarts_above_every_version_used(client, shared_redis):
    RegionFactory(name="Before the edit", slug="lost")
    assert client.get("/regions/lost/")["X-Cache"] == "miss"
    used = content_version()

    # Redis loses the counter (restart, eviction) together with the bump of a change: counting
    # again from a number already used could serve that number's pages, stored before the change.
    cache.delete(VERSION_KEY)
    Region.objects.filter(slug="lost").update(name="After the edit")  # update() sends no signal

    assert content_version() > used
    fresh = client.get("/regions/lost/")
    assert fresh["X-Cache"] == "miss"
    assert b"After the edit" in fresh.content


@pytest.fixture
def second_app_process(shared_redis, transactional_db):
    """Another app process (gunicorn) on the same test database and the same Redis."""
    url, prefix = shared_redis
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "test-only",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": url,
        "CACHE_KEY_PREFIX": prefix,
        "PAGE_CACHE_SECONDS": "600",
        "STATICFILES_MANIFEST": "0",
    }
    with start_gunicorn(env=env) as server:
        yield server.url


def test_an_edit_in_one_process_is_fresh_in_another_on_the_next_request(second_app_process, live_server):
    region = RegionFactory(name="Before the edit", slug="shared")
    other, this = second_app_process, live_server.url

    status, _, body = _get(f"{other}/regions/shared/")
    assert status == 200
    assert "Before the edit" in body
    status, hit, body = _get(f"{other}/regions/shared/")
    assert hit == "hit"

    region.name = "After the edit"
    region.save()  # in this process (which also serves live_server)

    status, hit, body = _get(f"{other}/regions/shared/")
    assert hit == "miss"
    assert "After the edit" in body
    assert "After the edit" in _get(f"{this}/regions/shared/")[2]


@pytest.mark.django_db
def test_a_page_is_served_back_only_to_the_host_and_scheme_it_was_built_for(
    client, page_cache, settings, caplog
):
    settings.ALLOWED_HOSTS = ["a.example", "b.example"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    secure = client.get("/sitemap.xml", HTTP_HOST="b.example", HTTP_X_FORWARDED_PROTO="https")
    assert secure["X-Cache"] == "miss" and b"<loc>https://b.example/sitemap-" in secure.content

    plain = client.get("/sitemap.xml", HTTP_HOST="a.example")
    assert plain["X-Cache"] == "miss"
    assert b"b.example" not in plain.content and b"<loc>http://a.example/sitemap-" in plain.content
    assert client.get("/sitemap.xml", HTTP_HOST="b.example")["X-Cache"] == "miss"  # same host, http
    again = client.get("/sitemap.xml", HTTP_HOST="b.example", HTTP_X_FORWARDED_PROTO="https")
    assert again["X-Cache"] == "hit" and again.content == secure.content
    # A host the site does not answer to is refused before the cache is asked: no cache warning.
    with caplog.at_level(logging.WARNING, logger="migrationsupport.cache"):
        assert client.get("/sitemap.xml", HTTP_HOST="evil.example").status_code == 400
    assert not [r for r in caplog.records if r.name == "migrationsupport.cache"]


def _regions_at_an_anonymous_rate(shared_redis, settings, rate: str):
    """A region to list, the API's anonymous rate set to ``rate``: the key prefix and Redis."""
    _, prefix = shared_redis
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": rate}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    RegionFactory()
    return prefix, get_redis_connection("default")


@pytest.mark.django_db
def test_with_redis_every_api_answer_is_counted_once_cached_or_built(client, shared_redis, settings):
    """Issue 16, point 8, on the real Redis path: the content version and the API's anonymous
    counter in one round trip; a built answer is not counted again by the view's throttle."""
    prefix, redis = _regions_at_an_anonymous_rate(shared_redis, settings, "3/min")

    assert client.get("/api/v1/regions/")["X-Cache"] == "miss"
    (counter,) = redis.keys(f"{prefix}:*throttle_anon_*")
    assert int(redis.get(counter)) == 1  # built by the view, counted once
    assert 0 < redis.ttl(counter) <= 60
    assert client.get("/api/v1/regions/")["X-Cache"] == "hit"
    assert client.get("/api/v1/regions/")["X-Cache"] == "hit"
    assert int(redis.get(counter)) == 3
    throttled = client.get("/api/v1/regions/")
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert client.get("/api/v1/regions/", REMOTE_ADDR="192.0.2.9")["X-Cache"] == "hit"


@pytest.mark.django_db
def test_the_counter_works_on_a_redis_that_lost_its_scripts(client, shared_redis, settings):
    """The counter is called by its script's hash; a new or restarted Redis knows no script yet
    (``SCRIPT FLUSH`` here): the request is still counted, and the next one finds the script."""
    prefix, redis = _regions_at_an_anonymous_rate(shared_redis, settings, "5/min")
    assert client.get("/api/v1/regions/")["X-Cache"] == "miss"
    redis.script_flush()
    assert client.get("/api/v1/regions/")["X-RateLimit-Remaining"] == "3"
    assert client.get("/api/v1/regions/")["X-RateLimit-Remaining"] == "2"
    (counter,) = redis.keys(f"{prefix}:*throttle_anon_*")
    assert int(redis.get(counter)) == 3
