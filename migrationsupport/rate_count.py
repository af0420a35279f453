"""Each process counts the anonymous API answers the page cache serves without waiting for Redis.

Every anonymous API answer, a cached one too, is counted against its client's rate by an atomic
increment in Redis (``api_defaults.count_in_window``; issue 16, point 8). Waiting for Redis's
reply was most of a cached answer's cost once the content version no longer needed a round trip
(``version_copy``): ~100 µs, a wake-up of the process as dear as the rest of the hit
(docs/performance.md). Here a process sends its increments on a connection of its own and goes
on; its later requests read the replies that have arrived, without waiting. Under load, the
increments of the ``HOLD_SECONDS`` after a send are held and go out together with the next one
(one command per counter, adding all of them): a send wakes Redis, which then works on the same
two cores as the app. An answer after a quiet moment is sent at once.

A request is judged by the count Redis last answered for its client's window (every process's
answers until then) plus this process's increments Redis has not answered yet, sent or held. So
it can only be judged low by the answers other processes gave that client since (those in
flight, and at most ``HOLD_SECONDS`` of each process's), and, once per window in each process
(and after each new connection), by all of them: the first request a process counts for that
client has no reply to go by yet. So a client may be served a few answers past its rate; every
answer is counted in Redis, those a process still holds when it goes quiet with its next request
or when it exits, but those a process holds or has sent when its connection fails are lost.

A connection that fails (closed by a restart or an idle timeout, a Redis error in a reply) is
dropped, and another tried after ``redis_connections.RETRY_SECONDS`` (doubling while it keeps
failing): meanwhile ``add`` answers None and the caller counts with a round trip, as before. No
thread: the connection is only used by requests, under a lock. A forked child starts afresh.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import Counter, deque

from redis import ConnectionPool
from redis.connection import AbstractConnection

from .redis_connections import Retry, own_connection

logger = logging.getLogger(__name__)

# Add ARGV[2] to a counter that lives one window (its expiry set by the command that creates
# it): the count. Sent whole each time (EVAL, not EVALSHA): a Redis that lost its scripts counts.
INCREMENT = b"""
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
#: Increments made within this many seconds of a send wait for the next one.
HOLD_SECONDS = 0.01
#: Counters whose last count is kept; past it, those with no increment held or awaiting a reply
#: are forgotten (a key names its window: an old window's is never asked for again).
MAX_KEYS = 10_000


class RateCount:
    """This process's increments of Redis counters, sent without waiting, and what it knows of
    their counts."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._connection: AbstractConnection | None = None
        self._pool: ConnectionPool | None = None
        self._held: dict[str, list[int]] = {}  # key: [increments not sent yet, its seconds]
        self._sent: deque[tuple[str, int]] = deque()  # (key, increments) awaiting a reply, in order
        self._unanswered: Counter[str] = Counter()
        self._answered: dict[str, int] = {}  # the count in Redis's latest reply, by key
        self._sent_at = -HOLD_SECONDS
        self._retry = Retry()

    def add(self, pool: ConnectionPool, key: str, seconds: int) -> int | None:
        """Add one to the counter ``key`` (living ``seconds``) of the Redis behind ``pool``,
        without waiting: the count as far as this process knows (see the module), or None when
        it cannot be counted this way (the caller counts it itself)."""
        with self._lock:
            if self._pool is not pool:
                self._close()
            if self._connection is None and not (self._retry.due() and self._open(pool)):
                return None
            now = time.monotonic()
            due = now - self._sent_at >= HOLD_SECONDS
            try:
                if self._sent or due:  # before sending: a connection Redis closed is noticed
                    self._read_replies()
                held = self._held.setdefault(key, [0, seconds])
                held[0] += 1
                if due:
                    self._send()
                    self._sent_at = now
            except Exception:
                # What was held stays held for the next connection. This answer is counted by the
                # caller; had it just been sent, rather counted twice than not at all.
                logger.warning("The API answers' counting connection failed", exc_info=True)
                self._close(failed=True)
                return None
            except BaseException:  # interrupted mid-command: the connection's state is unknown
                self._close()
                raise
            return self._answered.get(key, 0) + self._unanswered[key] + self._held.get(key, (0,))[0]

    def flush(self) -> None:
        """Send what is held (at exit), without waiting."""
        with self._lock:
            if self._held and self._connection is not None:
                try:
                    self._send()
                except Exception:
                    logger.warning("Could not send the last API answers' counts", exc_info=True)

    def settle(self) -> None:
        """Send what is held and wait for every reply (tests: the counts are then Redis's own)."""
        with self._lock:
            if self._held and self._connection is not None:
                self._send()
            while self._sent and self._connection is not None:
                self._read_reply()

    def _send(self) -> None:
        """Send what is held: in flight from then on (lost with the connection, if it fails)."""
        assert self._connection is not None
        pack = self._connection.pack_command
        commands = [pack("EVAL", INCREMENT, 1, key, seconds, n) for key, (n, seconds) in self._held.items()]
        for key, (n, _) in self._held.items():
            self._sent.append((key, n))
            self._unanswered[key] += n
        self._held.clear()
        # One write for them all (redis-py would write each part of each command in turn).
        buffer = b"".join(part for command in commands for part in command)
        self._connection.send_packed_command([buffer], check_health=False)

    def _read_replies(self) -> None:
        """Read the replies that have arrived, without waiting (data from a closed connection:
        ``ConnectionError``; a Redis error in a reply: ``ResponseError``)."""
        assert self._connection is not None
        while self._connection.can_read(timeout=0):
            self._read_reply()
        if len(self._answered) > MAX_KEYS:
            self._answered = {
                key: count
                for key, count in self._answered.items()
                if key in self._unanswered or key in self._held
            }

    def _read_reply(self) -> None:
        assert self._connection is not None
        count = self._connection.read_response()
        if not self._sent:  # nothing was asked
            raise ConnectionError(f"Unexpected data on the API answers' counting connection: {count!r}")
        key, n = self._sent.popleft()
        self._answered[key] = count
        self._unanswered[key] -= n
        if not self._unanswered[key]:
            del self._unanswered[key]
        self._retry.succeeded()

    def _open(self, pool: ConnectionPool) -> bool:
        connection = None
        try:
            connection = own_connection(pool, "api-count")
            connection.connect()
        except Exception:
            if connection is not None:
                connection.disconnect()
            logger.warning("Could not connect to count API answers without waiting", exc_info=True)
            self._retry.failed()
            return False
        self._connection, self._pool = connection, pool
        return True

    def _close(self, *, failed: bool = False) -> None:
        """Drop the connection and what it was told; keep what is held for the next one after a
        failure (the same Redis), not otherwise."""
        if self._connection is not None:
            self._connection.disconnect()
        if not failed:
            self._pool = None
            self._held.clear()
        self._connection = None
        self._sent.clear()
        self._unanswered.clear()
        self._answered.clear()
        self._sent_at = -HOLD_SECONDS
        if failed:
            self._retry.failed()


rate_count = RateCount()
# A forked child (a gunicorn worker) starts with no connection: the parent's socket is not its own,
# and the parent's lock may have been held at the fork. Its held increments go out when it exits.
os.register_at_fork(after_in_child=rate_count._reset)
atexit.register(rate_count.flush)
