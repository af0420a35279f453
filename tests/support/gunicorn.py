"""Start the site under gunicorn on a free loopback port: the one launcher of the tests (fault,
cache and stale-page tests), ``make bench`` and ``make loadtest``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    """A running gunicorn master; ``url`` is its address, ``stop()`` ends it and its workers."""

    process: subprocess.Popen
    port: int
    url: str = field(init=False)

    def __post_init__(self):
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=timeout)

    def __enter__(self) -> AppServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_gunicorn(
    *,
    env: Mapping[str, str],
    workers: int = 1,
    args: Sequence[str] = (),
    timeout: float = 30,
) -> AppServer:
    """gunicorn serving ``migrationsupport.wsgi`` with ``env`` (the whole environment) once it
    accepts connections; ``RuntimeError`` with gunicorn's own message if it exits first."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "migrationsupport.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(
        [*command, *args],
        cwd=BASE_DIR,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = AppServer(process, port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            if process.poll() is not None:
                assert process.stderr is not None  # stderr=PIPE above
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("gunicorn did not start")
