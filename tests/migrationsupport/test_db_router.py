"""Public reads from a streaming replica, the rest from the primary (migrationsupport/db_router.py).

The tests marked ``replica`` read a real streaming replica: ``make test`` starts one with
tests/support/replica.sh and passes TEST_DATABASE_REPLICA_URL (tests/conftest.py makes it the
``replica1`` alias). Their writes must be committed to be streamed, hence ``transaction=True``,
and every check first waits until the replica has replayed what the primary wrote.
"""

from __future__ import annotations

import copy
import os
import time

import psycopg
import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from migrationsupport import db_router
from migrationsupport.models import Status, Theme
from tests.conftest import REPLICA_ALIAS
from tests.factories import ThemeFactory

HAS_REPLICA = bool(os.environ.get("TEST_DATABASE_REPLICA_URL"))
if not HAS_REPLICA and os.environ.get("REQUIRE_REPLICA") == "1":
    raise RuntimeError("REQUIRE_REPLICA=1 but TEST_DATABASE_REPLICA_URL is not set (see the Makefile).")
replica = pytest.mark.skipif(not HAS_REPLICA, reason="no streaming replica (TEST_DATABASE_REPLICA_URL)")
on_replica = pytest.mark.django_db(transaction=True, databases=["default", REPLICA_ALIAS])
# One lag test pauses the replica's replay, for every database on it: the replica tests stay in
# this module, which `make test TEST_WORKERS=2` (pytest-xdist, --dist loadfile) runs in one process.

CLOSED_ALIAS = "replica_closed"


@pytest.fixture(autouse=True)
def _fresh_verdicts():
    db_router.health.forget()
    yield
    db_router.health.forget()


@pytest.fixture
def routed(settings):
    """The router and the middleware on, with the real replica as the one replica."""
    settings.DATABASE_REPLICAS = [REPLICA_ALIAS]
    settings.DATABASE_ROUTERS = ["migrationsupport.db_router.PrimaryReplicaRouter"]
    settings.REPLICA_MAX_LAG_SECONDS = 5
    settings.REPLICA_CHECK_SECONDS = 60  # tests call health.forget() to check again
    return settings


def wait_for_replay(timeout: float = 10) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    with connections[REPLICA_ALIAS].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica did not replay up to {target} in {timeout} s")
            time.sleep(0.05)


def replica_admin_connection() -> psycopg.Connection:
    """A connection of its own to the replica, for pausing and resuming its replay."""
    params = connections[REPLICA_ALIAS].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def queries_on(alias: str):
    return CaptureQueriesContext(connections[alias])


# --- without a replica: the router's rules ---------------------------------------------------


def test_no_replica_configured_installs_no_router(settings):
    assert settings.DATABASE_REPLICAS == []
    assert not getattr(settings, "DATABASE_ROUTERS", [])


def test_migrations_run_on_the_primary_only():
    router = db_router.PrimaryReplicaRouter()
    assert router.allow_migrate("default", "funding")
    assert not router.allow_migrate("replica1", "funding")
    assert router.db_for_write(Theme) == "default"


@pytest.mark.parametrize(
    ("method", "path", "headers", "cookies", "allowed"),
    [
        ("GET", "/themes/", {}, {}, True),
        ("HEAD", "/api/v1/funding/", {}, {}, True),
        ("POST", "/api/v1/funding/", {}, {}, False),
        ("GET", "/admin/", {}, {}, False),
        ("GET", "/api/v1/changes/?since=abc", {}, {}, False),  # the feed: read where its horizon is
        ("GET", "/themes/", {"HTTP_AUTHORIZATION": "Token abc"}, {}, False),
        ("GET", "/themes/", {}, {"sessionid": "x"}, False),
        ("GET", "/themes/", {}, {"primary_until": "9999999999"}, False),
        ("GET", "/themes/", {}, {"primary_until": "1"}, True),  # a pin that has run out
        ("GET", "/themes/", {}, {"primary_until": "junk"}, True),
    ],
)
def test_which_requests_may_read_a_replica(rf, method, path, headers, cookies, allowed):
    request = rf.generic(method, path, **headers)
    request.COOKIES.update(cookies)
    assert db_router.may_read_replica(request) is allowed


@pytest.fixture(scope="module", autouse=True)
def _closed_alias(django_db_setup):
    """A replica alias whose server is gone (a port where nothing listens); module-wide, as a
    test's ``databases`` are checked before its own fixtures run."""
    alias = copy.deepcopy(connections["default"].settings_dict)
    alias.update(PORT="1", TEST={**alias["TEST"], "MIRROR": "default"})
    alias["OPTIONS"] = {**alias.get("OPTIONS", {}), "connect_timeout": 1}
    connections.settings[CLOSED_ALIAS] = alias
    yield
    connections[CLOSED_ALIAS].close()
    del connections.settings[CLOSED_ALIAS]


@pytest.fixture
def closed_replica(settings):
    settings.DATABASE_REPLICAS = [CLOSED_ALIAS]
    settings.DATABASE_ROUTERS = ["migrationsupport.db_router.PrimaryReplicaRouter"]
    return CLOSED_ALIAS


@pytest.mark.django_db(transaction=True, databases=["default", CLOSED_ALIAS])
def test_an_unreachable_replica_falls_back_to_the_primary(closed_replica):
    theme = ThemeFactory(name="Reachable theme")
    response = Client().get(theme.get_absolute_url())
    assert response.status_code == 200
    assert b"Reachable theme" in response.content
    assert not db_router.health.healthy(closed_replica)  # the verdict is kept: no new attempt


