import logging
import os
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection

from migrationsupport.cache import VERSION_KEY, content_version
from migrationsupport.rate_count import rate_count
from regions.models import Region
from tests.factories import RegionFactory
from tests.support.database import child_database_url
from tests.support.gunicorn import BASE_DIR as ROOT
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


@pytest.fixture(params=[True, False], ids=["without-waiting", "round-trip"])
def counting(request, settings):
    """Both ways of counting a cached API answer: sent without waiting for Redis's reply
    (``rate_count``), or one round trip with the version's read (``count_in_window``)."""
    settings.PAGE_CACHE_VERSION_COPY = True
    settings.API_COUNT_WITHOUT_WAITING = request.param
    rate_count._close(keep_held=False)
    rate_count._reset()
    yield request.param
    rate_count._close(keep_held=False)


@pytest.mark.django_db
def test_with_redis_every_api_answer_is_counted_once_cached_or_built(
    client, shared_redis, settings, counting
):
    """Issue 16, point 8, on the real Redis path: every anonymous API answer counted, cached or
    built; a built answer is not counted again by the view's throttle."""
    prefix, redis = _regions_at_an_anonymous_rate(shared_redis, settings, "3/min")

    assert client.get("/api/v1/regions/")["X-Cache"] == "miss"
    rate_count.settle()  # counted without waiting: Redis's reply read
    (counter,) = redis.keys(f"{prefix}:*throttle_anon_*")
    assert int(redis.get(counter)) == 1  # built by the view, counted once
    assert 0 < redis.ttl(counter) <= 60
    assert client.get("/api/v1/regions/")["X-Cache"] == "hit"
    assert client.get("/api/v1/regions/")["X-Cache"] == "hit"
    rate_count.settle()
    assert int(redis.get(counter)) == 3
    throttled = client.get("/api/v1/regions/")
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert client.get("/api/v1/regions/", REMOTE_ADDR="192.0.2.9")["X-Cache"] == "hit"
    assert bool(_api_connections(redis)) == counting  # counted the way the test says


@pytest.mark.django_db
def test_the_counter_works_on_a_redis_that_lost_its_scripts(client, shared_redis, settings):
    """The round trip calls the counter by its script's hash (``rate_count`` sends it whole); a
    new or restarted Redis knows no script yet (``SCRIPT FLUSH`` here): the request is still
    counted, and the next one finds the script."""
    settings.API_COUNT_WITHOUT_WAITING = False
    prefix, redis = _regions_at_an_anonymous_rate(shared_redis, settings, "5/min")
    assert client.get("/api/v1/regions/")["X-Cache"] == "miss"
    redis.script_flush()
    assert client.get("/api/v1/regions/")["X-RateLimit-Remaining"] == "3"
    assert client.get("/api/v1/regions/")["X-RateLimit-Remaining"] == "2"
    rate_count.settle()
    (counter,) = redis.keys(f"{prefix}:*throttle_anon_*")
    assert int(redis.get(counter)) == 3


# --- Each process's copy of the content version (migrationsupport/version_copy.py) ---------------
#
# Redis tells every tracking connection of a flush of any of its databases, and other test files
# flush theirs meanwhile (the task queue's, the webhooks'): a copy may be dropped at any moment,
# which costs a read. So "no read" is asserted as "a try without a read, within a few".


@pytest.fixture
def version_copy(shared_redis, settings, monkeypatch):
    """This process's copy, for this test's cache, trusted for a minute (a change must drop it,
    not its age), once it is kept; every read of the version from Redis counted."""
    from migrationsupport import cache as page_cache_module
    from migrationsupport import version_copy as module

    settings.PAGE_CACHE_VERSION_COPY = True
    monkeypatch.setattr(module, "MAX_AGE", 60)
    copy = module.version_copy
    copy._close()
    copy._reset()
    reads: list[int] = []
    read_version = page_cache_module._read_version
    read_version()  # the key exists before the connection subscribes: its creation sends nothing

    def counted():
        reads.append(read_version())
        return reads[-1]

    monkeypatch.setattr(page_cache_module, "_read_version", counted)
    assert _tries_without_reading(content_version, reads)
    yield copy, reads
    copy._close()


