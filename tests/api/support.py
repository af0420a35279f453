"""Helpers for the REST API tests: one description per endpoint (so the behaviours every
endpoint shares are tested on all of them), valid bodies for writes, and response readers."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models

from agreements.models import Agreement, AgreementEvent, Document
from funding.models import FundingRecord, Instrument, PledgingConference
from migrationsupport.models import Source, Status, Theme
from regions.models import Country, PopulationFigure, Region, Route, RouteFigure
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
    SourceFactory,
    ThemeFactory,
)

API = "/api/v1"


def route_figure(**kwargs):
    """RouteFigure has no factory in tests/factories.py."""
    n = next(_numbers)
    defaults = {
        "route": kwargs.pop("route", None) or RouteFactory(),
        "slug": f"route-figure-{n}",
        "label": "decrease of irregular border crossings",
        "percent": Decimal("70"),
        "period": datetime.date(2024, 1, 1),
        "period_precision": "year",
        "source": SourceFactory(),
        "status": Status.PUBLISHED,
    }
    return RouteFigure.objects.create(**{**defaults, **kwargs})


_numbers = itertools.count(1000)


@dataclass(frozen=True)
class Endpoint:
    """One API endpoint: how to make its records, find them, and a valid new record."""

    path: str
    model: type[models.Model]
    make: Any
    lookup: str = "slug"

    def key(self, obj) -> str:
        return str(getattr(obj, self.lookup))

    def list_url(self) -> str:
        return f"{API}/{self.path}/"

    def detail_url(self, obj) -> str:
        return f"{API}/{self.path}/{self.key(obj)}/"

    def perm(self, action: str) -> str:
        return f"{self.model._meta.app_label}.{action}_{self.model._meta.model_name}"


def _new_slug(prefix: str) -> str:
    return f"{prefix}-new-{next(_numbers)}"


def payload(name: str) -> dict:
    """A valid body to create a record at the endpoint ``name`` (related records made here)."""
    source = SourceFactory().slug
    if name == "regions":
        return {"slug": _new_slug("region"), "name": f"Region {next(_numbers)}", "source": source}
    if name == "countries":
        return {"iso_code": "zz", "slug": "zedland", "name": "Zedland", "source": source}
    if name == "routes":
        return {"slug": _new_slug("route"), "name": f"Route {next(_numbers)}", "source": source}
    if name == "route-figures":
        return {
            "slug": _new_slug("figure"),
            "route": RouteFactory().slug,
            "label": "decrease",
            "percent": "70.00",
            "period": "2024",
            "source": source,
        }
    if name == "population-figures":
        return {
            "slug": _new_slug("population"),
            "country": CountryFactory().iso_code,
            "group": "refugees from Syria",
            "value": "3100000",
            "qualifier": "about",
            "wording": "around",
            "source": source,
        }
    if name == "instruments":
        return {"slug": _new_slug("instrument"), "name": f"Instrument {next(_numbers)}", "source": source}
    if name == "funding":
        return {
            "slug": _new_slug("funding"),
            "title": "A package",
            "amount": "60000000.00",
            "measure": "committed",
            "source": source,
        }
    if name == "conferences":
        return {
            "slug": _new_slug("conference"),
            "name": "Brussels Conference",
            "date": "2024-05-27",
            "source": source,
        }
    if name == "agreements":
        return {
            "slug": _new_slug("agreement"),
            "title": "An agreement",
            "kind": "readmission",
            "source": source,
        }
    if name == "agreement-events":
        return {
            "agreement": AgreementFactory().slug,
            "kind": "signed",
            "date": "2022-10",
            "source": source,
        }
    if name == "documents":
        return {"slug": _new_slug("document"), "title": "A document", "kind": "action_plan", "source": source}
    if name == "themes":
        return {"slug": _new_slug("theme"), "name": f"Theme {next(_numbers)}", "source": source}
    if name == "sources":
        return {
            "slug": _new_slug("source"),
            "title": "A source",
            "publisher": "EC",
            "url": "https://ec.europa.eu/",
        }
    raise KeyError(name)


ENDPOINTS = {
    "regions": Endpoint("regions", Region, RegionFactory),
    "countries": Endpoint("countries", Country, CountryFactory, lookup="iso_code"),
    "routes": Endpoint("routes", Route, RouteFactory),
    "route-figures": Endpoint("route-figures", RouteFigure, route_figure),
    "population-figures": Endpoint("population-figures", PopulationFigure, PopulationFigureFactory),
    "instruments": Endpoint("instruments", Instrument, InstrumentFactory),
    "funding": Endpoint("funding", FundingRecord, FundingRecordFactory),
    "conferences": Endpoint("conferences", PledgingConference, PledgingConferenceFactory),
    "agreements": Endpoint("agreements", Agreement, AgreementFactory),
    "agreement-events": Endpoint("agreement-events", AgreementEvent, AgreementEventFactory, lookup="pk"),
    "documents": Endpoint("documents", Document, DocumentFactory),
    "themes": Endpoint("themes", Theme, ThemeFactory),
    "sources": Endpoint("sources", Source, SourceFactory),
}


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def keys(response, field: str = "slug") -> list:
    return [row[field] for row in results(response)]
