"""A process's own Redis connections beside the cache's pool: the one that hears of content
version changes (``version_copy``) and the one that counts cached API answers without waiting
(``rate_count``). Each is made from the cache's own address, TLS and password, in the RESP2
protocol, with short timeouts (a request never waits longer on it), TCP keepalive and a name for
``CLIENT LIST``; it is not one of the pool's, which counts the connections it hands out and
expects them back."""

from __future__ import annotations

import math
import os
import time

from redis import ConnectionPool
from redis.connection import AbstractConnection
from redis.exceptions import NoPermissionError, ResponseError

#: The connections' timeouts, in seconds.
SOCKET_SECONDS = 1.0
#: Seconds before another attempt at a connection after one failed (a Redis restarted or down),
#: doubled after each failure in a row up to ``MAX_RETRY_SECONDS``.
RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 300.0


def own_connection(pool: ConnectionPool, name: str) -> AbstractConnection:
    """A new connection to the server behind ``pool``, named ``<name>-<pid>`` (not connected yet:
    its first command connects it)."""
    options = {
        **pool.connection_kwargs,
        "protocol": 2,
        "socket_timeout": SOCKET_SECONDS,
        "socket_connect_timeout": SOCKET_SECONDS,
        "client_name": f"{name}-{os.getpid()}",
    }
    if "host" in options:  # TCP (a Unix socket has no keepalive)
        options["socket_keepalive"] = True
    return pool.connection_class(**options)


class Retry:
    """When to try a connection again: at once until a failure, then after ``RETRY_SECONDS``,
    doubled after each failure in a row; never again after ``refused``."""

    def __init__(self) -> None:
        self.failures = 0
        self.at = 0.0

    def due(self) -> bool:
        return time.monotonic() >= self.at

    def failed(self) -> None:
        self.at = time.monotonic() + min(RETRY_SECONDS * 2 ** min(self.failures, 16), MAX_RETRY_SECONDS)
        self.failures += 1

    def refused(self) -> None:
        self.at = math.inf

    def failed_with(self, error: Exception) -> bool:
        """``refused()`` if Redis refused for good (``refused``), else ``failed()``: which one."""
        if refused(error):
            self.refused()
            return True
        self.failed()
        return False

    def succeeded(self) -> None:
        self.failures = 0


def refused(error: Exception) -> bool:
    """Whether Redis refused a command for good (an ACL without it, a command a managed service
    disables), not for the moment (a Redis busy with a script, loading its data)."""
    if isinstance(error, NoPermissionError):
        return True
    return isinstance(error, ResponseError) and str(error).lower().startswith("unknown")