def _tries_without_reading(call, reads: list[int], tries: int = 10) -> bool:
    """Whether one of a few calls read nothing from Redis."""
    for _ in range(tries):
        reads.clear()
        call()
        if not reads:
            return True
    return False


def _changed_within_a_second(before: int) -> int:
    deadline = time.monotonic() + 1
    while (version := content_version()) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    return version


def test_a_process_serves_hits_without_reading_the_version_again(client, version_copy, db):
    _, reads = version_copy
    RegionFactory(slug="copied")
    assert client.get("/regions/copied/")["X-Cache"] == "miss"

    def hit():
        assert client.get("/regions/copied/")["X-Cache"] == "hit"

    assert _tries_without_reading(hit, reads)


@pytest.mark.parametrize("change", ["incr", "delete", "set"])
def test_any_change_of_the_version_in_redis_drops_every_copy(version_copy, change):
    """Another process's bump, a lost counter (eviction, restart), a value written by hand: Redis
    tells this process, whose next request reads the version again."""
    _, reads = version_copy
    before = content_version()
    redis = get_redis_connection("default")
    key = cache.make_key(VERSION_KEY)
    reads.clear()
    if change == "incr":
        redis.incr(key)
    elif change == "delete":
        redis.delete(key)
    else:
        redis.set(key, before + 10)
    after = _changed_within_a_second(before)
    assert after > before
    assert reads  # read again, not aged out (MAX_AGE is a minute here)
    assert _changed_within_a_second(after) == after


@pytest.mark.django_db(transaction=True)  # the version moves when an edit commits
def test_an_edit_in_this_process_is_seen_by_its_next_request_without_waiting(
    client, version_copy, monkeypatch
):
    copy, _ = version_copy
    region = RegionFactory(name="Before the edit", slug="own-edit")
    assert client.get("/regions/own-edit/")["X-Cache"] == "miss"
    assert client.get("/regions/own-edit/")["X-Cache"] == "hit"
    monkeypatch.setattr(copy, "_unchanged", lambda: True)  # Redis's message not here yet
    region.name = "After the edit"
    region.save()
    fresh = client.get("/regions/own-edit/")
    assert fresh["X-Cache"] == "miss"
    assert b"After the edit" in fresh.content


def test_a_version_read_while_the_copy_went_stale_is_not_kept(version_copy, shared_redis):
    """Two threads of one process: one reads the version, the other reads a message (or bumps)
    meanwhile. The first one's version may predate the change: it must not become the copy."""
    copy, _ = version_copy
    pool = get_redis_connection("default").connection_pool
    key = cache.make_key(VERSION_KEY)
    copy.forget()
    known, generation = copy.get(pool, key)  # no copy: read it...
    assert known is None
    copy.forget()  # ...while another thread's bump (or a message read) makes it stale
    copy.keep(pool, key, 1, time.monotonic(), generation)
    assert copy.get(pool, key)[0] is None


def test_a_copy_is_trusted_for_at_most_max_age(version_copy, monkeypatch):
    _, reads = version_copy
    monkeypatch.setattr("migrationsupport.version_copy.MAX_AGE", 0)
    reads.clear()
    content_version()
    content_version()
    assert len(reads) == 2


def _tracking_connections(redis) -> list[dict]:
    return [c for c in redis.client_list() if c["name"] == f"content-version-{os.getpid()}"]


def test_a_closed_tracking_connection_means_reading_redis_until_a_new_one_listens(version_copy, monkeypatch):
    _, reads = version_copy
    monkeypatch.setattr("migrationsupport.redis_connections.RETRY_SECONDS", 0)
    redis = get_redis_connection("default")
    (own,) = _tracking_connections(redis)
    redis.client_kill_filter(_id=own["id"])  # as a Redis restart would
    reads.clear()
    version = content_version()  # the closed connection noticed: read
    assert reads == [version]
    assert _tries_without_reading(content_version, reads)  # a new connection, and a copy
    (new,) = _tracking_connections(redis)
    assert new["id"] != own["id"]
    redis.incr(cache.make_key(VERSION_KEY))
    assert _changed_within_a_second(version) == version + 1  # the new connection hears of it


