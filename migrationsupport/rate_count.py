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
flight, and at most ``HOLD_SECONDS`` of each process's), and by all of them the first time a
process counts that client in a window (or after a new connection, or once the client's count
was let go among the ``MAX_KEYS`` it keeps): there is no reply to go by yet. So a client may be
served a few answers past its rate. Every answer is counted in Redis, those a process holds when
it goes quiet with its next request or when it exits, except those on their way when the
connection fails (sent, or being sent: lost, but for the request that found the failure, which
its caller counts, possibly twice), and those still held by a process that exits while it cannot
reach Redis or is switched to another one.

A connection that fails is dropped (what is held stays for the next one): one Redis closed while
nothing was on its way (a restart, an idle timeout) is replaced by the next request; otherwise (a
Redis error in a reply, a write that fails, no reply within ``SOCKET_SECONDS`` of a send, a
connection that cannot be made) another is tried after ``redis_connections.RETRY_SECONDS``
(doubling while it keeps failing), and a Redis that refuses the connection's ``CLIENT SETNAME``
for good (an ACL, some managed services disable ``CLIENT``) is not asked again. Meanwhile
``add`` answers None and the caller counts with a round trip, as before. No thread: the
connection is only used by requests, under a lock. A forked child starts afresh.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
from collections import Counter, deque

from redis import ConnectionPool
from redis.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from .redis_connections import SOCKET_SECONDS, Retry, own_connection

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
#: Counters whose last count is kept; past it, the older half of those with nothing held or on
#: its way is let go (a key names its window: most are past windows', never asked for again).
MAX_KEYS = 10_000


