"""Each process's copy of the content version, dropped as soon as Redis says the version changed.

A cached page is stored under the content version (``migrationsupport/cache.py``), so every hit
asked Redis for it: one round trip, most of a hit's cost (docs/performance.md). A process now
keeps the version it read last, on a connection of its own that Redis tells of every change of
that key (server-assisted client-side caching in its broadcast mode, Redis 6 and later:
``CLIENT TRACKING ON REDIRECT <itself> BCAST PREFIX <key>``, then ``SUBSCRIBE
__redis__:invalidate``; https://redis.io/docs/latest/develop/reference/client-side-caching/).
A bump, a deletion, an eviction or a flush of the key sends that connection a message. Before
trusting its copy, a request looks, without waiting, whether a message has arrived (a
non-blocking read, ~2.5 µs here, against ~100 µs for the round trip); if one has, the copy is
dropped and the version read again.

So a request sees every change Redis made before the request began, less the network's delay
(the same as when it read the version itself, whose answer could also be a moment old by the
time the page was served). No thread: the connection is only read by the requests themselves,
under a lock. A copy is trusted for at most ``MAX_AGE`` seconds, so a connection that died
without its socket noticing (no message can reach it) costs at most that much staleness. A
closed connection is noticed at once; until a new one subscribes (``RETRY_SECONDS`` later, or
never on a Redis that refuses tracking) every request reads the version, as before.
"""

from __future__ import annotations

import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

INVALIDATIONS = "__redis__:invalidate"
#: Seconds a copy is trusted without being read again.
MAX_AGE = 1.0
#: Seconds between attempts at a tracking connection after one failed (a Redis restarted or down,
#: or one that refuses ``CLIENT TRACKING``): meanwhile every request reads the version.
RETRY_SECONDS = 5.0


class VersionCopy:
    """This process's copy of one Redis key's integer value, and the connection that hears of
    its changes."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._connection = None
        self._client_id: int | None = None  # the connection's, as Redis's CLIENT LIST names it
        self._watching: tuple[object, str] | None = None  # (pool, key) the connection tracks
        self._copy: tuple[int, float] | None = None  # (version, when it was read)
        self._retry_at = 0.0

    def get(self, pool, key: str) -> int | None:
        """The version, if this process holds a copy Redis has not changed since; else None
        (read it, then ``keep`` it)."""
        with self._lock:
            if self._watching != (pool, key):
                if time.monotonic() >= self._retry_at:
                    self._watch(pool, key)
                return None
            # Messages are read even without a copy: one left unread would drop the next.
            if not self._unchanged() or self._copy is None:
                return None
            version, read_at = self._copy
            if time.monotonic() - read_at > MAX_AGE:
                self._copy = None
                return None
            return version

    def keep(self, pool, key: str, version: int, read_at: float) -> None:
        """Keep ``version``, read from Redis at ``read_at``, if Redis tells this process of its
        changes (a message that came since is seen by the next ``get``, which drops it)."""
        with self._lock:
            if self._watching == (pool, key) and self._connection is not None:
                self._copy = (version, read_at)

    def forget(self) -> None:
        """Drop the copy (this process changed the version: its next request must not wait for
        the message)."""
        with self._lock:
            self._copy = None

    def _unchanged(self) -> bool:
        """Whether no message has come (each one read off the connection); False, and the
        connection closed, when it failed."""
        if self._connection is None:
            return False
        try:
            if not self._connection.can_read(timeout=0):
                return True
            while self._connection.can_read(timeout=0):
                self._connection.read_response()  # an invalidation, or the key's owner's flush
        except Exception:
            logger.warning("The content version's tracking connection failed", exc_info=True)
            self._close(failed=True)
        self._copy = None
        return False

    def _watch(self, pool, key: str) -> None:
        """A connection that hears of every change of ``key`` (the cache's own address, TLS and
        password), subscribed before the version is next read."""
        self._close()
        connection = pool.make_connection()
        try:
            connection.send_command("CLIENT", "ID")
            own_id = int(connection.read_response())
            connection.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", "PREFIX", key)
            connection.read_response()
            connection.send_command("SUBSCRIBE", INVALIDATIONS)
            connection.read_response()
        except Exception:
            logger.warning("Could not track the content version: read on every request", exc_info=True)
            connection.disconnect()
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return
        self._connection, self._client_id, self._watching = connection, own_id, (pool, key)

    def _close(self, *, failed: bool = False) -> None:
        if self._connection is not None:
            self._connection.disconnect()
        self._connection = self._client_id = self._watching = self._copy = None
        if failed:
            self._retry_at = time.monotonic() + RETRY_SECONDS

    def _forked(self) -> None:
        """In a forked child (a gunicorn worker): no connection or copy of its own yet (the
        parent's socket is not the child's to read; its lock may have been held at the fork)."""
        self._reset()


version_copy = VersionCopy()
os.register_at_fork(after_in_child=version_copy._forked)