@pytest.mark.django_db(transaction=True, databases=["default", CLOSED_ALIAS])
def test_a_replica_failing_during_a_request_is_retried_on_the_primary(closed_replica, monkeypatch):
    """The verdict said healthy (checked moments ago); the replica then fails mid-request."""
    theme = ThemeFactory(name="Retried theme")
    monkeypatch.setattr(db_router.health, "healthy", lambda alias: True)
    for path in (theme.get_absolute_url(), "/api/v1/themes/"):
        response = Client(raise_request_exception=False).get(path)
        assert response.status_code == 200, path
        assert b"Retried theme" in response.content, path


# --- with the real streaming replica ---------------------------------------------------------


@replica
@on_replica
def test_public_pages_read_the_replica(routed):
    theme = ThemeFactory(name="Streamed theme")
    wait_for_replay()
    with queries_on(REPLICA_ALIAS) as on_replica_, queries_on("default") as on_primary:
        response = Client().get(theme.get_absolute_url())
    assert response.status_code == 200
    assert b"Streamed theme" in response.content
    assert any("migrationsupport_theme" in q["sql"] for q in on_replica_.captured_queries)
    assert not on_primary.captured_queries


@replica
@on_replica
def test_officers_always_read_the_primary(routed, admin_user):
    theme = ThemeFactory(name="Officer theme")
    wait_for_replay()
    client = Client()
    client.force_login(admin_user)
    for path in (theme.get_absolute_url(), f"/admin/migrationsupport/theme/{theme.pk}/change/"):
        with queries_on(REPLICA_ALIAS) as on_replica_:
            response = client.get(path)
        assert response.status_code == 200, path
        assert not on_replica_.captured_queries, path


@replica
@on_replica
def test_a_client_that_wrote_reads_the_primary_until_its_pin_runs_out(routed):
    routed.REPLICA_PIN_SECONDS = 2
    theme = ThemeFactory()
    wait_for_replay()
    client = Client()
    client.post("/search/")  # any unsafe request pins, whatever it answers
    assert "primary_until" in client.cookies
    with queries_on(REPLICA_ALIAS) as on_replica_:
        assert client.get(theme.get_absolute_url()).status_code == 200
    assert not on_replica_.captured_queries
    time.sleep(2.1)
    with queries_on(REPLICA_ALIAS) as on_replica_:
        assert client.get(theme.get_absolute_url()).status_code == 200
    assert on_replica_.captured_queries


@replica
@on_replica
def test_drafts_never_show_through_the_replica(routed, admin_user):
    theme = ThemeFactory(name="Soon withdrawn")
    path = theme.get_absolute_url()
    wait_for_replay()
    assert b"Soon withdrawn" in Client().get(path).content
    assert b"Soon withdrawn" in Client().get("/themes/").content

    Theme.objects.filter(pk=theme.pk).update(status=Status.DRAFT)
    wait_for_replay()
    with queries_on(REPLICA_ALIAS) as on_replica_:
        assert Client().get(path).status_code == 404
        assert b"Soon withdrawn" not in Client().get("/themes/").content
    assert on_replica_.captured_queries  # the replica answered, not the primary

    officer = Client()
    officer.force_login(admin_user)
    change = officer.get(f"/admin/migrationsupport/theme/{theme.pk}/change/")
    assert b"Soon withdrawn" in change.content


@replica
@on_replica
def test_a_lagging_replica_falls_back_to_the_primary(routed):
    routed.REPLICA_MAX_LAG_SECONDS = 1
    wait_for_replay()
    with replica_admin_connection() as admin:
        admin.execute("SELECT pg_wal_replay_pause()")
        try:
            theme = ThemeFactory(name="Written while the replica lags")
            time.sleep(1.5)  # now more than a second behind the primary
            lag = db_router.replica_lag_seconds(REPLICA_ALIAS)
            assert lag is not None and lag > 1
            with queries_on(REPLICA_ALIAS) as on_replica_:
                response = Client().get(theme.get_absolute_url())
            assert response.status_code == 200
            assert b"Written while the replica lags" in response.content
            # The health check's one query, and nothing of the page.
            assert [q["sql"] for q in on_replica_.captured_queries] == [db_router.LAG_SQL]
        finally:
            admin.execute("SELECT pg_wal_replay_resume()")
    # Caught up again, it is read again (other clients of this primary may keep it busy).
    deadline = time.monotonic() + 15
    while not db_router.health.healthy(REPLICA_ALIAS):
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.2)
        db_router.health.forget()


@replica
@on_replica
def test_pages_read_from_a_replica_catching_up_are_not_cached(routed):
    """Right after an edit, a replica may not have replayed it yet: a page it built must not be
    kept under the new content version, where it would stay for PAGE_CACHE_SECONDS."""
    routed.PAGE_CACHE_SECONDS = 600
    routed.REPLICA_MAX_LAG_SECONDS = 1
    routed.REPLICA_CHECK_SECONDS = 1
    cache.clear()
    try:
        theme = ThemeFactory(name="Cached later")  # an edit: the replicas are catching up
        wait_for_replay()
        client = Client()
        first = client.get(theme.get_absolute_url())
        assert first.status_code == 200
        assert "X-Cache" not in first  # served from the replica, not stored
        time.sleep(2.1)  # the catching-up window (lag + check) is over
        db_router.health.forget()
        assert client.get(theme.get_absolute_url())["X-Cache"] == "miss"  # stored now
        assert client.get(theme.get_absolute_url())["X-Cache"] == "hit"
    finally:
        cache.clear()
