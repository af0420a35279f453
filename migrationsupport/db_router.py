"""Public reads from PostgreSQL streaming replicas; everything else from the primary.

With ``DATABASE_REPLICA_URLS`` set (settings), ``ReplicaRoutingMiddleware`` marks each request
that may read a replica: a GET, HEAD or OPTIONS outside ``/admin/``, with no session cookie (an
officer), no ``Authorization`` header (an API writer's token) and no *primary pin*. The pin is a
cookie set on the answer to any other request (a form post, an API write, a login), so whoever
just wrote reads the primary for ``REPLICA_PIN_SECONDS`` and sees their own write. Deciding from
the request alone costs no query: who the user is is only known after a session read.

``PrimaryReplicaRouter`` then sends that request's reads to one healthy replica (one for the
whole request, so a page never mixes two replicas' states), and every other read, every write,
every read inside a transaction and every migration to the primary. Apps whose tables hold
sessions, accounts, tokens and lockouts are always read from the primary.

A replica is healthy when it answers, is in recovery with a WAL receiver running, and its replay
is less than ``REPLICA_MAX_LAG_SECONDS`` behind (``replica_lag_seconds``). The verdict is kept for
``REPLICA_CHECK_SECONDS`` per process, so the check costs one query per replica every few
seconds, not one per request. A replica that fails in the middle of a request is marked down and
the request (always a safe method) runs again on the primary: the visitor gets a page, not a 500.

No replica configured: the middleware returns at once and no router is installed (settings).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

#: The API change feed: always read from the primary (``may_read_replica``).
CHANGE_FEED_PATH = "/api/v1/changes/"

#: Always read from the primary: a session, an account or a lockout just written must be seen.
PRIMARY_ONLY_APPS = frozenset({"sessions", "auth", "authtoken", "axes", "admin"})


@dataclass
class Routing:
    """What the current request may read from, and what it did."""

    replica_allowed: bool
    alias: str | None = None  # the replica this request reads, once chosen
    replica_failed: bool = False


_routing: ContextVar[Routing | None] = ContextVar("database_routing", default=None)


def current_routing() -> Routing | None:
    return _routing.get()


def request_read_replica() -> bool:
    """Whether the current request has read anything from a replica (``cache.py`` asks)."""
    routing = _routing.get()
    return routing is not None and routing.alias is not None


# --- replica health --------------------------------------------------------------------------

#: Seconds of replay lag, or NULL when it cannot be known. When everything received has been
#: replayed the replica is as fresh as the WAL it was sent: 0, however long the primary has been
#: idle (``now() - pg_last_xact_replay_timestamp()`` alone would grow while nothing happens). With
#: WAL waiting to be replayed, the lag is the age of the last transaction replayed: the replica
#: holds everything the primary committed up to then. A replica without a running WAL receiver
#: (cut off from the primary) may be behind by any amount while reporting nothing to replay: it
#: is not used. None of these needs a privilege (``pg_stat_wal_receiver`` hides its details, not
#: its row, from ordinary roles).
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() OR NOT EXISTS (SELECT FROM pg_stat_wal_receiver) THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())
END
"""


def replica_lag_seconds(alias: str) -> float | None:
    """The replay lag of replica ``alias`` (``LAG_SQL``); None when it is unusable."""
    with connections[alias].cursor() as cursor:
        cursor.execute(LAG_SQL)
        (lag,) = cursor.fetchone()
    return None if lag is None else float(lag)


class ReplicaHealth:
    """Each replica's last verdict in this process, kept ``REPLICA_CHECK_SECONDS``."""

    def __init__(self) -> None:
        self._verdicts: dict[str, tuple[float, bool]] = {}

    def healthy(self, alias: str) -> bool:
        now = time.monotonic()
        checked = self._verdicts.get(alias)
        if checked is not None and now - checked[0] < settings.REPLICA_CHECK_SECONDS:
            return checked[1]
        try:
            lag = replica_lag_seconds(alias)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("Replica %s unavailable, reading the primary: %s", alias, exc)
            self._close(alias)
            lag = None
        else:
            if lag is None or lag > settings.REPLICA_MAX_LAG_SECONDS:
                logger.warning("Replica %s lags (%s s), reading the primary", alias, lag)
        healthy = lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS
        self._verdicts[alias] = (now, healthy)
        return healthy

    def mark_down(self, alias: str) -> None:
        self._verdicts[alias] = (time.monotonic(), False)
        self._close(alias)

    def forget(self) -> None:
        self._verdicts.clear()

    @staticmethod
    def _close(alias: str) -> None:
        with contextlib.suppress(OperationalError, InterfaceError):
            connections[alias].close()


