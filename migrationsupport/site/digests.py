"""Region digests: everything the overview and a region's page show about a region, from every app."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

from django.db import connections
from django.db.models import F, Prefetch, Q, QuerySet, Value, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import DenseRank

from agreements.models import Agreement, Document
from agreements.selectors import agreements_with_latest_event, documents_latest_first
from funding.listings import funding_largest_first
from funding.models import FundingRecord, Instrument, PledgingConference
from migrationsupport import compiled
from migrationsupport.models import published_q
from migrationsupport.richtext import plain_words
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
    #: How many funding records, agreements, documents, conferences and instruments the page
    #: shows, and the lists (by name) that had more: the page links to all of them.
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
        record.pk: FundingNode(
            record, show_description=plain_words(record.description or "") not in region_text
        )
        for record in records
    }
    roots: list[FundingNode] = []
    for node in nodes.values():
        parent = nodes.get(node.record.parent_id)
        (parent.children if parent else roots).append(node)
    return roots


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
    ids = first_ids_per_region(
        pairs, region=region, record=record, order_by=order_by, region_ids=region_ids, limit=limit
    )
    if isinstance(ids, RawSQL):
        with connections[pairs.db].cursor() as cursor:
            cursor.execute(ids.sql, ids.params)
            return {pk for (pk,) in cursor.fetchall()}
    return set(ids)


def _lateral(connection) -> bool:
    """Whether the first rows of each region can be a ``LATERAL`` join (PostgreSQL)."""
    return connection.vendor == "postgresql"


def first_ids_per_region(
    pairs,
    *,
    region: str,
    record: str,
    order_by: list,
    region_ids: Iterable[int],
    limit: int = REGION_LIST_LIMIT,
) -> QuerySet | RawSQL:
    """The ids (``record``) of the first ``limit`` rows of each region (``region``) in ``pairs``,
    as a query to use as a subquery (``pk__in``): the records and their ids cost one query.
    ``pairs`` that can hold a record twice for a region (reached through another table) must be
    DISTINCT, and ``order_by`` end with the record's id.

    A page about regions never loads every record of a region with tens of thousands of them.
    On PostgreSQL each region's first rows are a ``LIMIT`` query joined ``LATERAL`` to the list of
    regions: an index walk per region that stops after ``limit`` rows instead of ranking every row
    (timed in docs/performance.md), and one query to compile however many regions (a ``UNION
    ALL`` of one query per region, as before 3 December, cost a compilation per region). SQLite
    has no LATERAL: there, DENSE_RANK() over a window partitioned by region.
    """
    region_ids = sorted(region_ids)
    if not region_ids:
        return pairs.none().values_list(record, flat=True)
    if _lateral(connections[pairs.db]):
        # The region is the LATERAL join's column: the same SQL for every region, compiled once.
        firsts = pairs.filter(**{region: RawSQL('"wanted"."region_id"', ())}).order_by(*order_by)
        sql, params = firsts.values_list(record, flat=True)[:limit].query.sql_with_params()
        return RawSQL(  # noqa: S611 - the ORM's own SQL and parameters, in constant SQL
            f'SELECT "firsts"."id" FROM unnest(%s::bigint[]) AS "wanted" ("region_id") '  # noqa: S608
            f'CROSS JOIN LATERAL ({sql}) AS "firsts" ("id")',
            (region_ids, *params),
        )
    # Ranked densely: the rows of one record in a region (an agreement with two parties there,
    # ``pairs`` then DISTINCT) share a rank, so a record takes one of the ``limit`` places.
    ranked = pairs.annotate(rank=Window(DenseRank(), partition_by=F(region), order_by=order_by)).filter(
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
    digest.funding = funding_tree(records, region_text=plain_words(digest.region.body or ""))
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
    agreements, documents, conferences and instruments stop at the first ``limit`` of each
    region (``RegionDigest.more`` says which lists had more).
    """
    regions = list(regions)
    digests = {region.pk: RegionDigest(region, limit=limit) for region in regions}
    _add_funding(digests, limit)
    _add_documents(digests, limit)
    agreements = _first_agreements(digests, limit)
    figures = compiled.rows(
        ("digests.figures", _key(digests)),
        lambda: (
            PopulationFigure.objects.for_public()
            .prefetch_related(None)
            .filter(country__region__in=set(digests))
        ),
    )
    _add_countries(digests, agreements=agreements, figures=figures)
    _add_agreements(digests, agreements)
    for figure in figures:
        _add(digests, [figure.country.region_id], "populations", figure)
    _add_linked_records(digests, limit)
    return _nest(regions, digests, most_specific=most_specific)


