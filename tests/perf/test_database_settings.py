"""Database session settings that keep web requests fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit():
    # JIT spent 0.4 s compiling a funding total over 100 000 records that ran in 0.2 s.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def _database_options(database_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "0", "SECRET_KEY": "test-only"}
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "migrationsupport.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_database_url_with_its_own_options_keeps_them():
    assert _database_options("postgres://u@db:5432/ms")["options"] == "-c jit=off"
    own = _database_options("postgres://u@db:5432/ms?options=-c%20statement_timeout%3D5000")
    assert own["options"] == "-c statement_timeout=5000"
    assert "options" not in _database_options("sqlite:///tmp.sqlite3")
