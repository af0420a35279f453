"""The dataset's catalogue entry: DCAT-AP (JSON-LD and Turtle), the data package's metadata and
schema.org ``Dataset`` markup, from one description so the three never disagree.

Nothing here is invented:

- the publisher is the seed source's (fixtures/01_sources.json: DG NEAR), with its entry in the
  EU Publications Office's corporate bodies authority table;
- the seed page states no licence, so the licence is the Commission's reuse policy: Commission
  Decision 2011/833/EU on the reuse of Commission documents, under which the Commission's legal
  notice (https://commission.europa.eu/legal-notice_en) authorises reuse under CC BY 4.0;
- the contact point is the site's configured one (``DATA_CONTACT_EMAIL``, ``DATA_CONTACT_URL``),
  and without it the publisher's page the records come from;
- coverage in time and space is read from the published records.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from agreements.models import AgreementEvent
from funding.iati import IATI_VERSION, last_day
from funding.models import FundingRecord
from migrationsupport.values import PartialDate
from regions.codes import country_codes
from regions.models import Country

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SCHEMA = Namespace("https://schema.org/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EU = "http://publications.europa.eu/resource/authority/"

TITLE = "EU support to partner countries on migration and forced displacement"
DESCRIPTION = (
    "The European Union's support to partner countries on migration and forced displacement, as "
    "records kept current by Commission officers: funding figures (what each measures, who gives "
    "it, how figures nest), agreements and their timelines, key documents, regions, countries, "
    "migratory routes and hosted populations, each with its source."
)
KEYWORDS = ("migration", "forced displacement", "refugees", "funding", "readmission", "EU neighbourhood")
#: The seed source's publisher (fixtures/01_sources.json) and its Publications Office identifier.
PUBLISHER_NAME = (
    "European Commission, Directorate-General for Neighbourhood and Enlargement Negotiations (DG NEAR)"
)
PUBLISHER_URI = f"{EU}corporate-body/NEAR"
#: Where the seed's records come from: the publisher's page (fixtures/01_sources.json).
PUBLISHER_PAGE = (
    "https://neighbourhood-enlargement.ec.europa.eu/european-neighbourhood-policy/"
    "eu-support-partner-countries-migration-and-forced-displacement_en"
)


@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    url: str
    authority_uri: str
    basis: str


LICENCE = Licence(
    id="CC-BY-4.0",
    title="Creative Commons Attribution 4.0 International",
    url="https://creativecommons.org/licenses/by/4.0/",
    authority_uri=f"{EU}licence/CC_BY_4_0",
    basis=(
        "The source page states no licence: reuse follows the Commission's reuse policy, Commission "
        "Decision 2011/833/EU of 12 December 2011 on the reuse of Commission documents (OJ L 330, "
        "14.12.2011, p. 39), under which the Commission's legal notice "
        "(https://commission.europa.eu/legal-notice_en) authorises reuse under CC BY 4.0."
    ),
)
#: EU data themes (Publications Office "data-theme" table): international issues; population and society.
THEMES = (f"{EU}data-theme/INTR", f"{EU}data-theme/SOCI")
#: Records are corrected and added as the sources change: no fixed schedule.
FREQUENCY = f"{EU}frequency/IRREG"
LANGUAGE = f"{EU}language/ENG"


@dataclass(frozen=True)
class Distribution:
    slug: str
    title: str
    description: str
    url_name: str
    media_type: str  # IANA
    file_type: str  # Publications Office "file-type" table
    conforms_to: str | None = None
    download: bool = True


DISTRIBUTIONS = (
    Distribution(
        "csv",
        "Funding records (CSV)",
        "Every published funding record with the explorer's filters: one row per figure, the exact "
        "amount in EUR with its qualifier, measure, donor and source.",
        "funding:export-csv",
        "text/csv",
        "CSV",
        "https://www.rfc-editor.org/rfc/rfc4180",
    ),
    Distribution(
        "json-api",
        "JSON API",
        "The REST API: every published record type, filtered, paginated, with an OpenAPI 3 schema.",
        "api:api-root",
        "application/json",
        "JSON",
        None,
        download=False,
    ),
    Distribution(
        "iati",
        "Funding as IATI 2.03 activities (XML)",
        "Published funding records with a stated period as IATI 2.03 activities: nesting as related "
        "activities, measures as transaction types, qualifiers in narratives.",
        "funding:export-iati",
        "application/xml",
        "XML",
        "http://reference.iatistandard.org/203/schema/",
    ),
    Distribution(
        "datapackage",
        "Whole dataset (Frictionless data package)",
        "One CSV per record type and relation with datapackage.json: Table Schemas with types, "
        "primary and foreign keys and the allowed codes.",
        "data-package",
        "application/zip",
        "ZIP",
        "https://specs.frictionlessdata.io/data-package/",
    ),
)


@dataclass(frozen=True)
class Coverage:
    start: datetime.date | None
    end: datetime.date | None
    countries: tuple[str, ...]  # ISO 3166-1 alpha-3
    modified: datetime.datetime | None


def dataset_coverage() -> Coverage:
    """When and where the published records are about: from the first day of the earliest stated
    date to the last day of the latest (a year-precision "2025" ends on 31 December) among
    funding periods and agreement events, and the published countries. Six small queries."""
    funding, events = FundingRecord.objects.published(), AgreementEvent.objects.published()
    dated = [
        (funding.exclude(period_start=None), "period_start"),
        (funding.exclude(period_end=None), "period_end"),
        (events, "date"),
    ]
    starts, ends = [], []
    for records, name in dated:
        first = records.order_by(name).values_list(name, flat=True).first()
        last = records.order_by(f"-{name}").values_list(name, f"{name}_precision").first()
        if first is not None:
            starts.append(first)
        if last is not None:
            ends.append(last_day(PartialDate(*last)))
    codes = Country.objects.published().order_by("iso_code").values_list("iso_code", flat=True)
    alpha_3 = tuple(sorted(a for a in (country_codes(code).alpha_3 for code in codes) if a))
    modified = max(
        (
            d
            for d in (funding.aggregate(m=Max("updated_at"))["m"], events.aggregate(m=Max("updated_at"))["m"])
            if d
        ),
        default=None,
    )
    return Coverage(min(starts, default=None), max(ends, default=None), alpha_3, modified)


def contact() -> tuple[str, str]:
    """(email, address) of the configured contact; the address defaults to the publisher's page."""
    return settings.DATA_CONTACT_EMAIL, settings.DATA_CONTACT_URL or PUBLISHER_PAGE