def _key(digests: dict[int, RegionDigest]) -> tuple[int, ...]:
    """The digests' regions, as part of the key of a query kept compiled (``compiled.rows``):
    every query here depends only on them, the number of records wanted and the ids it names."""
    return tuple(sorted(digests))


def _add(digests: dict[int, RegionDigest], region_ids: Iterable[int | None], attribute: str, obj) -> None:
    """Add ``obj`` to the list ``attribute`` of each of these regions that has a digest, once."""
    for region_id in dict.fromkeys(region_ids):
        if region_id in digests:
            getattr(digests[region_id], attribute).append(obj)


def _first_ids(pairs, digests: dict[int, RegionDigest], limit: int, **kwargs) -> QuerySet | RawSQL:
    """``first_ids_per_region`` for these regions, one more than they show (to know there are more)."""
    return first_ids_per_region(pairs, region_ids=set(digests), limit=limit + 1, **kwargs)


def _in_digest_regions(
    queryset: QuerySet, ids: QuerySet | RawSQL, digests: dict[int, RegionDigest]
) -> QuerySet:
    """The records ``ids`` of ``queryset`` (which loads no to-many relation: the lists show no
    record's regions, countries or key areas) once per region of theirs that has a digest, that
    region's id as ``digest_region``: the link to the regions joined, not prefetched (one query).
    Every digest is of a published region, so no draft region places a record."""
    return queryset.filter(pk__in=ids, regions__in=set(digests)).annotate(digest_region=F("regions"))


def _add_funding(digests: dict[int, RegionDigest], limit: int) -> None:
    by_region: dict[int, list[FundingRecord]] = defaultdict(list)
    for record in compiled.rows(("digests.funding", _key(digests), limit), lambda: _funding(digests, limit)):
        by_region[record.digest_region].append(record)
    for region_id, records in by_region.items():
        digest = digests[region_id]
        digest.funding = funding_tree(digest.cap("funding", records))  # final trees are built in _nest


def _funding(digests: dict[int, RegionDigest], limit: int) -> QuerySet[FundingRecord]:
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
    # A figure shows its instrument and source (``{% funding_node %}``), not its parent (the
    # tree is built from ``parent_id``) nor its conference: only those two are joined.
    shown = funding_largest_first(relations=False).select_related(None).select_related("instrument", "source")
    return _in_digest_regions(shown, funding_ids, digests)


def _first_agreements(digests: dict[int, RegionDigest], limit: int) -> list[Agreement]:
    """The first agreements of each region, by its own region or its parties' regions (one
    query; their parties are read by ``_add_countries``)."""
    return compiled.rows(("digests.agreements", _key(digests), limit), lambda: _agreements(digests, limit))


def _agreements(digests: dict[int, RegionDigest], limit: int) -> QuerySet[Agreement]:
    own = _first_ids(
        Agreement.objects.published().filter(region__in=set(digests)),
        digests,
        limit,
        region="region_id",
        record="pk",
        order_by=["kind", "title", "pk"],
    )
    by_parties = _first_by_party_region(digests, limit)
    if isinstance(own, RawSQL) and isinstance(by_parties, RawSQL):
        # One list of ids: the agreements are then read by their primary key (two lists ORed
        # would read every agreement to test it against both).
        agreement_ids = Q(
            pk__in=RawSQL(f"({own.sql}) UNION ALL ({by_parties.sql})", (*own.params, *by_parties.params))  # noqa: S611
        )
    else:
        agreement_ids = Q(pk__in=own) | Q(pk__in=by_parties)
    agreements = agreements_with_latest_event().prefetch_related(None).filter(agreement_ids)
    return agreements.order_by("kind", "title", "pk")


#: How many published agreements, in the digests' order, are walked to find a region's first
#: ones by its parties' regions before every agreement with a party there is ranked instead.
PARTY_WALK = 500


def _first_by_party_region(digests: dict[int, RegionDigest], limit: int) -> QuerySet | RawSQL:
    """The ids of the first agreements of each region by its parties' regions (``_first_ids``;
    an agreement with two parties there counts once).

    Ranking every agreement with a party in the region sorts them all by title (836 of the demo
    data's 5 000 in a region, 2-3 ms a region, docs/performance.md). On PostgreSQL a region with
    published countries first walks the published agreements in the digests' order
    (``agreement_kind_title_idx``), keeping those with a party there, and stops at the number
    wanted or after ``PARTY_WALK`` agreements; only a region the walk left short is ranked in
    full (the same ids either way: the walk follows the same order)."""
    if not _lateral(connections[Agreement.parties.through.objects.db]) or not digests:
        return _first_ids(
            # DISTINCT: an agreement with two parties in a region is one of its first, once.
            _party_links(country__region__in=set(digests)).distinct(),
            digests,
            limit,
            region="country__region_id",
            record="agreement_id",
            order_by=["agreement__kind", "agreement__title", "agreement_id"],
        )
    return _party_walk(sorted(digests), limit + 1, walk=PARTY_WALK)


