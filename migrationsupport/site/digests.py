"""Region digests: everything the overview and a region's page show about a region, from every app."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import unescape

from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.html import strip_tags

from agreements.models import Agreement, Document
from agreements.selectors import agreements_with_timeline, documents_latest_first
from funding.listings import funding_largest_first
from funding.models import FundingRecord, Instrument, PledgingConference
from migrationsupport.models import PublishableQuerySet, published_q
from migrationsupport.views import FIRST_ROWS
from regions.models import Country, PopulationFigure, Region, Route, RouteFigure

# How many funding records, agreements and documents a region's page shows (largest or first
# ones; the overview shows fewer); a list that was cut links to the explorer or the filtered list
# with all of them. The seed has at most 7 of a kind per region: only bulk data is ever cut.
REGION_LIST_LIMIT = FIRST_ROWS


@dataclass
class FundingNode:
    """A funding record with the records that are part of it (its children), as a tree."""

    record: FundingRecord
    children: list[FundingNode] = field(default_factory=list)
    #: False when the region's own text already says what the record's description says.
    show_description: bool = True


@dataclass
class RegionDigest:
    region: Region
    subregions: list[RegionDigest] = field(default_factory=list)
    funding: list[FundingNode] = field(default_factory=list)
    populations: list[PopulationFigure] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    conferences: list[PledgingConference] = field(default_factory=list)
    instruments: list[Instrument] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    countries: list[Country] = field(default_factory=list)
    #: How many funding records, agreements and documents the page shows, and the lists
    #: ("funding", "agreements", "documents") that had more: the page links to all of them.
    limit: int = REGION_LIST_LIMIT
    more: set[str] = field(default_factory=set)

    def cap(self, name: str, items: list) -> list:
        """The first ``limit`` of ``items`` (in display order), noting when there were more."""
        if len(items) > self.limit:
            self.more.add(name)
        return items[: self.limit]


def funding_tree(records: Iterable[FundingRecord], *, region_text: str = "") -> list[FundingNode]:
    """Nest records under their parent when the parent is among them; keep the given order.

    A description the region's own text already contains (``region_text``) is not repeated.
    """
    nodes: dict[int | None, FundingNode] = {
        record.pk: FundingNode(record, show_description=_plain(record.description) not in region_text)
        for record in records
    }
    roots: list[FundingNode] = []
    for node in nodes.values():
        parent = nodes.get(node.record.parent_id)
        (parent.children if parent else roots).append(node)
    return roots


def _plain(html: str) -> str:
    return " ".join(unescape(strip_tags(html or "")).split())


def top_ids_per_region(
    pairs,
    *,
    region: str,
    record: str,
    order_by: list,
    region_ids: Iterable[int],
    limit: int = REGION_LIST_LIMIT,
) -> set[int]:
    """The ids (``record``) of the first ``limit`` rows of each region (``region``) in ``pairs``:
    ``first_ids_per_region`` run on its own."""
    return set(
        first_ids_per_region(
            pairs, region=region, record=record, order_by=order_by, region_ids=region_ids, limit=limit
        )
    )


def first_ids_per_region(
    pairs,
    *,
    region: str,
    record: str,
    order_by: list,
    region_ids: Iterable[int],
    limit: int = REGION_LIST_LIMIT,
) -> QuerySet:
    """The ids (``record``) of the first ``limit`` rows of each region (``region``) in ``pairs``,
    as a query to use as a subquery (``pk__in``): the records and their ids cost one query.

    A page about regions never loads every record of a region with tens of thousands of them.
    On PostgreSQL it is a UNION ALL of one ``LIMIT`` query per region, each walking an index and
    stopping after ``limit`` rows instead of ranking every row (timed in docs/performance.md).
    SQLite allows no LIMIT inside a UNION: there, ROW_NUMBER() over a window partitioned by region.
    """
    region_ids = sorted(region_ids)
    if not region_ids:
        return pairs.none().values_list(record, flat=True)
    if connection.features.supports_slicing_ordering_in_compound:
        firsts = [
            pairs.filter(**{region: region_id}).order_by(*order_by).values_list(record, flat=True)[:limit]
            for region_id in region_ids
        ]
        return firsts[0].union(*firsts[1:], all=True)
    ranked = pairs.annotate(rank=Window(RowNumber(), partition_by=F(region), order_by=order_by)).filter(
        rank__lte=limit
    )
    return ranked.values_list(record, flat=True)


LISTS = ("populations", "routes", "conferences", "instruments", "agreements", "documents", "countries")


def _keep_most_specific(digest: RegionDigest) -> set[int]:
    """Drop from a region what one of its sub-regions already shows; return the funding ids shown."""
    below: dict[str, set[int]] = {name: set() for name in LISTS}
    funding_below: set[int] = set()
    for sub in digest.subregions:
        funding_below |= _keep_most_specific(sub)
        for name in LISTS:
            below[name] |= {obj.pk for obj in getattr(sub, name)}
    for name in LISTS:
        setattr(digest, name, [obj for obj in getattr(digest, name) if obj.pk not in below[name]])
    records = [node.record for node in _walk(digest.funding) if node.record.pk not in funding_below]
    digest.funding = funding_tree(records, region_text=_plain(digest.region.body))
    return funding_below | {record.pk for record in records}


def _walk(nodes: list[FundingNode]):
    for node in nodes:
        yield node
        yield from _walk(node.children)


def region_digests(
    *, regions: Iterable[Region], most_specific: bool = True, limit: int = REGION_LIST_LIMIT
) -> list[RegionDigest]:
    """The published records of each region, sub-regions nested under their region.

    Every record type is read once for all the regions (a fixed number of queries however many
    regions and records there are) and distributed here: a funding record, instrument, document
    or conference by its regions, an agreement by its own region or its parties' regions, a
    country and its population figures by the country's region, a route by its regions. With
    ``most_specific`` a record linked to a region and to one of its sub-regions is shown under
    the sub-region only, so a page that shows both never repeats it. Funding records,
    agreements and documents stop at the first ``limit`` of each region (``RegionDigest.more``
    says which lists had more).
    """
    regions = list(regions)
    digests = {region.pk: RegionDigest(region, limit=limit) for region in regions}
    _add_funding(digests, limit)
    _add_agreements(digests, limit)
    _add_documents(digests, limit)
    _add_linked_records(digests)
    return _nest(regions, digests, most_specific=most_specific)


def _add(digests: dict[int, RegionDigest], region_ids: Iterable[int | None], attribute: str, obj) -> None:
    """Add ``obj`` to the list ``attribute`` of each of these regions that has a digest, once."""
    for region_id in dict.fromkeys(region_ids):
        if region_id in digests:
            getattr(digests[region_id], attribute).append(obj)


def _first_ids(pairs, digests: dict[int, RegionDigest], limit: int, **kwargs) -> QuerySet:
    """``first_ids_per_region`` for these regions, one more than they show (to know there are more)."""
    return first_ids_per_region(pairs, region_ids=set(digests), limit=limit + 1, **kwargs)


def _shown(queryset: QuerySet, *names: str) -> QuerySet:
    """``queryset`` prefetching only the to-many relations (published records) a digest uses:
    the lists show no record's countries or key areas, only the regions they are sorted by."""
    shown = queryset.prefetch_related(None)
    assert isinstance(shown, PublishableQuerySet)
    return shown.prefetch_published(*names)


