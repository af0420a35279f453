"""What the real-browser tests (tests/browser) need on the machine: the playwright package,
Debian's Chromium and axe-core from npm (``make browser-deps`` installs the last two)."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make browser-deps installs Debian's chromium)"
    if not AXE.exists():
        return f"{AXE} is missing (make browser-deps runs npm ci)"
    return None
