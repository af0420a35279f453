"""PgBouncer in transaction mode in front of PostgreSQL (docs/deployment.md, "PgBouncer in
transaction mode"): with DB_PGBOUNCER=1 the pages, the streamed CSVs, the API and an officer's
save work through it. A PgBouncer of the test's own, on a free port, in front of the test
database; ``make test`` installs Debian's pgbouncer and sets REQUIRE_PGBOUNCER=1, so there a
missing pgbouncer fails the run; elsewhere the test is skipped."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from funding import rollup
from funding.models import FundingRecord
from migrationsupport.chunks import CSV_CHUNK
from tests.factories import FundingRecordFactory, RegionFactory, SourceFactory
from tests.support.database import child_database_url

BASE_DIR = Path(__file__).resolve().parents[2]
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
RECORDS = CSV_CHUNK + 1  # more than one chunk of the streamed CSVs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def pgbouncer():
    if not os.path.exists(PGBOUNCER):
        if os.environ.get("REQUIRE_PGBOUNCER") == "1":
            pytest.fail("pgbouncer is not installed (make test installs Debian's pgbouncer)")
        pytest.skip("pgbouncer is not installed")
    db = connection.settings_dict
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    workdir.chmod(0o777)  # PgBouncer refuses to run as root: as root it runs as postgres
    config = workdir / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={db['HOST']} port={db['PORT']}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {workdir / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = 50\n"
        f"logfile = {workdir / 'pgbouncer.log'}\n"
    )
    (workdir / "users.txt").write_text(f'"{db["USER"]}" ""\n')
    for path in workdir.iterdir():
        path.chmod(0o666)
    command = [PGBOUNCER, str(config)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                pytest.fail(f"pgbouncer stopped: {process.stdout.read().decode() if process.stdout else ''}")
            time.sleep(0.05)
        yield child_database_url(host="127.0.0.1", port=port), workdir / "pgbouncer.log"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_pages_streamed_csvs_the_api_and_a_save_work_through_pgbouncer_in_transaction_mode(pgbouncer):
    url, log = pgbouncer
    with transaction.atomic():
        region, source = RegionFactory(slug="through-pgbouncer"), SourceFactory()
        records = FundingRecord.objects.bulk_create(
            FundingRecordFactory.build(source=source, slug=f"through-pgbouncer-{number}")
            for number in range(RECORDS)
        )
        FundingRecord.regions.through.objects.bulk_create(
            FundingRecord.regions.through(fundingrecord=record, region=region) for record in records
        )
    # bulk_create sends no signal, but the region's save did: its commit ran a rebuild (or this does).
    rollup.rebuild()
    assert rollup.stored_rows(None) is not None
    addresses = [
        "/",
        "/funding/",
        f"/funding/?region={region.slug}",
        "/funding/export.csv",
        "/api/v1/funding/",
        "/api/v1/funding/?format=csv",
        "/api/v1/funding/totals/?group_by=region",
        f"/regions/{region.slug}/",
    ]
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DB_PGBOUNCER": "1",
        "DATABASE_REPLICA_URLS": "",
        "DEBUG": "0",
        "SECRET_KEY": "test-only",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATICFILES_MANIFEST": "0",
        "PAGE_CACHE_SECONDS": "0",
        "TASK_QUEUE": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.through_pgbouncer", *addresses],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert not report["server_side_cursors"]
    assert {address: answer["status"] for address, answer in report["answers"].items()} == dict.fromkeys(
        addresses, 200
    )
    # Every record in each CSV (one header line), past the first chunk: none lost between chunks.
    assert report["answers"]["/funding/export.csv"]["lines"] == RECORDS + 1
    assert report["answers"]["/api/v1/funding/?format=csv"]["lines"] == RECORDS + 1
    assert report["totals_current_after_save"]
    # It went through PgBouncer: the test's own instance logged the client's logins.
    assert "login attempt" in log.read_text()