def _party_links(**regions) -> QuerySet:
    """The links of published agreements to their published parties in ``regions``."""
    return Agreement.parties.through.objects.filter(
        published_q("country"), published_q("agreement"), **regions
    )


# The walk for each region with published countries, then, for a region it left short, its
# agreements with a party there ranked in full (``OFFSET 0`` keeps the planner from walking the
# index again for the LIMIT, through every agreement, as it would for a region with few).
_PARTY_WALK_SQL = """
WITH "walked" AS (
    SELECT "wanted"."region_id", "firsts"."id"
    FROM unnest(%s::bigint[]) AS "wanted" ("region_id")
    CROSS JOIN LATERAL (
        SELECT "walk"."id" FROM ({walk}) AS "walk" ("id", "kind", "title")
        WHERE EXISTS ({party})
        ORDER BY "walk"."kind", "walk"."title", "walk"."id" LIMIT %s
    ) AS "firsts"
    WHERE EXISTS ({country})
)
SELECT "id" FROM "walked"
UNION ALL
SELECT "firsts"."id"
FROM unnest(%s::bigint[]) AS "wanted" ("region_id")
CROSS JOIN LATERAL (
    SELECT "ranked"."id" FROM ({ranked} OFFSET 0) AS "ranked" ("id", "kind", "title")
    ORDER BY "ranked"."kind", "ranked"."title", "ranked"."id" LIMIT %s
) AS "firsts"
WHERE EXISTS ({country})
    AND (SELECT count(*) FROM "walked" WHERE "walked"."region_id" = "wanted"."region_id") < %s
"""


def _party_walk(region_ids: list[int], count: int, *, walk: int) -> RawSQL:
    """``_first_by_party_region``'s query on PostgreSQL for these regions' first ``count``
    agreements (built on a miss only: the digests' query holding it is kept compiled)."""
    wanted = RawSQL('"wanted"."region_id"', ())
    walk_sql, walk_params = (
        Agreement.objects.published()
        .order_by("kind", "title", "pk")
        .values_list("pk", "kind", "title")[:walk]
        .query.sql_with_params()
    )
    party_sql, party_params = (
        Agreement.parties.through.objects.filter(
            published_q("country"), agreement_id=RawSQL('"walk"."id"', ()), country__region_id=wanted
        )
        .values("pk")
        .query.sql_with_params()
    )
    country_sql, country_params = (
        Country.objects.published().filter(region_id=wanted).values("pk").query.sql_with_params()
    )
    ranked_sql, ranked_params = (
        _party_links(country__region_id=wanted)
        .distinct()
        .values_list("agreement_id", "agreement__kind", "agreement__title")
        .order_by()
        .query.sql_with_params()
    )
    sql = _PARTY_WALK_SQL.format(walk=walk_sql, party=party_sql, country=country_sql, ranked=ranked_sql)
    params = (
        *(region_ids, *walk_params, *party_params, count, *country_params),
        *(region_ids, *ranked_params, count, *country_params, count),
    )
    return RawSQL(sql, params)  # noqa: S611 - the ORM's own SQL and parameters


def _add_agreements(digests: dict[int, RegionDigest], agreements: list[Agreement]) -> None:
    """An agreement belongs to its own region and to its parties' regions: the first ones of each."""
    for agreement in agreements:
        party_regions = [country.region_id for country in agreement.published_parties]
        _add(digests, [agreement.region_id, *party_regions], "agreements", agreement)
    # Each region got its first ones plus one (to know whether there are more), and possibly
    # records another region fetched; in display order its own first ones come first.
    for digest in digests.values():
        digest.agreements = digest.cap("agreements", digest.agreements)


def _add_documents(digests: dict[int, RegionDigest], limit: int) -> None:
    for document in compiled.rows(
        ("digests.documents", _key(digests), limit), lambda: _documents(digests, limit)
    ):
        _add(digests, [document.digest_region], "documents", document)
    for digest in digests.values():
        digest.documents = digest.cap("documents", digest.documents)


def _documents(digests: dict[int, RegionDigest], limit: int) -> QuerySet[Document]:
    document_ids = _first_ids(
        Document.regions.through.objects.filter(published_q("document"), region_id__in=set(digests)),
        digests,
        limit,
        region="region_id",
        record="document_id",
        order_by=[F("document__date").desc(nulls_last=True), "document__title", "document_id"],
    )
    return _in_digest_regions(documents_latest_first(relations=False), document_ids, digests)


