"""Add (or remove) synthetic published records for performance work.

``generate_demo_data --funding N`` adds N funding records spread over the existing regions,
countries, instruments and themes, with one agreement (and its events) and one document per 20
funding records. Everything it adds cites the source "Synthetic demo data" and has a slug that
starts with ``synthetic-``; ``--delete`` removes exactly those records and nothing else.

Rows are written with bulk_create (no per-row history: synthetic data is not an officer's
edit), so 100 000 funding records take well under two minutes on two cores.
"""

from __future__ import annotations

import datetime
import random
import sys
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Q

from agreements.models import (
    Agreement,
    AgreementEvent,
    AgreementKind,
    AgreementStatus,
    Document,
    DocumentKind,
    EventKind,
)
from funding import rollup
from funding.models import (
    DONOR_BREADTH,
    Donor,
    Fulfilment,
    FundingKind,
    FundingRecord,
    Instrument,
    Measure,
    PledgingConference,
)
from migrationsupport.cache import bump_content_version
from migrationsupport.changes import sync_public_changes
from migrationsupport.models import Source, Status, Theme
from regions.models import Country, Region

SYNTHETIC_SLUG = "synthetic-demo-data"
PREFIX = "synthetic-"
BATCH = 5000


def synthetic_source() -> Source:
    source, _ = Source.objects.get_or_create(
        slug=SYNTHETIC_SLUG,
        defaults={
            "title": "Synthetic demo data",
            "publisher": "Migration Support demo data generator (not real figures)",
            "url": "https://example.org/synthetic-demo-data",
            "status": Status.PUBLISHED,
        },
    )
    return source


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int, stream=sys.stderr):
        self.label, self.total, self.stream, self.done = label, max(total, 1), stream, 0

    def advance(self, n: int) -> None:
        self.done += n
        width = 30
        filled = int(width * self.done / self.total)
        self.stream.write(
            f"\r{self.label:<12} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Add N synthetic published funding records (and proportional agreements and documents)."

    def add_arguments(self, parser):
        parser.add_argument("--funding", type=int, default=0, help="How many funding records to add.")
        parser.add_argument("--delete", action="store_true", help="Remove every synthetic record.")
        parser.add_argument("--seed", type=int, default=2024, help="Random seed (same seed, same data).")

    def handle(self, *args, funding: int, delete: bool, seed: int, **options):
        if delete:
            removed = delete_synthetic()
            rollup.rebuild()  # bulk writes send no signals
            sync_public_changes()  # their deletion markers in the change feed
            bump_content_version()
            self.stdout.write(f"Removed {removed} synthetic records.")
            return
        if funding <= 0:
            raise CommandError("Give --funding N (N > 0), or --delete.")
        rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        counts = generate(funding=funding, rng=rng, progress=options["verbosity"] > 0)
        analyze()
        rollup.rebuild()  # bulk writes send no signals: store the totals now, not at the next save
        sync_public_changes()  # and no public change rows: their baselines in the change feed
        bump_content_version()
        self.stdout.write("Added " + ", ".join(f"{n} {label}" for label, n in counts.items()) + ".")


def analyze() -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would give them later: the totals'
    rebuild that follows would otherwise be planned for the seed's few rows (at +100 000 records,
    a minute and more for one filtered set instead of seconds)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _pools():
    pools = {
        "regions": list(Region.objects.published().values_list("pk", flat=True)),
        "countries": list(Country.objects.published().exclude(region=None).values_list("pk", flat=True)),
        "instruments": list(Instrument.objects.published().values_list("pk", flat=True)),
        "themes": list(Theme.objects.published().values_list("pk", flat=True)),
    }
    if not pools["regions"] or not pools["themes"]:
        raise CommandError("Load the seed first (regions and themes are needed): loaddata fixtures/*.json")
    return pools


def _year(rng: random.Random) -> datetime.date:
    return datetime.date(rng.randint(2014, 2026), 1, 1)


QUALIFIERS = ["exact"] * 7 + ["about", "more_than", "almost"]


