"""One rule for what the public sees: outside the querysets (migrationsupport/models.py) no code
filters on the status field itself, and no public template checks publication. Pages, API,
search, exports and digests reach it through ``for_public()`` (records with their relations,
drafts among those hidden), ``published()``, ``published_q(path)``, ``prefetch_published()`` and
``published_or_none()``."""

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


# Public templates show what ``for_public()`` gives them: a draft relation is already None there.
PUBLIC_TEMPLATE_CHECK = re.compile(r"is_published|\|\s*public\b|\|\s*published\b")


def _public_templates() -> list[Path]:
    return sorted(
        path
        for path in (BASE_DIR / "templates").rglob("*.html")
        if "admin" not in path.relative_to(BASE_DIR / "templates").parts
    )


@pytest.mark.parametrize("path", _public_templates(), ids=lambda path: str(path.relative_to(BASE_DIR)))
def test_no_public_template_checks_publication_itself(path):
    assert not PUBLIC_TEMPLATE_CHECK.findall(path.read_text())


def test_the_template_check_sees_each_form():
    template = "{% if s.is_published %}{{ a.region|public }}{{ r.regions.all|published }}"
    found = PUBLIC_TEMPLATE_CHECK.findall(template)
    assert len(found) == 3