def _timestamp(moment: datetime.datetime) -> Literal:
    return Literal(moment.isoformat(timespec="seconds"), datatype=XSD.dateTime)


def catalogue_graph(*, absolute_url: Callable[[str], str], coverage: Coverage) -> Graph:
    """The DCAT-AP 3.0 description: a ``dcat:Catalog`` with one ``dcat:Dataset`` and one
    ``dcat:Distribution`` per format (DCAT-AP 3.0.0, sections 5 and 6 name the classes and
    their mandatory and recommended properties; tests/site/shapes/ checks them)."""
    graph = Graph()
    graph.bind("dcat", DCAT)
    graph.bind("dct", DCTERMS)
    graph.bind("foaf", FOAF)
    graph.bind("vcard", VCARD)
    page = absolute_url(reverse("data"))
    catalogue, dataset = URIRef(f"{page}#catalogue"), URIRef(f"{page}#dataset")
    publisher = URIRef(PUBLISHER_URI)
    licence = URIRef(LICENCE.authority_uri)

    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal(PUBLISHER_NAME, lang="en")))
    graph.add((licence, RDF.type, DCTERMS.LicenseDocument))

    graph.add((catalogue, RDF.type, DCAT.Catalog))
    graph.add((catalogue, DCTERMS.title, Literal(f"{TITLE}: open data", lang="en")))
    graph.add((catalogue, DCTERMS.description, Literal(DESCRIPTION, lang="en")))
    graph.add((catalogue, DCTERMS.publisher, publisher))
    graph.add((catalogue, DCTERMS.license, licence))
    graph.add((catalogue, DCTERMS.language, URIRef(LANGUAGE)))
    graph.add((catalogue, FOAF.homepage, URIRef(absolute_url(reverse("home")))))
    graph.add((catalogue, DCAT.dataset, dataset))
    modified = coverage.modified
    if modified is not None:
        graph.add(
            (
                catalogue,
                DCTERMS.modified,
                Literal(modified.isoformat(timespec="seconds"), datatype=XSD.dateTime),
            )
        )

    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.title, Literal(TITLE, lang="en")))
    graph.add((dataset, DCTERMS.description, Literal(DESCRIPTION, lang="en")))
    graph.add((dataset, DCTERMS.publisher, publisher))
    graph.add((dataset, DCTERMS.identifier, Literal(page)))
    graph.add((dataset, DCTERMS.language, URIRef(LANGUAGE)))
    graph.add((dataset, DCTERMS.accrualPeriodicity, URIRef(FREQUENCY)))
    graph.add((dataset, DCAT.landingPage, URIRef(page)))
    graph.add((dataset, DCTERMS.source, URIRef(PUBLISHER_PAGE)))
    for keyword in KEYWORDS:
        graph.add((dataset, DCAT.keyword, Literal(keyword, lang="en")))
    for theme in THEMES:
        graph.add((dataset, DCAT.theme, URIRef(theme)))
    for code in coverage.countries:
        graph.add((dataset, DCTERMS.spatial, URIRef(f"{EU}country/{code}")))
    if coverage.start or coverage.end:
        period = BNode()
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if coverage.start:
            graph.add((period, DCAT.startDate, Literal(coverage.start, datatype=XSD.date)))
        if coverage.end:
            graph.add((period, DCAT.endDate, Literal(coverage.end, datatype=XSD.date)))
        graph.add((dataset, DCTERMS.temporal, period))
    if modified is not None:
        graph.add(
            (
                dataset,
                DCTERMS.modified,
                Literal(modified.isoformat(timespec="seconds"), datatype=XSD.dateTime),
            )
        )

    email, address = contact()
    point = URIRef(f"{page}#contact")
    graph.add((point, RDF.type, VCARD.Organization))
    graph.add((point, VCARD.fn, Literal(PUBLISHER_NAME, lang="en")))
    if email:
        graph.add((point, VCARD.hasEmail, URIRef(f"mailto:{email}")))
    graph.add((point, VCARD.hasURL, URIRef(address)))
    graph.add((dataset, DCAT.contactPoint, point))

    for distribution in DISTRIBUTIONS:
        node = URIRef(f"{page}#distribution-{distribution.slug}")
        url = URIRef(absolute_url(reverse(distribution.url_name)))
        graph.add((dataset, DCAT.distribution, node))
        graph.add((node, RDF.type, DCAT.Distribution))
        graph.add((node, DCTERMS.title, Literal(distribution.title, lang="en")))
        graph.add((node, DCTERMS.description, Literal(distribution.description, lang="en")))
        graph.add((node, DCAT.accessURL, url))
        if distribution.download:
            graph.add((node, DCAT.downloadURL, url))
        graph.add(
            (
                node,
                DCAT.mediaType,
                URIRef(f"https://www.iana.org/assignments/media-types/{distribution.media_type}"),
            )
        )
        graph.add((node, DCTERMS.format, URIRef(f"{EU}file-type/{distribution.file_type}")))
        graph.add((node, DCTERMS.license, licence))
        if distribution.conforms_to:
            standard = URIRef(distribution.conforms_to)
            graph.add((standard, RDF.type, DCTERMS.Standard))
            graph.add((node, DCTERMS.conformsTo, standard))
    return graph


