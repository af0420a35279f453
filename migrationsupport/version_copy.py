"""Each process's copy of the content version, dropped as soon as Redis says the version changed.

A cached page is stored under the content version (``migrationsupport/cache.py``), so every hit
asked Redis for it: one round trip, most of a hit's cost (docs/performance.md). A process now
keeps the version it read last, on a connection of its own that Redis tells of every change of
that key (server-assisted client-side caching in its broadcast mode, Redis 6 and later:
``CLIENT TRACKING ON REDIRECT <itself> BCAST PREFIX <key>``, then ``SUBSCRIBE
__redis__:invalidate``; https://redis.io/docs/latest/develop/reference/client-side-caching/).
A bump, a deletion, an eviction or a flush of the key sends that connection a message (a flush
of any database of the server does too: an extra read, never a stale one). Before trusting its
copy, a request looks, without waiting, whether a message has arrived (a non-blocking read,
~2.5 µs here, against ~100 µs for the round trip); if one has, the copy is dropped and the
version read again.

So a request sees every change Redis made before the request began, less the network's delay
(as when it read the version itself: that answer too is a moment old by the time the page goes
out). No thread: the connection is only read by the requests themselves, under a lock, and a
copy read while a message was being read or the version bumped is not kept (``generation``).
After a change, a copy is trusted for at most ``MAX_AGE`` seconds, so a connection that died
without its socket noticing (no message can reach it; TCP keepalive is on) costs at most that
much staleness per change. A closed connection is noticed at once; until a new one subscribes
(after ``redis_connections.RETRY_SECONDS``, doubling while it keeps failing) every request reads
the version, as with the copy turned off. A Redis that refuses tracking (some managed services
refuse ``CLIENT``) is not asked again by that process.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from redis import ConnectionPool
from redis.connection import AbstractConnection

from .redis_connections import Retry, own_connection

logger = logging.getLogger(__name__)

INVALIDATIONS = "__redis__:invalidate"
#: Seconds a copy is trusted without being read again.
MAX_AGE = 1.0


class VersionCopy:
    """This process's copy of one Redis key's integer value, and the connection that hears of
    its changes."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._connection: AbstractConnection | None = None
        self._watching: tuple[ConnectionPool, str] | None = None  # what the connection tracks
        self._copy: tuple[int, float] | None = None  # (version, when it was read)
        # Moves whenever the copy may have become stale: a message read, this process's bump, a
        # new connection. A version read under another generation is not kept.
        self._generation = 0
        self._retry = Retry()

    def get(self, pool: ConnectionPool, key: str) -> tuple[int | None, int]:
        """(the version, if this process holds a copy Redis has not changed since, else None;
        the generation to give ``keep`` with the version read instead)."""
        with self._lock:
            if self._watching != (pool, key):
                if self._retry.due():
                    self._watch(pool, key)
                return None, self._generation
            # Messages are read even without a copy: one left unread would drop the next.
            if not self._unchanged() or self._copy is None:
                return None, self._generation
            version, read_at = self._copy
            if time.monotonic() - read_at > MAX_AGE:
                self._copy = None
                return None, self._generation
            return version, self._generation

    def keep(self, pool: ConnectionPool, key: str, version: int, read_at: float, generation: int) -> None:
        """Keep ``version``, read from Redis at ``read_at`` after ``get`` gave ``generation``,
        unless anything since may have changed it (a later message is read by the next ``get``)."""
        with self._lock:
            if self._watching == (pool, key) and generation == self._generation:
                self._copy = (version, read_at)

    def forget(self) -> None:
        """Drop the copy, after this process changed the version: its next request must not
        wait for the message, nor keep a version another thread read before the change."""
        with self._lock:
            self._stale()

    def _stale(self) -> None:
        self._copy = None
        self._generation += 1

    def _unchanged(self) -> bool:
        """Whether no message has come (each one read off the connection)."""
        assert self._connection is not None  # watching
        try:
            if not self._connection.can_read(timeout=0):
                return True
            while self._connection.can_read(timeout=0):
                self._connection.read_response()  # an invalidation, or a flush
        except Exception:
            logger.warning("The content version's tracking connection failed", exc_info=True)
            self._close(failed=True)
        except BaseException:  # interrupted mid-message: the connection's state is unknown
            self._close(failed=True)
            raise
        self._stale()
        return False

    def _watch(self, pool: ConnectionPool, key: str) -> None:
        """A connection of its own (``own_connection``) that hears of every change of ``key``,
        subscribed before the version is next read."""
        self._close()
        connection: AbstractConnection | None = None
        try:
            connection = own_connection(pool, "content-version")
            connection.send_command("CLIENT", "ID")
            own_id = connection.read_response()
            connection.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", "PREFIX", key)
            connection.read_response()
            connection.send_command("SUBSCRIBE", INVALIDATIONS)
            connection.read_response()
        except Exception as error:
            if connection is not None:
                connection.disconnect()
            refused = self._retry.failed_with(error)  # not allowed here: not asked again
            logger.warning(
                "%s the content version: read on every request",
                "Redis refuses to track" if refused else "Could not track",
                exc_info=True,
            )
            return
        self._connection, self._watching = connection, (pool, key)
        self._retry.succeeded()

    def _close(self, *, failed: bool = False) -> None:
        if self._connection is not None:
            self._connection.disconnect()
        self._connection = self._watching = None
        self._stale()
        if failed:
            self._retry.failed()


version_copy = VersionCopy()
# A forked child (a gunicorn worker) starts with no connection or copy: the parent's socket is not
# its to read, and the parent's lock may have been held at the fork.
os.register_at_fork(after_in_child=version_copy._reset)