def _add_countries(
    digests: dict[int, RegionDigest], *, agreements: list[Agreement], figures: list[PopulationFigure]
) -> None:
    """The published countries the digests name, in one query for three lists of the same
    shape (a ``UNION ALL``, each row a country and the record that names it): the countries of
    each region (with the source cited next to a stated status), the agreements' parties (the
    note beside a party's name; their regions place the agreement) and the population figures'
    origins. Each list in the order its prefetch would give (by name: names are unique)."""
    agreement_ids = tuple(sorted(agreement.pk for agreement in agreements))
    figure_ids = tuple(sorted(figure.pk for figure in figures))
    key = ("digests.countries", _key(digests), agreement_ids, figure_ids)
    parties: dict[int, list[Country]] = defaultdict(list)
    origins: dict[int, list[Country]] = defaultdict(list)
    for country in compiled.rows(key, lambda: _countries(digests, agreement_ids, figure_ids)):
        if country.named_by == "region":
            _add(digests, [country.owner], "countries", country)
        else:
            (parties if country.named_by == "agreement" else origins)[country.owner].append(country)
    for agreement in agreements:
        agreement.published_parties = parties[agreement.pk]
    for figure in figures:
        figure.published_origins = origins[figure.pk]


def _countries(
    digests: dict[int, RegionDigest], agreement_ids: tuple[int, ...], figure_ids: tuple[int, ...]
) -> QuerySet[Country]:
    # The union is ordered, not its parts. A country is shown by its name, notes and stated
    # status with its source: the source is joined, not its region (placed by ``owner``).
    public = Country.objects.for_public().select_related(None).select_related("source").order_by()
    named = [
        public.filter(region__in=set(digests)).annotate(named_by=Value("region"), owner=F("region_id")),
        public.filter(agreements__in=agreement_ids).annotate(
            named_by=Value("agreement"), owner=F("agreements")
        ),
        public.filter(origin_of_population_figures__in=figure_ids).annotate(
            named_by=Value("figure"), owner=F("origin_of_population_figures")
        ),
    ]
    return named[0].union(*named[1:], all=True).order_by("name")


def _add_linked_records(digests: dict[int, RegionDigest], limit: int) -> None:
    """Instruments and conferences, the first ``limit`` of each region (``RegionDigest.more``
    notes a list that had more: the page links to the filtered list), and routes, few per region
    (``/routes/`` lists them all)."""
    # Read from the links to the regions, each with its record joined: one query per record type.
    # The lists show no instrument's or conference's source: none is joined.
    for name, through, record, order_by in (
        ("instruments", Instrument.regions.through, "instrument", ["instrument__name", "instrument_id"]),
        (
            "conferences",
            PledgingConference.regions.through,
            "pledgingconference",
            # The conference list's order (latest first, then by name).
            [F("pledgingconference__date").desc(), "pledgingconference__name", "pledgingconference_id"],
        ),
    ):
        first_links = partial(_first_links, digests, limit, through=through, record=record, order_by=order_by)
        by_region: dict[int, list] = defaultdict(list)
        for link in compiled.rows((f"digests.{name}", _key(digests), limit), first_links):
            by_region[link.region_id].append(getattr(link, record))
        for region_id, records in by_region.items():
            setattr(digests[region_id], name, digests[region_id].cap(name, records))
    for route_link in compiled.rows(("digests.routes", _key(digests)), lambda: _route_links(digests)):
        _add(digests, [route_link.region_id], "routes", route_link.route)


def _first_links(
    digests: dict[int, RegionDigest], limit: int, *, through, record: str, order_by: list
) -> QuerySet:
    """The links of the first ``limit`` (and one) records of each region to it, the record joined."""
    links = through.objects.filter(published_q(record), region_id__in=set(digests))
    first = _first_ids(links, digests, limit, region="region_id", record=f"{record}_id", order_by=order_by)
    return links.filter(**{f"{record}_id__in": first}).select_related(record).order_by(*order_by)


def _route_links(digests: dict[int, RegionDigest]) -> QuerySet:
    return (
        Route.regions.through.objects.filter(published_q("route"), region_id__in=set(digests))
        .select_related("route")
        .order_by("route__name", "route_id")
        .prefetch_related(
            Prefetch("route__figures", queryset=RouteFigure.objects.for_public(), to_attr="published_figures")
        )
    )


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
            digest.funding = funding_tree(records, region_text=plain_words(digest.region.body or ""))
    return roots
