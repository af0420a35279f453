"""Memory and time of the unfiltered explorer CSV (/funding/export.csv) served by one gunicorn
worker from a checkout, against the ms_big database (seed + generate_demo_data --funding 100000):

    .venv/bin/python tests/support/export_memory.py <checkout directory>

Prints rows, bytes, time to the first byte and to the last, and the worker's resident memory
before the download and at its peak (VmHWM).
"""

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

tree = Path(sys.argv[1])
sys.path.insert(0, "/work/main")
from tests.support.gunicorn import free_port

port = free_port()
env = {
    **os.environ,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ms_big",
    "DEBUG": "0",
    "SECRET_KEY": "x",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "PAGE_CACHE_SECONDS": "0",
    "REDIS_URL": "",
    "EXPORT_ANON_RATE": "1000/second",
    "EXPENSIVE_ANON_RATE": "1000/second",
    "STATICFILES_MANIFEST": "0",
    "LOG_LEVEL": "WARNING",
}
p = subprocess.Popen(
    [
        "/work/main/.venv/bin/gunicorn",
        "migrationsupport.wsgi",
        "-w",
        "1",
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        "600",
    ],
    cwd=tree,
    env=env,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
time.sleep(4)


def worker():
    child = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()[0]
    st = Path(f"/proc/{child}/status").read_text()
    return (
        int(re.search(r"VmRSS:\s+(\d+)", st).group(1)) / 1024,
        int(re.search(r"VmHWM:\s+(\d+)", st).group(1)) / 1024,
    )


urllib.request.urlopen(
    f"http://127.0.0.1:{port}/funding/export.csv?region=western-balkans"
).read()  # warm imports
rss0, _ = worker()
t = time.perf_counter()
with urllib.request.urlopen(f"http://127.0.0.1:{port}/funding/export.csv", timeout=600) as r:
    first = r.read(1)
    ttfb = time.perf_counter() - t
    body = first + r.read()
total = time.perf_counter() - t
rows = body.count(b"\n") - 1
rss1, hwm = worker()
print(
    f"{tree}: rows {rows}, bytes {len(body) / 1e6:.1f} MB, first byte {ttfb:.1f} s, all {total:.1f} s, worker RSS before {rss0:.0f} MB, peak {hwm:.0f} MB (+{hwm - rss0:.0f})"
)
p.terminate()
p.wait()
