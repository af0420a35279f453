"""The regions' record types in the site search (registered in ``RegionsConfig.ready()``)."""

from __future__ import annotations

from migrationsupport.models import published_q
from migrationsupport.search import RecordType, plain

from .models import CandidateStatus, Country, PopulationFigure, Region, Route


def _country_summary(country: Country) -> str:
    stated = country.candidate_status != CandidateStatus.NOT_STATED
    status = country.get_candidate_status_display() if stated else ""
    return " – ".join(part for part in (status, plain(country.cooperation_note, 25)) if part)


RECORD_TYPES = (
    RecordType(
        "Regions",
        lambda: Region.objects.published(),
        "name",
        ("summary", "body"),
        summary=lambda r: r.summary or plain(r.body),
        position=10,
    ),
    RecordType(
        "Countries",
        lambda: Country.objects.published().select_related("region"),
        "name",
        ("iso_code", "cooperation_note"),
        summary=_country_summary,
        position=20,
    ),
    RecordType(
        "Population figures",
        lambda: PopulationFigure.objects.published().filter(published_q("country")).select_related("country"),
        "group",
        (),
        title=lambda f: f"{f.country}: {f.quantity} {f.group}",
        position=80,
    ),
    RecordType(
        "Migratory routes",
        lambda: Route.objects.published(),
        "name",
        ("description",),
        summary=lambda r: plain(r.description),
        position=90,
    ),
)
