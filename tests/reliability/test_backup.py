"""Nothing lost: backup → restore into a new empty database gives the same API answers and the
same history; a Publisher's delete of a published record is recoverable from history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from funding.models import FundingRecord
from tests.admin.conftest import admin_url
from tests.factories import FundingRecordFactory

BASE_DIR = Path(__file__).resolve().parents[2]
URLS = [
    "/api/v1/funding/?format=json&page_size=100",
    "/api/v1/funding/?format=csv",
    "/api/v1/agreements/?page_size=100",
    "/api/v1/countries/?page_size=100",
    "/api/v1/regions/?page_size=100",
    "/api/v1/documents/?page_size=100",
    "/api/v1/sources/?page_size=100",
]

# Run in this process (before) and in a child process on the restored database (after).
SNAPSHOT = """
import json
from django.apps import apps
from django.test import Client

def snapshot(urls):
    client = Client(SERVER_NAME="127.0.0.1")
    answers = {url: client.get(url).getvalue().decode() for url in urls}
    history = {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model.__name__.startswith("Historical")
    }
    return {"answers": answers, "history": history}
"""


def snapshot(urls):
    namespace: dict = {}
    exec(SNAPSHOT, namespace)  # the same code both sides
    return namespace["snapshot"](urls)


@pytest.fixture
def restored_database(transactional_db):
    db = connection.settings_dict
    name = f"{db['NAME']}_restored"
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{db['USER']}@{params['host']}:{params['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_and_restore_round_trip_the_seed_and_its_history(restored_database, tmp_path, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    call_command("loaddata", *sorted(str(p) for p in (BASE_DIR / "fixtures").glob("*.json")), verbosity=0)
    record = FundingRecord.objects.published().order_by("pk").first()
    record.title = f"{record.title} (edited after the seed)"
    record.save()  # history now holds more than the seed's baseline
    before = snapshot(URLS)
    assert before["history"]["funding.HistoricalFundingRecord"] > FundingRecord.objects.count()
    assert "(edited after the seed)" in before["answers"][URLS[0]]

    dump = tmp_path / "seed.dump"
    call_command("backup", output=str(dump), verbosity=0)
    env = {
        **os.environ,
        "DATABASE_URL": restored_database,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",
    }
    subprocess.run([sys.executable, "manage.py", "restore", str(dump)], cwd=BASE_DIR, env=env, check=True)
    code = SNAPSHOT + f"\nprint(json.dumps(snapshot({URLS!r})))\n"
    child = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "migrationsupport.settings", "PAGE_CACHE_SECONDS": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    after = json.loads(child.stdout.strip().splitlines()[-1])
    assert after["history"] == before["history"]
    for url in URLS:
        assert after["answers"][url] == before["answers"][url], url


@pytest.mark.django_db
def test_only_a_publisher_deletes_a_published_record_and_history_brings_it_back(
    editor_client, publisher_client
):
    record = FundingRecordFactory(title="Support to border management", status="published")
    pk = record.pk
    assert editor_client.post(admin_url(record, "delete", pk), {"post": "yes"}).status_code == 403
    assert FundingRecord.objects.filter(pk=pk).exists()

    response = publisher_client.post(admin_url(record, "delete", pk), {"post": "yes"})
    assert response.status_code == 302
    assert not FundingRecord.objects.filter(pk=pk).exists()

    deletion = FundingRecord.history.filter(id=pk).latest("history_date")
    assert deletion.history_type == "-"
    deletion.instance.save()
    restored = FundingRecord.objects.get(pk=pk)
    assert restored.title == "Support to border management"
    assert restored.status == "published"
    assert Client().get(restored.get_absolute_url()).status_code == 200