health = ReplicaHealth()


def _choose_replica(routing: Routing) -> str | None:
    if routing.alias is not None:
        return routing.alias
    candidates = list(settings.DATABASE_REPLICAS)
    random.shuffle(candidates)
    for alias in candidates:
        if health.healthy(alias):
            routing.alias = alias
            return alias
    routing.replica_allowed = False  # none is usable: the rest of the request reads the primary
    return None


class PrimaryReplicaRouter:
    """Installed by settings when ``DATABASE_REPLICA_URLS`` names at least one replica."""

    def db_for_read(self, model, **hints) -> str:
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db  # related rows come from where their owner came from
        routing = _routing.get()
        if (
            routing is None
            or not routing.replica_allowed
            or model._meta.app_label in PRIMARY_ONLY_APPS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block  # a transaction reads its own writes
        ):
            return DEFAULT_DB_ALIAS
        return _choose_replica(routing) or DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # every alias holds the same data

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS  # replicas receive the primary's schema through replication


# --- the request side -------------------------------------------------------------------------


def _pinned(request) -> bool:
    try:
        return float(request.COOKIES.get(settings.REPLICA_PIN_COOKIE, 0)) > time.time()
    except ValueError:
        return False


def may_read_replica(request) -> bool:
    return (
        request.method in SAFE_METHODS
        # An as_of snapshot (migrationsupport/asof.py) is built on, and read from, the primary:
        # a replica may not have replayed it yet.
        and "as_of" not in request.GET
        and not request.path.startswith("/admin/")
        # The change feed serves rows below the primary's oldest running writer
        # (changes.feed_horizon): read on a replica, a row committed but not replayed yet there
        # would be skipped for good by a client whose cursor moved past it.
        and not request.path.startswith(CHANGE_FEED_PATH)
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in request.META
        and not _pinned(request)
    )


def _streamed_in(routing: Routing, chunks: Iterator) -> Iterator:
    """A streamed answer (CSV) reads while it is sent, after the middleware has returned."""
    token = _routing.set(routing)
    try:
        yield from chunks
    finally:
        _routing.reset(token)


class ReplicaRoutingMiddleware:
    """Marks the requests that may read a replica, retries on the primary when one fails, and
    pins a client that wrote to the primary for ``REPLICA_PIN_SECONDS``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.DATABASE_REPLICAS:
            return self.get_response(request)
        routing = Routing(replica_allowed=may_read_replica(request))
        response = self._respond(request, routing)
        if routing.replica_failed:
            logger.warning(
                "Replica %s failed during %s; answering from the primary", routing.alias, request.path
            )
            response.close()
            response = self._respond(request, Routing(replica_allowed=False))
        if request.method not in SAFE_METHODS and settings.REPLICA_PIN_SECONDS:
            response.set_cookie(
                settings.REPLICA_PIN_COOKIE,
                str(int(time.time()) + settings.REPLICA_PIN_SECONDS),
                max_age=settings.REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def _respond(self, request, routing: Routing):
        token = _routing.set(routing)
        try:
            response = self.get_response(request)
        finally:
            _routing.reset(token)
        if response.streaming and routing.replica_allowed and not getattr(response, "is_async", False):
            response.streaming_content = _streamed_in(routing, response.streaming_content)
        return response

    def process_exception(self, request, exception):
        routing = _routing.get()
        if (
            routing is not None
            and routing.alias is not None
            and isinstance(exception, (OperationalError, InterfaceError))
            # The replica's own connection failed (Django flags a connection on such an error):
            # a timeout on the primary must not mark the replica down and run the request twice.
            and connections[routing.alias].errors_occurred
        ):
            health.mark_down(routing.alias)
            routing.replica_failed = True
        return None
