"""What a worker process does once, at start-up (migrationsupport/wsgi.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_a_worker_keeps_what_lives_as_long_as_it_out_of_the_full_garbage_collections():
    """The modules, models and URL configuration a worker loads at start-up (~150 000 objects)
    are frozen (``gc.freeze``): a full collection walked them all, a pause of ~110 ms at
    +100 000 records (docs/performance.md); the URL modules are imported before, not on the
    first request."""
    code = (
        "import gc, sys, migrationsupport.wsgi;"
        "print(gc.get_freeze_count(), 'migrationsupport.urls' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "migrationsupport.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True
    )
    frozen, urls_loaded = done.stdout.split()
    assert int(frozen) > 50_000
    assert urls_loaded == "True"
