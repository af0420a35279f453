"""Time and memory of the whole-table CSV exports of a checkout, against the ms_big database
(seed + generate_demo_data --funding 100000), which it only reads:

    .venv/bin/python -m tests.support.export_memory <checkout directory> [kind ...]

- ``explorer``: /funding/export.csv, ``api``: /api/v1/funding/?format=csv, ``agreements`` and
  ``documents``: their API CSVs, each served by one gunicorn worker of the checkout (no page
  cache, no rate limit);
- ``admin``: the officers' CSV export of every funding record (FundingRecordAdmin, the
  changelist unfiltered), run in a process of its own by an unsaved superuser (an admin login
  would write a session to the database).

Prints, for each, rows, bytes, time to the first byte and to the last, and the process's
resident memory before the download and at its peak (VmHWM, reset after a first download that
matches no record and so loads the code and opens the connection).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.bench import first_group
from tests.support.gunicorn import free_port

DATABASE_URL = os.environ.get("EXPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ms_big")
URLS = {
    "explorer": "/funding/export.csv",
    "api": "/api/v1/funding/?format=csv",
    "agreements": "/api/v1/agreements/?format=csv",
    "documents": "/api/v1/documents/?format=csv",
}
#: A first download that matches no record: it loads the code and opens the connection.
WARM_UP = {
    "explorer": "?year=1900",
    "api": "&year=1900",
    "agreements": "&date_after=2999-01-01",
    "documents": "&year=1900",
    "admin": "?q=no-such-record",
}


def _reset_peak(pid: int | str) -> None:
    """Start VmHWM again from the current RSS (Linux: ``clear_refs`` 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _memory(pid: int | str) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss, peak = (int(first_group(rf"{name}:\s+(\d+)", status)) / 1024 for name in ("VmRSS", "VmHWM"))
    return rss, peak


def _cpu(pid: int | str) -> float:
    """The process's CPU time so far (user + system), in seconds: on a shared machine, what the
    export itself costs, whatever the waits for the CPU."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DEBUG": "0",
        "SECRET_KEY": "export-memory-only",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "PAGE_CACHE_SECONDS": "0",
        "REDIS_URL": "",
        "EXPORT_ANON_RATE": "1000/second",
        "API_ANON_RATE": "1000/second",
        "STATICFILES_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
    }


def _served(checkout: Path, kind: str) -> dict:
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "migrationsupport.wsgi",
        "-w",
        "1",
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        "600",
    ]
    server = subprocess.Popen(
        command, cwd=checkout, env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(4)
        worker = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0]
        url = f"http://127.0.0.1:{port}{URLS[kind]}"
        urllib.request.urlopen(url + WARM_UP[kind], timeout=600).read()
        _reset_peak(worker)
        before, _ = _memory(worker)
        cpu = _cpu(worker)
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=600) as response:
            body = response.read(1)
            first_byte = time.perf_counter() - start
            body += response.read()
        last_byte = time.perf_counter() - start
        _, peak = _memory(worker)
        cpu = _cpu(worker) - cpu
    finally:
        server.terminate()
        server.wait()
    return _result(body.count(b"\n"), len(body), first_byte, last_byte, before, peak, cpu)


def _result(
    lines: int, size: int, first_byte: float, last_byte: float, before: float, peak: float, cpu: float
) -> dict:
    return {
        "cpu_s": round(cpu, 1),
        "rows": lines - 1,
        "MB": round(size / 1e6, 1),
        "first_byte_s": round(first_byte, 3),
        "last_byte_s": round(last_byte, 1),
        "rss_MB": round(before),
        "peak_MB": round(peak),
    }


def admin_export() -> None:
    """In the checkout's own process: the admin's CSV export of the funding records."""
    import django

    django.setup()
    from django.contrib.admin import site
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from import_export.formats.base_formats import CSV

    from funding.models import FundingRecord

    admin: Any = site._registry[FundingRecord]  # a PublishableImportExportMixin
    officer = get_user_model()(username="export-memory", is_staff=True, is_superuser=True, is_active=True)

    def request(query: str = ""):
        made = RequestFactory().get(f"/admin/funding/fundingrecord/export/{query}")
        made.user = officer
        return made

    def export(query: str = ""):
        made = request(query)
        return admin._do_file_export(CSV(), made, admin.get_export_queryset(made))

    warm = export(WARM_UP["admin"])
    b"".join(warm.streaming_content) if warm.streaming else warm.content
    _reset_peak("self")
    before, _ = _memory("self")
    cpu = time.process_time()
    start = time.perf_counter()
    response = export()
    chunks = iter(response.streaming_content) if response.streaming else iter([response.content])
    first = next(chunks)
    first_byte = time.perf_counter() - start
    lines, size = first.count(b"\n"), len(first)
    for chunk in chunks:  # counted, not kept: the process holds what the export holds
        lines, size = lines + chunk.count(b"\n"), size + len(chunk)
    last_byte = time.perf_counter() - start
    _, peak = _memory("self")
    print(json.dumps(_result(lines, size, first_byte, last_byte, before, peak, time.process_time() - cpu)))


def _in_process(checkout: Path) -> dict:
    env = {
        **_environment(),
        "PYTHONPATH": str(checkout),
        "DJANGO_SETTINGS_MODULE": "migrationsupport.settings",
    }
    command = [sys.executable, str(Path(__file__).resolve()), "--admin-worker"]
    output = subprocess.run(
        command, cwd=checkout, env=env, capture_output=True, text=True, check=True, timeout=1800
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:] == ["--admin-worker"]:
        admin_export()
        return
    checkout = Path(sys.argv[1]).resolve()
    for kind in sys.argv[2:] or ["explorer", "api", "admin"]:
        result = _in_process(checkout) if kind == "admin" else _served(checkout, kind)
        growth = result["peak_MB"] - result["rss_MB"]
        print(
            f"{checkout} {kind}: rows {result['rows']}, {result['MB']} MB, "
            f"first byte {result['first_byte_s'] * 1000:.0f} ms, last byte {result['last_byte_s']} s "
            f"(CPU {result['cpu_s']} s), "
            f"RSS {result['rss_MB']} MB, peak {result['peak_MB']} MB (+{growth})",
            flush=True,
        )


if __name__ == "__main__":
    main()
