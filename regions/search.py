"""The regions' record types in the site search, and the names countries go by (both registered in
``RegionsConfig.ready()``)."""

from __future__ import annotations

from functools import lru_cache

import pycountry

from migrationsupport.models import published_q
from migrationsupport.search import NameMatch, RecordType, fold, plain

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
        country_code_field="iso_code",
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


#: Names a country still goes by that pycountry (the Debian iso-codes data) no longer gives, each
#: with its reason. Folded (see ``fold``) when compared.
COUNTRY_ALIASES = {
    # ISO 3166-1's English short name for TR until 2022, when it became "Türkiye"; still the most
    # used in English (the seed itself names the "EU-Turkey Statement").
    "Turkey": "TR",
}
#: The longest country name in words that a query is scanned for.
MAX_NAME_WORDS = 6


@lru_cache(maxsize=1)
def _country_index() -> tuple[
    dict[str, tuple[str, tuple[str, ...]]], dict[str, str], dict[str, tuple[str, ...]]
]:
    """Folded name → (alpha-2 code, names to search for), alpha-2/alpha-3 code → alpha-2, and
    alpha-2 → names to search for."""
    by_name: dict[str, tuple[str, tuple[str, ...]]] = {}
    by_code: dict[str, str] = {}
    names_of: dict[str, tuple[str, ...]] = {}
    for country in pycountry.countries:
        written = [
            getattr(country, attribute, None) for attribute in ("name", "common_name", "official_name")
        ]
        # "Moldova, Republic of" is an index form, not a name anyone writes in running text.
        names = tuple(dict.fromkeys(name for name in written if name and "," not in name))
        for name in written:
            if name:
                by_name.setdefault(fold(name), (country.alpha_2, names))
        by_code[country.alpha_2.casefold()] = by_code[country.alpha_3.casefold()] = country.alpha_2
        names_of[country.alpha_2] = names
    for alias, code in COUNTRY_ALIASES.items():
        by_name[fold(alias)] = (code, names_of[code])
    return by_name, by_code, names_of


def country_names(query: str) -> list[NameMatch]:
    """The countries ``query`` names by a common, official or former name ("Turkey", "Republic of
    Türkiye") or, when it is nothing else, by an ISO 3166-1 code ("TR", "tur"), with the names
    to search for instead. Codes count only alone: "in", "is", "and" are codes too."""
    by_name, by_code, names_of = _country_index()
    words = fold(query).split()
    if len(words) == 1 and words[0] in by_code and len(words[0]) in (2, 3):
        code = by_code[words[0]]
        return [NameMatch(code=code, names=names_of[code])]
    matches = []
    start = 0
    while start < len(words):
        for length in range(min(MAX_NAME_WORDS, len(words) - start), 0, -1):
            found = by_name.get(" ".join(words[start : start + length]))
            if found:
                rest = " ".join(words[:start] + words[start + length :])
                matches.append(NameMatch(code=found[0], names=found[1], rest=rest))
                start += length
                break
        else:
            start += 1
    return matches