def test_without_the_copy_every_request_reads_the_version(version_copy, settings):
    _, reads = version_copy
    settings.PAGE_CACHE_VERSION_COPY = False
    reads.clear()
    content_version()
    content_version()
    assert len(reads) == 2


def test_a_forked_worker_starts_without_its_parents_copy_or_connection(version_copy):
    copy, _ = version_copy
    assert copy._copy is not None and copy._connection is not None
    pid = os.fork()
    if pid == 0:  # the child: exits 0 only when it holds nothing of the parent's
        os._exit(0 if copy._copy is None and copy._connection is None and copy._watching is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert copy._copy is not None  # the parent keeps its own


def _counting_attempts(pool) -> list[int]:
    attempts: list[int] = []
    connection_class = pool.connection_class

    def counted(**options):
        attempts.append(1)
        return connection_class(**options)

    pool.connection_class = counted
    return attempts


def test_an_unreachable_redis_is_asked_again_only_after_a_while(monkeypatch):
    """Each request reads the version meanwhile; no request pays for a new attempt at tracking
    before ``RETRY_SECONDS`` (doubled after each failure in a row)."""
    from redis import ConnectionPool

    from migrationsupport.version_copy import VersionCopy

    monkeypatch.setattr("migrationsupport.redis_connections.RETRY_SECONDS", 0.2)
    copy, key = VersionCopy(), "prefix:content-version"
    pool = ConnectionPool.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    attempts = _counting_attempts(pool)
    assert copy.get(pool, key)[0] is None
    assert copy.get(pool, key)[0] is None
    assert len(attempts) == 1
    time.sleep(0.25)
    assert copy.get(pool, key)[0] is None
    assert len(attempts) == 2  # tried again; the next wait is twice as long
    time.sleep(0.25)
    copy.get(pool, key)
    assert len(attempts) == 2


@pytest.fixture
def redis_without_client(shared_redis, monkeypatch):
    """A pool for a Redis user without the ``CLIENT`` command (as on managed services that
    disable it), and the connections it is asked to make."""
    from redis import ConnectionPool

    url, _ = shared_redis
    monkeypatch.setattr("migrationsupport.redis_connections.RETRY_SECONDS", 0)
    redis = get_redis_connection("default")
    user = f"no-client-{uuid.uuid4().hex}"
    redis.acl_setuser(user, enabled=True, nopass=True, keys=["*"], commands=["+@all", "-client"])
    try:
        pool = ConnectionPool.from_url(url, username=user, password="")
        yield pool, _counting_attempts(pool)
    finally:
        redis.acl_deluser(user)


def test_a_redis_that_refuses_tracking_is_not_asked_again(redis_without_client):
    from migrationsupport.version_copy import VersionCopy

    pool, attempts = redis_without_client
    copy = VersionCopy()
    for _ in range(3):
        assert copy.get(pool, "prefix:content-version")[0] is None
    assert len(attempts) == 1


# --- Cached API answers counted without waiting (migrationsupport/rate_count.py) ----------------


@pytest.fixture
def without_waiting(shared_redis, settings):
    """Anonymous API answers at 100 a minute, counted without waiting; Redis and the counter key
    of this client's window."""
    settings.PAGE_CACHE_VERSION_COPY = True
    settings.API_COUNT_WITHOUT_WAITING = True
    rate_count._close(keep_held=False)
    rate_count._reset()
    prefix, redis = _regions_at_an_anonymous_rate(shared_redis, settings, "100/min")
    yield redis, f"{prefix}:*throttle_anon_*"
    rate_count._close(keep_held=False)


def _api_connections(redis) -> list[dict]:
    return [c for c in redis.client_list() if c["name"] == f"api-count-{os.getpid()}"]


@pytest.mark.django_db
@pytest.mark.parametrize("waits", [False, True], ids=["without-waiting", "round-trip"])
def test_a_cached_api_answer_is_served_while_redis_holds_its_count(
    client, without_waiting, settings, waits, monkeypatch
):
    """``CLIENT PAUSE ... WRITE`` holds every write (the increment) for 400 ms, and nothing else
    a hit does (its page and the version are this process's own copies): the hit goes out at once
    and is counted once Redis resumes; waiting for the count, it waits for the pause."""
    redis, counters = without_waiting
    settings.API_COUNT_WITHOUT_WAITING = not waits
    monkeypatch.setattr("migrationsupport.rate_count.HOLD_SECONDS", 0)  # sent, not held
    assert client.get("/api/v1/regions/")["X-Cache"] == "miss"
    assert client.get("/api/v1/regions/")["X-Cache"] == "hit"
    redis.execute_command("CLIENT", "PAUSE", 400, "WRITE")
    try:
        started = time.monotonic()
        hit = client.get("/api/v1/regions/")
        elapsed = time.monotonic() - started
    finally:
        redis.execute_command("CLIENT", "UNPAUSE")
    assert hit["X-Cache"] == "hit"
    assert hit["X-RateLimit-Remaining"] == "97"
    assert (elapsed >= 0.3) if waits else (elapsed < 0.2)
    rate_count.settle()
    (counter,) = redis.keys(counters)
    assert int(redis.get(counter)) == 3


@pytest.mark.django_db
def test_answers_whose_counts_redis_has_not_answered_yet_count(client, without_waiting, monkeypatch):
    """No reply while Redis is paused: each answer is judged by this process's own increments."""
    redis, counters = without_waiting
    monkeypatch.setattr("migrationsupport.rate_count.HOLD_SECONDS", 0)  # sent, not held
    assert client.get("/api/v1/regions/")["X-Cache"] == "miss"
    rate_count.settle()
    redis.execute_command("CLIENT", "PAUSE", 300, "WRITE")
    try:
        started = time.monotonic()
        remaining = [client.get("/api/v1/regions/")["X-RateLimit-Remaining"] for _ in range(3)]
        elapsed = time.monotonic() - started
    finally:
        redis.execute_command("CLIENT", "UNPAUSE")
    assert remaining == ["98", "97", "96"]
    assert elapsed < 0.2  # none of them waited for Redis
    rate_count.settle()
    (counter,) = redis.keys(counters)
    assert int(redis.get(counter)) == 4


@pytest.mark.django_db
@pytest.mark.parametrize("failing", ["content_version", "_cached_page"])
def test_an_answer_the_cache_fails_to_serve_is_counted_once(client, without_waiting, monkeypatch, failing):
    """The cache fails before or after the count: the answer is built, and counted once."""
    redis, counters = without_waiting

    def fails(*args):
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(f"migrationsupport.cache.{failing}", fails)
    answer = client.get("/api/v1/regions/")
    assert answer.status_code == 200
    assert "X-Cache" not in answer
    rate_count.settle()
    (counter,) = redis.keys(counters)
    assert int(redis.get(counter)) == 1


@pytest.mark.django_db
def test_an_answer_is_judged_by_redis_last_count_plus_its_process_own_since(client, without_waiting):
    """Other processes' answers (added to the counter here by hand) count from Redis's next reply
    on: the request after it is throttled. Until then this process judges by what it knows."""
    redis, counters = without_waiting
    assert client.get("/api/v1/regions/")["X-RateLimit-Remaining"] == "99"
    rate_count.settle()
    (counter,) = redis.keys(counters)
    redis.incrby(counter, 98)  # 98 answers served by other processes
    assert client.get("/api/v1/regions/")["X-RateLimit-Remaining"] == "98"  # not heard of yet
    rate_count.settle()  # Redis's reply to that request: 100
    assert client.get("/api/v1/regions/").status_code == 429
    rate_count.settle()
    assert int(redis.get(counter)) == 101  # every answer counted, the refused one too


@pytest.mark.django_db
def test_a_connection_redis_closes_while_nothing_is_on_its_way_is_replaced_at_once(
    client, without_waiting, monkeypatch
):
    """A Redis restart, an idle timeout: nothing lost, and no round trip for it."""
    redis, counters = without_waiting
    monkeypatch.setattr("migrationsupport.rate_count.HOLD_SECONDS", 0)  # sent, not held
    client.get("/api/v1/regions/")
    rate_count.settle()
    (own,) = _api_connections(redis)
    redis.client_kill_filter(_id=own["id"])
    assert client.get("/api/v1/regions/")["X-RateLimit-Remaining"] == "98"  # what it knew, kept
    rate_count.settle()
    (new,) = _api_connections(redis)
    assert new["id"] != own["id"]
    (counter,) = redis.keys(counters)
    assert int(redis.get(counter)) == 2


@pytest.mark.django_db
def test_a_reply_overdue_means_round_trips_until_a_new_connection(client, without_waiting, monkeypatch):
    """No reply within ``SOCKET_SECONDS`` of a send (a host gone without closing anything): the
    connection is dropped, the answers counted with a round trip, a new one tried later."""
    redis, _ = without_waiting
    monkeypatch.setattr("migrationsupport.rate_count.HOLD_SECONDS", 0)
    monkeypatch.setattr("migrationsupport.rate_count.SOCKET_SECONDS", 0.05)
    monkeypatch.setattr("migrationsupport.redis_connections.RETRY_SECONDS", 0.5)
    assert client.get("/api/v1/regions/")["X-Cache"] == "miss"
    rate_count.settle()
    (own,) = _api_connections(redis)
    redis.execute_command("CLIENT", "PAUSE", 300, "WRITE")
    try:
        assert client.get("/api/v1/regions/")["X-Cache"] == "hit"  # sent; no reply while paused
        time.sleep(0.1)
        assert client.get("/api/v1/regions/").status_code == 200  # overdue: a round trip
    finally:
        redis.execute_command("CLIENT", "UNPAUSE")
    assert _api_connections(redis) == []
    assert client.get("/api/v1/regions/").status_code == 200  # a round trip again, not yet a new one
    assert _api_connections(redis) == []
    time.sleep(0.5)
    client.get("/api/v1/regions/")
    (new,) = _api_connections(redis)
    assert new["id"] != own["id"]


@pytest.mark.django_db
def test_increments_held_when_the_connection_is_lost_go_out_on_the_next_one(
    client, without_waiting, monkeypatch
):
    redis, counters = without_waiting
    monkeypatch.setattr("migrationsupport.redis_connections.RETRY_SECONDS", 0)
    monkeypatch.setattr("migrationsupport.rate_count.HOLD_SECONDS", 60)
    client.get("/api/v1/regions/")  # sent
    client.get("/api/v1/regions/")  # held
    client.get("/api/v1/regions/")  # held
    (own,) = _api_connections(redis)
    redis.client_kill_filter(_id=own["id"])
    monkeypatch.setattr("migrationsupport.rate_count.HOLD_SECONDS", 0)
    # A new connection at once, with the held two: 1 known + 2 held + this one.
    assert client.get("/api/v1/regions/")["X-RateLimit-Remaining"] == "96"
    rate_count.settle()
    (counter,) = redis.keys(counters)
    assert int(redis.get(counter)) == 4  # nothing lost, nothing counted twice
    assert client.get("/api/v1/regions/")["X-RateLimit-Remaining"] == "95"


def test_an_unreachable_redis_is_not_asked_to_count_on_every_request(monkeypatch):
    from redis import ConnectionPool

    from migrationsupport.rate_count import RateCount

    monkeypatch.setattr("migrationsupport.redis_connections.RETRY_SECONDS", 0.2)
    counter = RateCount()
    pool = ConnectionPool.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    attempts = _counting_attempts(pool)
    assert counter.add(pool, "prefix:counter", 60) is None
    assert counter.add(pool, "prefix:counter", 60) is None
    assert len(attempts) == 1
    time.sleep(0.25)
    assert counter.add(pool, "prefix:counter", 60) is None
    assert len(attempts) == 2


def _count_within_a_second(redis, key: str, expected: int) -> int:
    deadline = time.monotonic() + 1
    while int(redis.get(key) or 0) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return int(redis.get(key) or 0)


def test_increments_soon_after_a_send_are_held_for_the_next_one(shared_redis, monkeypatch):
    from migrationsupport.rate_count import RateCount

    _, prefix = shared_redis
    monkeypatch.setattr("migrationsupport.rate_count.HOLD_SECONDS", 60)
    counter, key = RateCount(), f"{prefix}:counter"
    redis = get_redis_connection("default")
    try:
        assert [counter.add(redis.connection_pool, key, 60) for _ in range(3)] == [1, 2, 3]
        assert _count_within_a_second(redis, key, 1) == 1  # the first sent at once, then held
        time.sleep(0.1)
        assert int(redis.get(key)) == 1
        assert 0 < redis.ttl(key) <= 60
        assert [counter.add(redis.connection_pool, f"{key}:new", 60) for _ in range(2)] == [1, 2]  # held
        monkeypatch.setattr("migrationsupport.rate_count.HOLD_SECONDS", 0)
        assert counter.add(redis.connection_pool, key, 60) == 4  # sent with the held ones
        assert _count_within_a_second(redis, key, 4) == 4
        assert _count_within_a_second(redis, f"{key}:new", 2) == 2
        assert 0 < redis.ttl(f"{key}:new") <= 60  # created by one command adding 2: it expires too
    finally:
        counter._close(keep_held=False)


def test_a_process_sends_what_it_holds_when_it_exits(shared_redis):
    url, prefix = shared_redis
    key = f"{prefix}:counter"
    script = (
        "import sys; from redis import ConnectionPool; from migrationsupport import rate_count as m; "
        "m.HOLD_SECONDS = 60; pool = ConnectionPool.from_url(sys.argv[1]); "
        "counts = [m.rate_count.add(pool, sys.argv[2], 60) for _ in range(3)]; assert counts == [1, 2, 3]"
    )
    subprocess.run([sys.executable, "-c", script, url, key], check=True, cwd=ROOT, timeout=30)
    assert _count_within_a_second(get_redis_connection("default"), key, 3) == 3


def test_the_counts_a_process_keeps_are_bounded(shared_redis, monkeypatch):
    """Past ``MAX_KEYS``, the counts answered longest ago are let go (a key names its window)."""
    from migrationsupport.rate_count import RateCount

    _, prefix = shared_redis
    monkeypatch.setattr("migrationsupport.rate_count.MAX_KEYS", 4)
    monkeypatch.setattr("migrationsupport.rate_count.HOLD_SECONDS", 0)
    counter = RateCount()
    pool = get_redis_connection("default").connection_pool
    try:
        for window in range(5):
            assert counter.add(pool, f"{prefix}:counter:{window}", 60) == 1
            counter.settle()
        counter.add(pool, f"{prefix}:counter:5", 60)  # reads no reply: lets the older half go
        assert len(counter._answered) <= 4
        assert counter.add(pool, f"{prefix}:counter:4", 60) == 2  # answered last: still known
        assert counter.add(pool, f"{prefix}:counter:0", 60) == 1  # answered first: let go (2 in Redis)
    finally:
        counter._close(keep_held=False)


def test_a_redis_that_refuses_the_counting_connection_is_not_asked_again(redis_without_client):
    """The connection names itself with ``CLIENT SETNAME``."""
    from migrationsupport.rate_count import RateCount

    pool, attempts = redis_without_client
    counter = RateCount()
    for _ in range(3):
        assert counter.add(pool, "prefix:counter", 60) is None
    assert len(attempts) == 1


@pytest.mark.django_db
def test_a_forked_worker_starts_without_its_parents_counting_connection(client, without_waiting):
    client.get("/api/v1/regions/")
    assert rate_count._connection is not None
    pid = os.fork()
    if pid == 0:  # the child: exits 0 only when it holds nothing of the parent's
        os._exit(0 if rate_count._connection is None and not rate_count._sent else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert rate_count._connection is not None


def test_a_redis_refuses_for_good_only_a_command_it_does_not_allow():
    from redis.exceptions import BusyLoadingError, NoPermissionError, ResponseError

    from migrationsupport.redis_connections import refused

    assert refused(NoPermissionError("User has no permissions to run the 'client|setname' command"))
    assert refused(ResponseError("unknown command 'CLIENT', with args beginning with: 'SETNAME'"))
    assert not refused(ResponseError("BUSY Redis is busy running a script."))
    assert not refused(BusyLoadingError("Redis is loading the dataset in memory"))
    assert not refused(ConnectionError("refused by the network"))


def test_the_delay_between_attempts_stops_growing():
    from migrationsupport.redis_connections import MAX_RETRY_SECONDS, Retry

    retry = Retry()
    retry.failures = 5_000  # days of failures in a row
    retry.failed()
    assert 0 < retry.at - time.monotonic() <= MAX_RETRY_SECONDS
