"""Memory and time of the unfiltered explorer CSV (/funding/export.csv) served by one gunicorn
worker from a checkout, against the ms_big database (seed + generate_demo_data --funding 100000):

    .venv/bin/python -m tests.support.export_memory <checkout directory>

Prints rows, bytes, time to the first byte and to the last, and the worker's resident memory
before the download and at its peak (VmHWM).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.bench import first_group
from tests.support.gunicorn import free_port

DATABASE_URL = os.environ.get("EXPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ms_big")


def _worker_memory(master_pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of the master's first worker."""
    child = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()[0]
    status = Path(f"/proc/{child}/status").read_text()
    rss, peak = (int(first_group(rf"{name}:\s+(\d+)", status)) / 1024 for name in ("VmRSS", "VmHWM"))
    return rss, peak


def main() -> None:
    checkout = Path(sys.argv[1])
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DEBUG": "0",
        "SECRET_KEY": "export-memory-only",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "PAGE_CACHE_SECONDS": "0",
        "REDIS_URL": "",
        "EXPORT_ANON_RATE": "1000/second",
        "STATICFILES_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
    }
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
        command, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(4)
        base = f"http://127.0.0.1:{port}/funding/export.csv"
        urllib.request.urlopen(f"{base}?region=western-balkans", timeout=600).read()  # imports, connection
        before, _ = _worker_memory(server.pid)
        start = time.perf_counter()
        with urllib.request.urlopen(base, timeout=600) as response:
            body = response.read(1)
            first_byte = time.perf_counter() - start
            body += response.read()
        last_byte = time.perf_counter() - start
        _, peak = _worker_memory(server.pid)
    finally:
        server.terminate()
        server.wait()
    rows = body.count(b"\n") - 1
    print(
        f"{checkout}: rows {rows}, {len(body) / 1e6:.1f} MB, first byte {first_byte:.1f} s, "
        f"last byte {last_byte:.1f} s, worker RSS {before:.0f} MB, peak {peak:.0f} MB (+{peak - before:.0f})"
    )


if __name__ == "__main__":
    main()