class ConnectionLost(Exception):
    """Redis closed the counting connection while nothing was on its way."""


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
        # (key, increments, when sent) awaiting a reply, in order.
        self._sent: deque[tuple[str, int, float]] = deque()
        self._unanswered: Counter[str] = Counter()
        self._answered: dict[str, int] = {}  # the count in Redis's latest reply, by key, oldest first
        self._sent_at = -math.inf
        self._retry = Retry()

    def add(self, pool: ConnectionPool, key: str, seconds: int) -> int | None:
        """Add one to the counter ``key`` (living ``seconds``) of the Redis behind ``pool``,
        without waiting: the count as far as this process knows (see the module), or None when
        it cannot be counted this way (the caller counts it itself)."""
        with self._lock:
            if self._pool is not pool:
                self._close(keep_held=False)
            if self._connection is None and not (self._retry.due() and self._open(pool)):
                return None
            now = time.monotonic()
            due = now - self._sent_at >= HOLD_SECONDS
            try:
                if self._sent or due:  # before sending: a connection Redis closed is noticed
                    self._read_replies(now)
            except ConnectionLost:  # nothing lost: a new connection at once, this one counted by it
                if not self._replace(pool):
                    return None
            except Exception:
                self._failed()
                return None
            except BaseException:  # interrupted mid-reply: the connection's state is unknown
                self._close(keep_held=True)
                raise
            held = self._held.setdefault(key, [0, seconds])
            held[0] += 1
            if due:
                try:
                    self._send()
                except Exception:
                    # This one was on its way: lost, and counted by the caller (rather than not).
                    self._failed()
                    return None
                except BaseException:
                    self._close(keep_held=True)
                    raise
                self._sent_at = now
            return self._answered.get(key, 0) + self._unanswered[key] + self._held.get(key, (0,))[0]

    def flush(self) -> None:
        """Send what is held and read the replies, for at most ``SOCKET_SECONDS`` (at exit)."""
        with self._lock:
            pool = self._pool
            if pool is None or (self._connection is None and not (self._held and self._open(pool))):
                return
            try:
                try:
                    self._read_replies(time.monotonic())
                except ConnectionLost:
                    if not self._replace(pool):
                        return
                if self._held:
                    self._send()
                deadline = time.monotonic() + SOCKET_SECONDS
                while (
                    self._sent
                    and self._connection is not None
                    and self._connection.can_read(timeout=max(0.0, deadline - time.monotonic()))
                ):
                    self._read_reply()
            except Exception:
                logger.warning("Could not send the last API answers' counts", exc_info=True)
            self._close(keep_held=False)

    def settle(self) -> None:
        """Send what is held and wait for every reply (tests: the counts are then Redis's own)."""
        with self._lock:
            if self._held and self._connection is not None:
                self._send()
            while self._sent and self._connection is not None:
                self._read_reply()

    def _failed(self) -> None:
        logger.warning("The API answers' counting connection failed", exc_info=True)
        self._close(keep_held=True)
        self._retry.failed()

    def _send(self) -> None:
        """Send what is held: on its way from then on."""
        assert self._connection is not None
        pack = self._connection.pack_command
        commands = [pack("EVAL", INCREMENT, 1, key, seconds, n) for key, (n, seconds) in self._held.items()]
        sent_at = time.monotonic()
        for key, (n, _) in self._held.items():
            self._sent.append((key, n, sent_at))
            self._unanswered[key] += n
        self._held.clear()
        # One write for them all (redis-py would write each part of each command in turn).
        buffer = b"".join(part for command in commands for part in command)
        self._connection.send_packed_command([buffer], check_health=False)

    def _read_replies(self, now: float) -> None:
        """Read the replies that have arrived, without waiting. ``ConnectionLost`` when Redis
        closed the connection with nothing on its way; other errors otherwise (a reply overdue,
        a Redis error in one, a connection closed with increments on their way)."""
        assert self._connection is not None
        try:
            while self._connection.can_read(timeout=0):
                if not self._sent:
                    raise RuntimeError("Unexpected data on the API answers' counting connection")
                self._read_reply()
        except RedisConnectionError as error:  # closed (redis-py reads the end of the stream)
            if not self._sent:
                raise ConnectionLost from error
            raise
        if self._sent and now - self._sent[0][2] > SOCKET_SECONDS:
            raise TimeoutError("No reply from Redis to the API answers' counts")
        if len(self._answered) > MAX_KEYS:
            keys = list(self._answered)
            for key in keys[: len(keys) // 2]:
                if key not in self._unanswered and key not in self._held:
                    del self._answered[key]

    def _read_reply(self) -> None:
        assert self._connection is not None
        count = self._connection.read_response()
        key, n, _ = self._sent.popleft()
        self._answered.pop(key, None)  # the latest last: the older half is let go first
        self._answered[key] = count
        self._unanswered[key] -= n
        if not self._unanswered[key]:
            del self._unanswered[key]
        self._retry.succeeded()

    def _replace(self, pool: ConnectionPool) -> bool:
        """A new connection for one Redis closed with nothing on its way, keeping what is held
        and known; without one, what was known is dropped (a Redis restarted without its data
        may count less)."""
        self._close(keep_held=True, keep_known=True)
        if self._open(pool):
            return True
        self._answered.clear()
        return False

    def _open(self, pool: ConnectionPool) -> bool:
        connection = None
        try:
            connection = own_connection(pool, "api-count")
            connection.connect()
        except Exception as error:
            if connection is not None:
                connection.disconnect()
            refused = self._retry.failed_with(error)  # CLIENT SETNAME not allowed: not asked again
            logger.warning(
                "%s to count API answers without waiting: counted with a round trip",
                "Redis refuses a connection" if refused else "Could not connect",
                exc_info=True,
            )
            return False
        self._connection, self._pool = connection, pool
        return True

    def _close(self, *, keep_held: bool, keep_known: bool = False) -> None:
        """Drop the connection and what is on its way; what is held too, unless ``keep_held``
        (for the next connection to the same Redis), and the counts Redis answered unless
        ``keep_known`` (nothing was on its way: they are still all this process knows)."""
        if self._connection is not None:
            self._connection.disconnect()
        self._connection = None
        if not keep_held:
            self._pool = None
            self._held.clear()
        if not keep_known:
            self._answered.clear()
        self._sent.clear()
        self._unanswered.clear()
        self._sent_at = -math.inf


rate_count = RateCount()
# A forked child (a gunicorn worker) starts with no connection: the parent's socket is not its own,
# and the parent's lock may have been held at the fork. What a process holds goes out at its exit.
os.register_at_fork(after_in_child=rate_count._reset)
atexit.register(rate_count.flush)