def _add_funding(digests: dict[int, RegionDigest], limit: int) -> None:
    funding_ids = _first_ids(
        FundingRecord.regions.through.objects.filter(
            published_q("fundingrecord"), region_id__in=set(digests)
        ),
        digests,
        limit,
        region="region_id",
        record="fundingrecord_id",
        order_by=[
            F("fundingrecord__amount").desc(nulls_last=True),
            "fundingrecord__title",
            "fundingrecord_id",
        ],
    )
    by_region: dict[int, list[FundingRecord]] = defaultdict(list)
    for record in _shown(funding_largest_first(), "regions").filter(pk__in=funding_ids):
        for region in record.regions.all():
            if region.pk in digests:
                by_region[region.pk].append(record)
    for region_id, records in by_region.items():
        digest = digests[region_id]
        digest.funding = funding_tree(digest.cap("funding", records))  # final trees are built in _nest


def _add_agreements(digests: dict[int, RegionDigest], limit: int) -> None:
    """An agreement belongs to its own region and to its parties' regions: the first ones of each."""
    agreement_ids = Q(
        pk__in=_first_ids(
            Agreement.objects.published().filter(region__in=set(digests)),
            digests,
            limit,
            region="region_id",
            record="pk",
            order_by=["kind", "title", "pk"],
        )
    ) | Q(
        pk__in=_first_ids(
            Agreement.parties.through.objects.filter(
                published_q("country"), published_q("agreement"), country__region__in=set(digests)
            ),
            digests,
            limit,
            region="country__region_id",
            record="agreement_id",
            order_by=["agreement__kind", "agreement__title", "agreement_id"],
        )
    )
    agreements = agreements_with_timeline().filter(agreement_ids).order_by("kind", "title", "pk")
    for agreement in agreements:
        party_regions = [country.region_id for country in agreement.parties.all()]
        _add(digests, [agreement.region_id, *party_regions], "agreements", agreement)
    # Each region got its first ones plus one (to know whether there are more), and possibly
    # records another region fetched; in display order its own first ones come first.
    for digest in digests.values():
        digest.agreements = digest.cap("agreements", digest.agreements)