def package_metadata(*, absolute_url: Callable[[str], str]) -> dict[str, Any]:
    """The data package's own metadata (Frictionless Data Package v1: name, title, licences,
    sources, contributors)."""
    email, address = contact()
    publisher: dict[str, Any] = {"title": PUBLISHER_NAME, "role": "publisher", "path": address}
    if email:
        publisher["email"] = email
    return {
        "name": "eu-migration-support",
        "title": TITLE,
        "description": f"{DESCRIPTION} Published records only. {LICENCE.basis}",
        "homepage": absolute_url(reverse("data")),
        "version": "1.0.0",
        "keywords": list(KEYWORDS),
        "licenses": [{"name": LICENCE.id, "path": LICENCE.url, "title": LICENCE.title}],
        "sources": [
            {
                "title": "EU support to partner countries on migration and forced displacement",
                "path": PUBLISHER_PAGE,
            },
            {
                "title": "Every record's own source: see sources.csv and each table's source column",
                "path": absolute_url(reverse("data")),
            },
        ],
        "contributors": [publisher],
        "standards": {"iati": IATI_VERSION},
    }


def schema_org_dataset(*, absolute_url: Callable[[str], str]) -> dict[str, Any]:
    """schema.org ``Dataset`` markup for the pages (JSON-LD), from the same description."""
    page = absolute_url(reverse("data"))
    return {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": f"{page}#dataset",
        "name": TITLE,
        "description": DESCRIPTION,
        "url": page,
        "keywords": list(KEYWORDS),
        "license": LICENCE.url,
        "isAccessibleForFree": True,
        "inLanguage": "en",
        "isBasedOn": PUBLISHER_PAGE,
        "publisher": {"@type": "Organization", "name": PUBLISHER_NAME, "sameAs": PUBLISHER_URI},
        "creator": {"@type": "Organization", "name": PUBLISHER_NAME},
        "distribution": [
            {
                "@type": "DataDownload",
                "name": d.title,
                "encodingFormat": d.media_type,
                "contentUrl": absolute_url(reverse(d.url_name)),
            }
            for d in DISTRIBUTIONS
        ],
    }
