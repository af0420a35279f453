"""What each app contributes to the site as a whole, registered from its ``AppConfig.ready()``.

The core never names a domain app: search, the sitemap, the API router and the page footnotes
read what the apps put here, in the order ``INSTALLED_APPS`` gives (search groups are sorted by
``RecordType.position``), as NetBox keeps its search indexes and menus. URL names are the other
contract: the site layer provides the ones the models' ``get_absolute_url`` reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.sitemaps import Sitemap
    from django.db.models import Model, QuerySet

    from .search import NameMatch, RecordType


@dataclass(frozen=True)
class ApiRoute:
    """One endpoint of the API router: ``/api/v1/<prefix>/``, url names ``api:<basename>-list``."""

    prefix: str
    viewset: Any
    basename: str


@dataclass
class Registry:
    #: Record types the site search looks in; results are grouped in ``RecordType.position`` order.
    search: list[RecordType[Any]] = field(default_factory=list)
    #: Callables naming what a search query refers to by another name (a country by its common or
    #: official name or ISO code): the search also looks for the names they return.
    search_names: list[Callable[[str], list[NameMatch]]] = field(default_factory=list)
    #: sitemap.xml sections by name (``sitemap-<name>.xml``).
    sitemaps: dict[str, type[Sitemap]] = field(default_factory=dict)
    #: URL names of list pages, listed in the "pages" section of the sitemap.
    list_pages: list[str] = field(default_factory=list)
    api_routes: list[ApiRoute] = field(default_factory=list)
    #: Callables returning the records with a note shown wherever they are named (the Belarus
    #: note): a queryset whose SQL depends on nothing else (kept compiled, ``views.noted_records``).
    noted_records: list[Callable[[], QuerySet]] = field(default_factory=list)
    #: Derived tables (stored computations over records) an ``as_of`` snapshot holds, each group
    #: with the callable that fills them: it runs with the snapshot's schema first on the
    #: ``search_path`` (``migrationsupport.asof``), so the normal rebuild code reads the records
    #: as they stood then.
    as_of_rebuilds: list[tuple[tuple[type[Model], ...], Callable[[], object]]] = field(default_factory=list)

    def api(self, prefix: str, viewset, basename: str) -> None:
        self.api_routes.append(ApiRoute(prefix, viewset, basename))


registry = Registry()
