"""App processes for the fault tests: gunicorn on loopback, and a TCP proxy in front of PostgreSQL
that a test can cut and restore (PostgreSQL going away and coming back, as the app sees it)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

# The officers (an Editor, a Publisher, logged in) of tests/admin, for the delete-and-recover test.
from tests.admin.conftest import (  # noqa: F401
    editor,
    editor_client,
    make_officer,
    publisher,
    publisher_client,
)
from tests.support.database import child_database_url
from tests.support.gunicorn import free_port, start_gunicorn

BASE_DIR = Path(__file__).resolve().parents[2]


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``stop()`` refuses new connections and cuts the
    open ones, ``start()`` serves again on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.sockets: list[socket.socket] = []
        self.running = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.server.settimeout(0.1)
        self.running.set()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()
        self.server.close()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.running.clear()
        if self.thread:
            self.thread.join(timeout=5)
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self.sockets = []


@pytest.fixture
def pg_proxy(transactional_db):
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def app_process():
    """``app_process(DATABASE_URL=..., ...)``: gunicorn on loopback (one worker unless ``workers``
    says otherwise) on the test database, stopped after the test. An override of ``None`` removes
    the variable."""
    servers = []

    def start(workers: int = 1, **env_overrides: str | None) -> str:
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": "test-only",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": child_database_url(),
            "REDIS_URL": "",
            "PAGE_CACHE_SECONDS": "0",
            "STATICFILES_MANIFEST": "0",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "CRITICAL",
            **env_overrides,
        }
        servers.append(start_gunicorn(env={k: v for k, v in env.items() if v is not None}, workers=workers))
        return servers[-1].url

    yield start
    for server in servers:
        server.stop(timeout=10)
