"""Queries kept compiled per process answer exactly as the ORM does, with fresh rows, and are
built and compiled once per key and database (migrationsupport/compiled.py)."""

from __future__ import annotations

from functools import partial

import pytest
from django.db import connection
from django.db.models import F, Prefetch, Value
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from agreements.models import Agreement
from migrationsupport import compiled
from migrationsupport.models import Status
from migrationsupport.site.views import CountryDetailView
from regions.models import Country, Region, Route, RouteFigure
from tests.factories import (
    AgreementFactory,
    CountryFactory,
    RegionFactory,
    RouteFactory,
    RouteFigureFactory,
    SourceFactory,
    unused_iso,
)

pytestmark = pytest.mark.django_db


class Counted:
    """``build`` for ``compiled.rows``, counting its calls."""

    def __init__(self, build):
        self.build = build
        self.calls = 0

    def __call__(self, *values):
        self.calls += 1
        return self.build(*values)


@pytest.fixture
def compilations(monkeypatch):
    """How many times Django compiled a query to SQL (outermost compilations only)."""
    counted = [0]
    original = SQLCompiler.as_sql
    depth = [0]

    def as_sql(self, *args, **kwargs):
        depth[0] += 1
        try:
            return original(self, *args, **kwargs)
        finally:
            depth[0] -= 1
            counted[0] += depth[0] == 0

    monkeypatch.setattr(SQLCompiler, "as_sql", as_sql)
    return counted


def _shapes(region_id: int) -> dict:
    """Every shape the pages keep: joined records, an annotation through a to-many relation, a
    union, a prefetch, values lists, and a query that matches nothing."""
    public = Country.objects.for_public().select_related(None).select_related("source").order_by()
    return {
        "joined": lambda: Country.objects.for_public().filter(region_id=region_id).order_by("name"),
        "annotated": lambda: (
            Agreement.objects.published()
            .filter(parties__region_id=region_id)
            .annotate(party=F("parties"))
            .order_by("title", "party")
        ),
        "union": lambda: (
            public.filter(region_id=region_id)
            .annotate(named_by=Value("region"), owner=F("region_id"))
            .union(
                public.filter(agreements__region_id=region_id).annotate(
                    named_by=Value("agreement"), owner=F("agreements")
                ),
                all=True,
            )
            .order_by("name")
        ),
        "prefetched": lambda: (
            Route.objects.published()
            .filter(regions=region_id)
            .order_by("name")
            .prefetch_related(
                Prefetch("figures", queryset=RouteFigure.objects.for_public(), to_attr="published_figures")
            )
        ),
        "values": lambda: (
            Country.objects.published().filter(region_id=region_id).values_list("iso_code", flat=True)
        ),
        "nothing": lambda: Country.objects.filter(pk__in=[]),
    }


def _read(obj, depth: int = 2) -> object:
    """What a page reads of a row: its fields and annotations, its joined records (None when
    hidden), its prefetched figures and relations (``for_public()``'s), each read the same way."""
    if not hasattr(obj, "_meta"):
        return obj
    if depth == 0:  # a prefetched figure's route is the row itself
        return type(obj), obj.pk
    fields = {name: value for name, value in vars(obj).items() if not name.startswith("_")}
    figures = fields.pop("published_figures", [])
    joined = {name: _read(value, depth - 1) for name, value in obj._state.fields_cache.items()}
    prefetched = {
        name: [_read(each, depth - 1) for each in related]
        for name, related in getattr(obj, "_prefetched_objects_cache", {}).items()
    }
    return type(obj), fields, joined, [_read(figure, depth - 1) for figure in figures], prefetched


def _same(kept: list, fresh: list) -> None:
    assert [_read(obj) for obj in kept] == [_read(obj) for obj in fresh]


def _data():
    region = RegionFactory()
    drafted = CountryFactory(region=region, status=Status.DRAFT)
    countries = [CountryFactory(region=region) for _ in range(2)]
    # A country citing a draft source: ``for_public()`` reads it as None.
    countries.append(CountryFactory(region=region, source=SourceFactory(status=Status.DRAFT)))
    for number in range(3):
        AgreementFactory(region=region, parties=[countries[number], drafted])
    route = RouteFactory()
    route.regions.set([region])
    RouteFigureFactory(route=route)
    RouteFigureFactory(route=route, status=Status.DRAFT)
    return region


def test_every_shape_answers_as_the_orm_does_and_is_compiled_once(compilations):
    region = _data()
    for name, build in _shapes(region.pk).items():
        counted = Counted(build)
        first = compiled.rows(("test", name, region.pk), counted)
        before = compilations[0]
        second = compiled.rows(("test", name, region.pk), counted)
        # No compilation the second time, but for a prefetch's own query (not kept).
        assert compilations[0] == before + (name == "prefetched"), name
        assert counted.calls == 1, name
        fresh = list(build())
        assert fresh or name == "nothing"
        _same(first, fresh)
        _same(second, fresh)


