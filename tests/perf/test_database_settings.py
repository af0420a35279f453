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
    assert _database_options("postgres://u@db:5432/ms")["options"] == "-c jit=off -c synchronize_seqscans=off"
    own = _database_options("postgres://u@db:5432/ms?options=-c%20statement_timeout%3D5000")
    assert own["options"] == "-c statement_timeout=5000"
    assert "options" not in _database_options("sqlite:///tmp.sqlite3")


def _settings(**env: str) -> dict:
    """DATABASES, DATABASE_REPLICAS, DATABASE_ROUTERS and DB_PREPARE_THRESHOLD as a fresh process
    builds them."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps([settings.DATABASES, settings.DATABASE_REPLICAS, "
        "getattr(settings, 'DATABASE_ROUTERS', []), settings.DB_PREPARE_THRESHOLD], default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={
            # This test's own environment's PgBouncer and preparation settings are not the case's.
            **{
                name: value
                for name, value in os.environ.items()
                if not name.startswith(("DB_PGB", "DB_PREP"))
            },
            "DATABASE_URL": "postgres://u@db:5432/ms",
            "DEBUG": "0",
            "SECRET_KEY": "test-only",
            "DJANGO_SETTINGS_MODULE": "migrationsupport.settings",
            **env,
        },
        capture_output=True,
        text=True,
    )
    if result.returncode:
        return {"error": result.stderr}
    databases, replicas, routers, prepare = json.loads(result.stdout.strip().splitlines()[-1])
    return {"databases": databases, "replicas": replicas, "routers": routers, "prepare_threshold": prepare}


def test_without_replicas_there_is_one_database_and_no_router():
    built = _settings(DATABASE_REPLICA_URLS="")
    assert list(built["databases"]) == ["default"]
    assert built["replicas"] == []
    assert built["routers"] == []


def test_each_replica_url_is_a_routed_alias_with_the_primary_options():
    built = _settings(DATABASE_REPLICA_URLS="postgres://u@r1:5432/ms, postgres://u@r2:5432/ms")
    assert built["replicas"] == ["replica1", "replica2"]
    assert built["databases"]["replica2"]["HOST"] == "r2"
    assert built["databases"]["replica1"]["OPTIONS"] == {
        "options": "-c jit=off -c synchronize_seqscans=off",
        "connect_timeout": 2,
    }
    assert built["routers"] == ["migrationsupport.db_router.PrimaryReplicaRouter"]


def test_behind_pgbouncer_no_server_side_cursors_and_no_startup_options():
    built = _settings(DB_PGBOUNCER="1", DATABASE_REPLICA_URLS="postgres://u@r1:6432/ms")
    for alias in ("default", "replica1"):
        assert built["databases"][alias]["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert "options" not in built["databases"][alias].get("OPTIONS", {})


def test_a_pin_shorter_than_the_lag_a_replica_may_have_is_refused():
    built = _settings(
        DATABASE_REPLICA_URLS="postgres://u@r1:5432/ms",
        REPLICA_MAX_LAG_SECONDS="10",
        REPLICA_CHECK_SECONDS="2",
        REPLICA_PIN_SECONDS="5",
    )
    assert "REPLICA_PIN_SECONDS must be at least" in built["error"]


@pytest.mark.parametrize(
    ("env", "threshold"),
    [
        ({}, 2),
        ({"DB_PGBOUNCER": "1"}, None),
        ({"DB_PREPARE_THRESHOLD": ""}, None),
        # PgBouncer 1.21 and later, with max_prepared_statements, keeps them.
        ({"DB_PGBOUNCER": "1", "DB_PREPARE_THRESHOLD": "5"}, 5),
    ],
)
def test_repeated_statements_are_prepared_except_behind_pgbouncer_unless_asked_for(env, threshold):
    # migrationsupport/prepared.py; tests/migrationsupport/test_prepared.py checks what it does.
    assert _settings(**env)["prepare_threshold"] == threshold


def test_a_threshold_below_one_is_refused():
    assert "DB_PREPARE_THRESHOLD must be 1 or more" in _settings(DB_PREPARE_THRESHOLD="0")["error"]