def _add_documents(digests: dict[int, RegionDigest], limit: int) -> None:
    document_ids = _first_ids(
        Document.regions.through.objects.filter(published_q("document"), region_id__in=set(digests)),
        digests,
        limit,
        region="region_id",
        record="document_id",
        order_by=[F("document__date").desc(nulls_last=True), "document__title", "document_id"],
    )
    for document in _shown(documents_latest_first(relations=False), "regions").filter(pk__in=document_ids):
        _add(digests, (region.pk for region in document.regions.all()), "documents", document)
    for digest in digests.values():
        digest.documents = digest.cap("documents", digest.documents)


def _add_linked_records(digests: dict[int, RegionDigest]) -> None:
    """Instruments, conferences, countries (with the source cited next to a stated status),
    population figures and routes: few per region, all of them shown."""
    ids = set(digests)
    # Read from the links to the regions, each with its record joined: one query per record type.
    # The lists show no instrument's or conference's source: none is joined.
    instruments = (
        Instrument.regions.through.objects.filter(published_q("instrument"), region_id__in=ids)
        .select_related("instrument")
        .order_by("instrument__name", "instrument_id")
    )
    for instrument_link in instruments:
        _add(digests, [instrument_link.region_id], "instruments", instrument_link.instrument)
    conferences = (
        PledgingConference.regions.through.objects.filter(
            published_q("pledgingconference"), region_id__in=ids
        )
        .select_related("pledgingconference")
        .order_by("-pledgingconference__date", "pledgingconference_id")
    )
    for conference_link in conferences:
        _add(digests, [conference_link.region_id], "conferences", conference_link.pledgingconference)
    for country in Country.objects.for_public().filter(region__in=ids):
        _add(digests, [country.region_id], "countries", country)
    for figure in PopulationFigure.objects.for_public().filter(country__region__in=ids):
        _add(digests, [figure.country.region_id], "populations", figure)
    routes = (
        Route.regions.through.objects.filter(published_q("route"), region_id__in=ids)
        .select_related("route")
        .order_by("route__name", "route_id")
        .prefetch_related(
            Prefetch("route__figures", queryset=RouteFigure.objects.for_public(), to_attr="published_figures")
        )
    )
    for route_link in routes:
        _add(digests, [route_link.region_id], "routes", route_link.route)


def _nest(
    regions: list[Region], digests: dict[int, RegionDigest], *, most_specific: bool
) -> list[RegionDigest]:
    """Sub-regions under their region (the roots returned), each funding list as a tree."""
    roots = []
    for region in regions:
        digest = digests[region.pk]
        if region.parent_id in digests:
            digests[region.parent_id].subregions.append(digest)
        else:
            roots.append(digest)
    if most_specific:
        for root in roots:
            _keep_most_specific(root)
    else:
        for digest in digests.values():
            records = [node.record for node in _walk(digest.funding)]
            digest.funding = funding_tree(records, region_text=_plain(digest.region.body))
    return roots