def test_rows_are_read_again_each_time_and_drafts_stay_hidden():
    region = _data()
    key = ("test", "fresh", region.pk)

    def build():
        return Country.objects.for_public().filter(region_id=region.pk).order_by("name")

    assert len(compiled.rows(key, build)) == 3
    added = CountryFactory(region=region, name="Zzz")
    assert [country.name for country in compiled.rows(key, build)][-1] == "Zzz"
    added.status = Status.DRAFT
    added.save()
    assert "Zzz" not in [country.name for country in compiled.rows(key, build)]


def test_the_same_sql_runs_again_and_another_key_is_its_own(compilations):
    one, other = _data(), _data()

    def build(region):
        return lambda: Country.objects.published().filter(region_id=region.pk).order_by("name")

    with CaptureQueriesContext(connection) as first:
        compiled.rows(("test", one.pk), build(one))
    with CaptureQueriesContext(connection) as again:
        compiled.rows(("test", one.pk), build(one))
    assert [query["sql"] for query in again] == [query["sql"] for query in first]
    before = compilations[0]
    names = [country.name for country in compiled.rows(("test", other.pk), build(other))]
    assert compilations[0] == before + 1
    assert names == sorted(Country.objects.published().filter(region=other).values_list("name", flat=True))


def test_two_call_sites_never_share_a_key():
    region = _data()
    countries = sorted(Country.objects.published().filter(region=region).values_list("name", flat=True))

    def regions():
        return Region.objects.filter(pk=region.pk)

    by_lambda = compiled.rows(
        "same", lambda: Country.objects.published().filter(region=region).order_by("name")
    )
    by_function = compiled.rows("same", regions)
    by_partial = compiled.rows("same", partial(Route.objects.filter, pk=-1))
    # Every manager method shares one code: told apart by the manager's model.
    by_manager = compiled.rows("same", Region.objects.all)

    assert [country.name for country in by_lambda] == countries
    assert by_function == [region]
    assert by_partial == []
    assert by_manager == list(Region.objects.all())


def test_at_most_kept_keys_the_least_recently_used_dropped_first(monkeypatch):
    monkeypatch.setitem(compiled.POOLS, "pages", 2)
    builds = {key: Counted(lambda: Country.objects.all()) for key in "abc"}
    for key in "abac":  # "b" is the least recently used when "c" comes
        compiled.rows(key, builds[key])
    compiled.rows("a", builds["a"])
    compiled.rows("b", builds["b"])
    assert {key: counted.calls for key, counted in builds.items()} == {"a": 1, "b": 2, "c": 1}


def test_a_list_pages_filter_choices_are_kept_compiled_and_read_fresh(client, settings, compilations):
    settings.PAGE_CACHE_SECONDS = 0
    RegionFactory(name="Alpha region")
    assert "Alpha region" in client.get("/agreements/").content.decode()
    RegionFactory(name="Beta region")
    page = client.get("/agreements/").content.decode()

    assert "Alpha region" in page
    assert "Beta region" in page  # the choices' rows are read again
    kept = [key for _site, key in compiled._pools["pages"] if isinstance(key, tuple) and len(key) == 2]
    assert "region" in {name for _view, name in kept}, kept  # their SQL kept for the view


def test_values_take_their_places_in_one_sql_for_every_value(compilations):
    region = _data()
    names = sorted(Country.objects.published().filter(region=region).values_list("name", flat=True))
    built = Counted(lambda name, code: Country.objects.published().filter(name=name).exclude(iso_code=code))
    unknown = unused_iso()
    before = compilations[0]

    found = [compiled.rows("by name", built, name, unknown) for name in [*names, "Nowhere"]]

    assert [[country.name for country in rows] for rows in found] == [[name] for name in names] + [[]]
    assert (built.calls, compilations[0] - before) == (1, 1)
    code = Country.objects.get(name=names[0]).iso_code
    assert compiled.rows("by name", built, names[0], code) == []  # the second value in its place


def test_a_records_page_is_found_by_one_sql_and_a_draft_is_not_found(client, settings):
    settings.PAGE_CACHE_SECONDS = 0
    region = _data()
    shown = Country.objects.published().filter(region=region).order_by("name")
    for country in shown:
        page = client.get(f"/countries/{country.iso_code.lower()}/")
        assert page.status_code == 200
        assert country.name in page.content.decode()
    drafted = Country.objects.get(region=region, status=Status.DRAFT)
    assert client.get(f"/countries/{drafted.iso_code.lower()}/").status_code == 404
    assert client.get(f"/countries/{unused_iso().lower()}/").status_code == 404
    # One SQL kept for the view, not one per country.
    assert [key for _site, key in compiled._pools["pages"] if "object" in key] == [
        (CountryDetailView, "object", "iso_code")
    ]


def test_a_kept_querysets_prefetches_are_its_own_each_time():
    """Django marks a prefetch's queryset with the instance it serves: a copy each call, so
    nothing of one call (a row, the database it read) stays with the kept queryset."""
    region = _data()

    def build():
        return (
            Route.objects.published()
            .filter(regions=region.pk)
            .prefetch_related(
                Prefetch("figures", queryset=RouteFigure.objects.for_public(), to_attr="published_figures")
            )
        )

    compiled.rows("routes", build)
    compiled.rows("routes", build)
    (kept,) = compiled._pools["pages"].values()
    (prefetch,) = kept.queryset._prefetch_related_lookups
    assert prefetch.queryset._hints == {}
