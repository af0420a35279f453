import copy
import os
import threading
import time
import warnings

import dj_database_url
import pytest
from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from tests.factories import SourceFactory
from tests.support import browser

# Production settings redirect plain HTTP to HTTPS; the test client, the live server and the app
# processes tests start on loopback (gunicorn subprocesses inherit this environment) speak plain
# HTTP. Set before any test module builds a WSGI app (SecurityMiddleware reads it once).
os.environ["SECURE_SSL_REDIRECT"] = "0"
settings.SECURE_SSL_REDIRECT = False


def pytest_configure(config):
    """With REQUIRE_BROWSER=1 (``make test``) a missing browser stops the run here, in the main
    process: under pytest-xdist a worker stopped while collecting tests/browser is reported only
    as a crash ("INTERNALERROR ... crashitem"), without the reason."""
    if os.environ.get("REQUIRE_BROWSER") == "1" and (reason := browser.missing()) is not None:
        raise pytest.UsageError(f"Browser tests cannot run: {reason}")


@receiver(connection_created)
def _name_test_connection(sender, connection, **kwargs):
    """Each PostgreSQL session the tests open says who opened it (pg_stat_activity's
    application_name): alias, process, thread and the test running then. At the end
    ``_wait_for_other_sessions`` ends this process's and names any other left (one without a name
    was opened by another process: a gunicorn or PgBouncer the tests started). Sent through the
    driver, not a Django cursor, so no query-count assertion sees it."""
    if connection.vendor != "postgresql":
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rpartition("/")[2]
    name = f"{connection.alias} {os.getpid()} {threading.current_thread().name} {test}"
    connection.connection.execute("SELECT set_config('application_name', %s, false)", [name[:63]])


#: The alias of the streaming replica the replica tests read (tests/migrationsupport/test_db_router.py).
REPLICA_ALIAS = "replica1"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """With TEST_DATABASE_REPLICA_URL (``make test`` starts tests/support/replica.sh), the alias
    ``replica1`` reads the streaming replica's copy of the test database.

    The test database is created on the primary alone: the replica receives it by replication
    (CREATE DATABASE is in the WAL) and cannot create anything itself. So the alias is added only
    now, named like the primary's test database, and marked a test mirror of ``default``, which
    is what it is: Django then never creates, flushes or drops it. Its connection stays its own
    (a mirror made by Django's setup would reuse the primary's settings instead).
    """
    url = os.environ.get("TEST_DATABASE_REPLICA_URL")
    if url:
        primary = connections["default"].settings_dict
        replica = copy.deepcopy(primary)
        parsed = dj_database_url.parse(url)
        replica.update(HOST=parsed["HOST"], PORT=parsed["PORT"], CONN_MAX_AGE=0)
        replica["OPTIONS"] = {**replica.get("OPTIONS", {}), "connect_timeout": 2}
        replica["TEST"] = {**replica["TEST"], "MIRROR": "default"}
        connections.settings[REPLICA_ALIAS] = replica
    yield
    if url:
        connections[REPLICA_ALIAS].close()
        del connections.settings[REPLICA_ALIAS]
    with django_db_blocker.unblock():
        _wait_for_other_sessions()


def _wait_for_other_sessions(timeout: float = 3) -> None:
    """Django drops the test database next, which PostgreSQL refuses while another session is
    connected to it ("being accessed by other users": the database is left behind).

    This process's own sessions are ended first: once the browser tests have started Playwright,
    the tests that follow see other connection objects than this teardown does (Django keeps
    them per context), so the last test's connection is open but out of its reach. A process a
    test started (gunicorn, PgBouncer) may still be closing its connections: wait for them, and
    name in a warning any still there after ``timeout`` seconds."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND application_name LIKE %s",
            [f"% {os.getpid()} %"],  # named by _name_test_connection
        )
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, application_name, client_addr, backend_start, state, left(query, 200) "
                "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            )
            others = cursor.fetchall()
        if not others or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    connection.close()
    if others:
        warnings.warn(f"Sessions still connected to the test database: {others}", stacklevel=1)


@pytest.fixture(autouse=True)
def _static_files_without_manifest(settings):
    """Tests run with DEBUG off but without collectstatic: static names stay unhashed."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _empty_caches():
    """Each test starts with empty caches, as after a deploy: without Redis the caches are the
    process's own (LocMemCache), which outlive a test, and what one test left there (a moment an
    ``as_of`` day resolved to, a throttle's count) was read by the next test in the same worker."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    for cache in caches.all(initialized_only=True):
        if isinstance(cache, LocMemCache):  # never a Redis a test shares (its clear() is FLUSHDB)
            cache.clear()


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    """Most tests look at what a view builds; tests/migrationsupport/test_cache.py turns it on."""
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _no_page_throttles(settings):
    """The explorer, search and CSV throttles (migrationsupport/throttling.py) count every test's
    requests from one address in a cache that outlives the test: off, except in
    tests/reliability/test_throttling.py, which sets them. The API's own rate stays on."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "expensive": None, "export": None},
    }


@pytest.fixture(autouse=True)
def _generous_suggestion_timeout(monkeypatch):
    """A search suggestion gives up after ``SUGGESTION_TIMEOUT_MS`` (20 ms: 2-6 ms of SQL at
    +100 000 records), planning included: a busy CI machine or a new connection must not make a
    test's suggestion vanish. tests/perf/test_indexes.py sets it short to see it give up."""
    from migrationsupport import search

    monkeypatch.setattr(search, "SUGGESTION_TIMEOUT_MS", 10_000)


@pytest.fixture(autouse=True)
def _totals_plan_per_test(monkeypatch):
    """``FundingTotalSerializer``'s plan is kept per process: each test starts without it, so a
    test that changes a field or a setting it reads sees its own."""
    from funding.serializers import FundingTotalSerializer

    monkeypatch.setattr(FundingTotalSerializer, "_shared_plan", None)


@pytest.fixture(autouse=True)
def _api_plans_per_test(monkeypatch):
    """The public's API plans are kept per process (``migrationsupport.api.records.public_plan``):
    each test starts without them, as a new worker would, so a test that replaces a plan sees its
    own. Kept in the test's own dict, the process's stays as it was."""
    from migrationsupport.api import records

    monkeypatch.setattr(records, "_public_plans", {})


@pytest.fixture(autouse=True)
def _compiled_queries_per_test():
    """Queries kept compiled per process (``migrationsupport.compiled``): each test starts
    without them, as a new worker would."""
    from migrationsupport import compiled

    compiled.forget()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Accounts are created in many tests (officers, API tokens, admin_user): Django's default
    PBKDF2 costs about a second a password on a busy 2-core machine and buys nothing here. No
    test is about the hash itself; tests/admin/test_roles.py still checks the passwords set."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def source(db):
    return SourceFactory()