@transaction.atomic
def generate(*, funding: int, rng: random.Random, progress: bool = True) -> dict[str, int]:
    pools = _pools()
    source = synthetic_source()
    start = FundingRecord.objects.filter(slug__startswith=PREFIX).count()
    last_before = FundingRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    bar = Progress("funding", funding, stream=sys.stderr if progress else _Null())
    made = 0
    while made < funding:
        size = min(BATCH, funding - made)
        # Each batch: top-level records first, then up to 3 children per 10 records inside them.
        parents = _top_level(size - size // 10 * 3, first=start + made, rng=rng, pools=pools, source=source)
        FundingRecord.objects.bulk_create(parents, batch_size=1000)
        chosen = rng.sample(parents, (size - len(parents)) // 3 or 0) if size >= 10 else []
        children = _parts(chosen, first=start + made + len(parents), source=source)
        FundingRecord.objects.bulk_create(children, batch_size=1000)
        batch = parents + children
        _link(batch, rng=rng, pools=pools)
        made += len(batch)
        bar.advance(len(batch))

    agreements, events, documents = _agreements_and_documents(
        count=max(funding // 20, 1), rng=rng, pools=pools
    )
    conferences, links = _pledges_followed_through(after_pk=last_before, rng=rng, pools=pools, source=source)
    return {
        "funding records": made,
        "agreements": agreements,
        "events": events,
        "documents": documents,
        "pledging conferences": conferences,
        "fulfilment links": links,
    }


def _top_level(count: int, *, first: int, rng: random.Random, pools, source) -> list[FundingRecord]:
    records = []
    for n in range(first, first + count):
        begin = _year(rng)
        records.append(
            FundingRecord(
                title=f"Synthetic funding record {n}",
                slug=f"{PREFIX}funding-{n}",
                kind=rng.choice(FundingKind.values),
                amount=Decimal(rng.randrange(10, 5000)) * 100_000,
                qualifier=rng.choice(QUALIFIERS),
                measure=rng.choice(Measure.values),
                period_start=begin,
                period_start_precision="year",
                period_end=begin.replace(year=begin.year + rng.randint(0, 3)),
                period_end_precision="year",
                donor=rng.choice(Donor.values),
                instrument_id=rng.choice(pools["instruments"]) if pools["instruments"] else None,
                source=source,
                status=Status.PUBLISHED,
            )
        )
    return records


def _parts(parents: list[FundingRecord], *, first: int, source) -> list[FundingRecord]:
    """Three parts inside each of ``parents``, each a quarter of it."""
    return [
        FundingRecord(
            title=f"Synthetic part {j + 1} of {parent.title}",
            slug=f"{PREFIX}funding-{first + i * 3 + j}",
            kind=FundingKind.PROGRAMME,
            amount=parent.amount / 4 if parent.amount is not None else None,
            qualifier="exact",
            measure=parent.measure,
            period_start=parent.period_start,
            period_start_precision="year",
            period_end=parent.period_end,
            period_end_precision="year",
            donor=parent.donor,
            instrument_id=parent.instrument_id,
            parent=parent,
            source=source,
            status=Status.PUBLISHED,
        )
        for i, parent in enumerate(parents)
        for j in range(3)
    ]


def _link(batch: list[FundingRecord], *, rng: random.Random, pools) -> None:
    """One or two regions and themes and up to two countries for each record."""

    def links(through, column: str, pool: list[int], fewest: int) -> list:
        return [
            through(fundingrecord_id=record.pk, **{column: pk})
            for record in batch
            for pk in rng.sample(pool, min(len(pool), rng.randint(fewest, 2)))
        ]

    relations = FundingRecord.regions.through, FundingRecord.countries.through, FundingRecord.themes.through
    through_regions, through_countries, through_themes = relations
    through_regions.objects.bulk_create(
        links(through_regions, "region_id", pools["regions"], 1), batch_size=5000
    )
    if pools["countries"]:
        through_countries.objects.bulk_create(
            links(through_countries, "country_id", pools["countries"], 0), batch_size=5000
        )
    through_themes.objects.bulk_create(links(through_themes, "theme_id", pools["themes"], 1), batch_size=5000)


def _agreements_and_documents(*, count: int, rng: random.Random, pools) -> tuple[int, int, int]:
    source = synthetic_source()
    start = Agreement.objects.filter(slug__startswith=PREFIX).count()
    agreements = Agreement.objects.bulk_create(
        [
            Agreement(
                title=f"Synthetic agreement {start + i}",
                slug=f"{PREFIX}agreement-{start + i}",
                kind=rng.choice(AgreementKind.values),
                source=source,
                status=Status.PUBLISHED,
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    if pools["countries"]:
        Agreement.parties.through.objects.bulk_create(
            [
                Agreement.parties.through(agreement_id=a.pk, country_id=rng.choice(pools["countries"]))
                for a in agreements
            ],
            batch_size=5000,
        )
    events = _lifecycle_events(agreements, rng=rng, source=source)
    start = Document.objects.filter(slug__startswith=PREFIX).count()
    documents = Document.objects.bulk_create(
        [
            Document(
                title=f"Synthetic document {start + i}",
                slug=f"{PREFIX}document-{start + i}",
                kind=rng.choice(DocumentKind.values),
                date=_year(rng),
                date_precision="year",
                source=source,
                status=Status.PUBLISHED,
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    Document.regions.through.objects.bulk_create(
        [
            Document.regions.through(document_id=d.pk, region_id=rng.choice(pools["regions"]))
            for d in documents
        ],
        batch_size=5000,
    )
    return len(agreements), len(events), len(documents)


K = EventKind
# Lifecycles the synthetic agreements go through in turn, so that every status, every kind of
# event, a skip with its reason, a skip without one (for the admin's "what is missing"), and
# agreements with only a stated status or none all occur however few agreements are made.
LIFECYCLES: list[tuple[list[str], str]] = [
    ([K.MANDATE_ADOPTED], ""),
    ([K.MANDATE_ADOPTED, K.NEGOTIATIONS_OPENED], ""),
    ([K.NEGOTIATIONS_OPENED, K.INITIALLED], ""),
    ([K.NEGOTIATIONS_OPENED, K.CONCLUDED, K.SIGNED], ""),
    ([K.SIGNED, K.PROVISIONALLY_APPLIED], ""),
    ([K.SIGNED, K.CONCLUDED, K.ENTERED_INTO_FORCE, K.OPERATIONS_LAUNCHED], ""),
    ([K.ENTERED_INTO_FORCE, K.PARTIALLY_SUSPENDED], ""),
    ([K.ENTERED_INTO_FORCE, K.SUSPENDED, K.RESUMED], ""),
    ([K.SIGNED, K.PROVISIONALLY_APPLIED, K.SUSPENDED], ""),
    ([K.SIGNED, K.ENTERED_INTO_FORCE, K.SUSPENDED, K.TERMINATED], ""),
    ([K.ADOPTED], ""),
    ([K.ENTERED_INTO_FORCE, K.WITHDRAWN], ""),
    ([K.SIGNED, K.OPERATIONS_LAUNCHED], "Synthetic: the source gives no date of entry into force."),
    ([K.NEGOTIATIONS_OPENED, K.SIGNED], ""),
    ([], AgreementStatus.CONCLUDED),
    ([], AgreementStatus.BEING_IMPLEMENTED),
    ([], AgreementStatus.ONGOING),
    ([], ""),
]
PRECISIONS = ["day", "day", "month", "month", "year"]
TODAY = datetime.date.today()
OFFICIAL = {K.SIGNED, K.CONCLUDED, K.ENTERED_INTO_FORCE, K.SUSPENDED, K.TERMINATED}


def _lifecycle_events(agreements: list[Agreement], *, rng: random.Random, source) -> list[AgreementEvent]:
    """Each agreement's steps along one of ``LIFECYCLES`` (in turn), 1 to 30 months apart, with
    day, month or year precision (so ties and hatched starts occur) and, for most official acts,
    a well-formed (synthetic) CELEX number or OJ citation. A lifecycle without steps gives the
    agreement its stated status instead."""
    events, stated = [], []
    for n, agreement in enumerate(agreements):
        kinds, extra = LIFECYCLES[n % len(LIFECYCLES)]
        if not kinds:
            agreement.stated_status = extra
            stated.append(agreement)
            continue
        day = datetime.date(rng.randint(2008, 2018), rng.randint(1, 12), rng.randint(1, 28))
        page = rng.randint(1, 90)
        previous: datetime.date | None = None
        for position, kind in enumerate(kinds):
            if day > TODAY:
                break
            # A coarser date only where it cannot sort before the step before it.
            precision = rng.choice(PRECISIONS)
            if precision == "year" and previous and previous.year == day.year:
                precision = "month"
            if precision == "month" and previous and (previous.year, previous.month) == (day.year, day.month):
                precision = "day"
            date = day.replace(month=1, day=1) if precision == "year" else day
            date = date.replace(day=1) if precision == "month" else date
            reference = ""
            if kind in OFFICIAL and rng.random() < 0.7:
                reference = (
                    f"2{day.year}A{day.month:02d}{day.day:02d}(01)"
                    if rng.random() < 0.5
                    else f"OJ L {rng.randint(1, 350)}, {day.day}.{day.month}.{day.year}, p. {page}"
                )
            events.append(
                AgreementEvent(
                    agreement=agreement,
                    kind=kind,
                    date=date,
                    date_precision=precision,
                    official_reference=reference,
                    transition_note=extra if position else "",
                    source=source,
                    status=Status.PUBLISHED,
                )
            )
            previous = day
            day += datetime.timedelta(days=rng.randint(30, 900))
    Agreement.objects.bulk_update(stated, ["stated_status"], batch_size=1000)
    return AgreementEvent.objects.bulk_create(events, batch_size=5000)


def _pledges_followed_through(*, after_pk: int, rng: random.Random, pools, source) -> tuple[int, int]:
    """Pledging conferences for the new pledges (one per 200 pledges), and fulfilment links in
    every state the pages show: pledges with no follow-up (about 40 %, old and recent), pledges
    with commitments (some of those paid in turn), pledges paid directly, commitments shared by
    two pledges, commitments paid; a tenth of the links are drafts and a tenth cite no source
    (the admin's "missing a source"). Links respect the model's rules: a commitment fulfils a
    pledge, a payment a commitment or a pledge, from the same donor scope or a narrower one."""
    rows = FundingRecord.objects.filter(pk__gt=after_pk, slug__startswith=PREFIX, parent__isnull=True)
    by_measure: dict[str, list[tuple[int, str]]] = {}
    for pk, measure, donor in rows.values_list("pk", "measure", "donor").order_by("pk"):
        by_measure.setdefault(measure, []).append((pk, donor))
    pledges = by_measure.get(Measure.PLEDGED, [])
    commitments = by_measure.get(Measure.COMMITTED, []) + by_measure.get(Measure.CONTRACTED, [])
    payments = by_measure.get(Measure.PAID, [])
    if not pledges:
        return 0, 0

    start = PledgingConference.objects.filter(slug__startswith=PREFIX).count()
    conferences = PledgingConference.objects.bulk_create(
        [
            PledgingConference(
                name=f"Synthetic pledging conference {start + i}",
                slug=f"{PREFIX}conference-{start + i}",
                date=datetime.date(rng.randint(2014, 2026), rng.randint(1, 12), 1),
                date_precision="month",
                source=source,
                status=Status.PUBLISHED,
            )
            for i in range(max(len(pledges) // 200, 1))
        ]
    )
    PledgingConference.regions.through.objects.bulk_create(
        [
            PledgingConference.regions.through(
                pledgingconference_id=c.pk, region_id=rng.choice(pools["regions"])
            )
            for c in conferences
        ]
    )
    at_conference = rng.sample(pledges, len(pledges) // 2)
    for conference in conferences:
        chunk = at_conference[: max(len(at_conference) // len(conferences), 1)]
        at_conference = at_conference[len(chunk) :]
        FundingRecord.objects.filter(pk__in=[pk for pk, _donor in chunk]).update(conference=conference)

    def narrower(pool: list[tuple[int, str]], donor: str) -> list[int]:
        return [pk for pk, d in pool if DONOR_BREADTH[d] <= DONOR_BREADTH[donor]]

    pools_by_donor = {
        donor: (narrower(commitments, donor), narrower(payments, donor)) for donor in Donor.values
    }
    links: dict[tuple[int, int], Fulfilment] = {}

    def link(fulfilled: int, fulfilling: int) -> None:
        draw = rng.random()
        links.setdefault(
            (fulfilled, fulfilling),
            Fulfilment(
                fulfilled_id=fulfilled,
                fulfilling_id=fulfilling,
                source=None if draw < 0.1 else source,
                source_passage="" if draw < 0.1 else "Synthetic link between two synthetic figures.",
                status=Status.DRAFT if 0.1 <= draw < 0.2 else Status.PUBLISHED,
            ),
        )

    paid_commitments: list[int] = []
    for pledge, donor in pledges:
        own_commitments, own_payments = pools_by_donor[donor]
        draw = rng.random()
        if draw < 0.4 or not own_commitments:
            continue  # no follow-up reported
        chosen = rng.sample(own_commitments, min(len(own_commitments), rng.randint(1, 2)))
        for commitment in chosen:
            link(pledge, commitment)
            if rng.random() < 0.5:
                paid_commitments.append(commitment)
        if draw > 0.9 and own_payments:  # also paid directly
            link(pledge, rng.choice(own_payments))
    commitment_donor = dict(commitments)
    for commitment in paid_commitments:
        own_payments = pools_by_donor[commitment_donor[commitment]][1]
        if own_payments:
            link(commitment, rng.choice(own_payments))
    Fulfilment.objects.bulk_create(links.values(), batch_size=5000)
    return len(conferences), len(links)


@transaction.atomic
def delete_synthetic() -> int:
    """Delete exactly the synthetic records: they cite the synthetic source and carry its prefix.

    ``_raw_delete`` issues one DELETE per table instead of loading 100 000 objects to send
    delete signals (history has nothing to record for rows that were bulk-created without it).
    """
    source = Source.objects.filter(slug=SYNTHETIC_SLUG).first()
    if source is None:
        return 0
    removed = 0
    funding = FundingRecord.objects.filter(source=source, slug__startswith=PREFIX)
    agreements = Agreement.objects.filter(source=source, slug__startswith=PREFIX)
    documents = Document.objects.filter(source=source, slug__startswith=PREFIX)
    for through, column, records in (
        (FundingRecord.regions.through, "fundingrecord__in", funding),
        (FundingRecord.countries.through, "fundingrecord__in", funding),
        (FundingRecord.themes.through, "fundingrecord__in", funding),
        (Agreement.parties.through, "agreement__in", agreements),
        (Agreement.themes.through, "agreement__in", agreements),
        (Document.regions.through, "document__in", documents),
        (Document.countries.through, "document__in", documents),
        (Document.routes.through, "document__in", documents),
        (Document.themes.through, "document__in", documents),
    ):
        links = through.objects.filter(**{column: records})
        links._raw_delete(links.db)
    events = AgreementEvent.objects.filter(agreement__in=agreements)
    removed += events._raw_delete(events.db)
    fulfilments = Fulfilment.objects.filter(Q(fulfilled__in=funding) | Q(fulfilling__in=funding))
    removed += fulfilments._raw_delete(fulfilments.db)
    conferences = PledgingConference.objects.filter(source=source, slug__startswith=PREFIX)
    FundingRecord.objects.filter(conference__in=conferences).update(conference=None)
    conference_regions = PledgingConference.regions.through.objects.filter(pledgingconference__in=conferences)
    conference_regions._raw_delete(conference_regions.db)
    # Children before their parents (the parent link protects against orphaning).
    while True:
        leaves = funding.exclude(
            pk__in=FundingRecord.objects.filter(parent__isnull=False).values("parent_id")
        )
        deleted = leaves._raw_delete(leaves.db)
        removed += deleted
        if not deleted:
            break
    for qs in (agreements, documents, conferences):
        removed += qs._raw_delete(qs.db)
    if not any(rel.related_model.objects.filter(source=source).exists() for rel in _citing_relations()):
        source.delete()
    return removed


def _citing_relations():
    return [f for f in Source._meta.related_objects if f.field.name == "source"]


class _Null:
    def write(self, *_):
        pass

    def flush(self):
        pass
