"""One rule for what the public sees: outside the querysets (migrationsupport/models.py) no code
filters on the status field itself. Pages, API, search, exports and digests reach it through
``published()``, ``published_q(path)``, ``prefetch_published()`` and ``published_or_none()``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
APPS = ("migrationsupport", "regions", "funding", "agreements")
RULE_HOME = BASE_DIR / "migrationsupport" / "models.py"
SQL_STATUS = re.compile(r"\bstatus\s*=\s*'", re.IGNORECASE)


def _sources() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (BASE_DIR / app).rglob("*.py")
        if "migrations" not in path.parts and path != RULE_HOME
    )


def status_lookups(tree: ast.AST) -> list[int]:
    """Lines with a ``<relation>__status=`` lookup, or ``status=Status.<X>`` given to a
    ``filter``/``exclude``/``get``/``Q`` call (a write such as ``record.status = ...`` is not one)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            crossing = keyword.arg.endswith("__status")
            constant = (
                keyword.arg == "status"
                and name in ("filter", "exclude", "get", "Q")
                and isinstance(keyword.value, ast.Attribute)
                and getattr(keyword.value.value, "id", None) == "Status"
            )
            if crossing or constant:
                lines.append(node.lineno)
    for node in ast.walk(tree):  # hand-written SQL: "x.status = 'published'"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_STATUS.search(node.value):
            lines.append(node.lineno)
    return sorted(lines)


@pytest.mark.parametrize("path", _sources(), ids=lambda path: str(path.relative_to(BASE_DIR)))
def test_no_module_filters_on_status_outside_the_querysets(path):
    assert status_lookups(ast.parse(path.read_text())) == []


def test_the_check_sees_both_kinds_of_lookup():
    code = (
        "Country.objects.filter(country__status=Status.PUBLISHED)\n"
        "x.exclude(status=Status.DRAFT)\n"
        "record.status = Status.PUBLISHED\n"
        "services.set_status_of(queryset=q, status=Status.DRAFT, user=u)\n"
        "sql = \"WHERE up.status = 'published'\"\n"
    )
    assert status_lookups(ast.parse(code)) == [1, 2, 5]
