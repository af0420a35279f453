"""The layers only point down (``migrationsupport/site/__init__.py`` draws them).

Every import in the project's own modules is read with ``ast``, function-local and
``TYPE_CHECKING`` ones included, and relative imports are resolved to the module they name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("migrationsupport", "regions", "funding", "agreements")

#: What each layer may import from the project (anything else it imports is a library).
ALLOWED = {
    "core": {"core"},
    "regions": {"core", "regions"},
    "funding": {"core", "regions", "funding"},
    "agreements": {"core", "regions", "agreements"},
    "site": {"core", "regions", "funding", "agreements", "site"},
    "root": {"core", "regions", "funding", "agreements", "site", "root"},
}


def layer(module: str) -> str | None:
    """The layer a dotted module name belongs to, or None for a library."""
    top = module.split(".")[0]
    if top not in PACKAGES:
        return None
    if top != "migrationsupport":
        return top
    if module == "migrationsupport.site" or module.startswith("migrationsupport.site."):
        return "site"
    if module == "migrationsupport.urls":
        return "root"
    return "core"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, as absolute dotted names."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from . import site`` or ``from migrationsupport import site`` names a module too.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    own = layer(module)
    assert own is not None, f"{module} is not in one of our packages"
    return sorted(
        f"{module} ({own}) imports {target} ({layer(target)})"
        for target in imported_modules(source, module, is_package=is_package)
        if layer(target) is not None and layer(target) not in ALLOWED[own]
    )


def project_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                yield path


def test_every_import_points_down_the_layers():
    found = []
    for path in project_modules():
        found += violations(path.read_text(), module_name(path), is_package=path.name == "__init__.py")
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("migrationsupport.views", "from regions.models import Country"),
        ("migrationsupport.filters", "def f():\n    from funding import models"),
        ("migrationsupport.api.viewsets", "from ..site import views"),
        ("migrationsupport.admin", "from migrationsupport import site"),
        ("regions.views", "import funding.listings"),
        ("regions.views", "from agreements.selectors import documents_latest_first"),
        ("funding.views", "from agreements.models import Agreement"),
        ("agreements.views", "from migrationsupport.site.digests import first_of"),
        ("agreements.api", "from migrationsupport.urls import SITEMAPS"),
    ],
)
def test_an_import_up_the_layers_is_found(module, source):
    assert violations(source, module, is_package=module == "migrationsupport.admin")


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("migrationsupport.views", "from .models import Theme\nfrom django.db import models"),
        ("funding.filters", "from regions.filters import RegionTreeFilter"),
        ("migrationsupport.site.views", "from funding.listings import funding_largest_first"),
        ("migrationsupport.urls", "from .site import views"),
    ],
)
def test_an_import_down_the_layers_is_allowed(module, source):
    assert violations(source, module) == []
