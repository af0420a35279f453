"""Money: financing instruments, funding records that nest, pledging conferences."""

from __future__ import annotations

import calendar
import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from migrationsupport.addresses import page_address
from migrationsupport.fulltext import SearchDocumentField
from migrationsupport.models import (
    Amount,
    PartialDatesMixin,
    PublishableModel,
    PublishableQuerySet,
    Source,
    Theme,
    clean_wording,
    partial_date_constraints,
    partial_date_field,
    precision_field,
    published_q,
    qualifier_field,
    run_clean,
    wording_constraint,
    wording_field,
)
from migrationsupport.richtext import RichTextField
from migrationsupport.values import DatePrecision, PartialDate, Qualifier, period_text, reads_columns

if TYPE_CHECKING:
    from migrationsupport.models import Message
from regions.models import Country, Region

from .codes import dac_purpose_name, validate_dac_purpose_code, validate_iati_organisation


class Instrument(PublishableModel):
    """A financing instrument, e.g. NDICI-Global Europe or IPA III."""

    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=40, blank=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = RichTextField(blank=True)
    regions = models.ManyToManyField(Region, blank=True, related_name="instruments")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="instruments")

    PUBLIC_TO_ONE = ("source",)
    PUBLIC_TO_MANY = ("regions",)

    history = HistoricalRecords(m2m_fields=["regions"])

    class Meta:
        permissions = [("publish_instrument", "Can publish and unpublish instrument")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.short_name or self.name

    def get_absolute_url(self) -> str:
        return page_address("funding:instrument-detail", "slug", self.slug)


class PledgingConference(PartialDatesMixin, PublishableModel):
    """A donors' conference, e.g. the eighth Brussels Conference of 27 May 2024."""

    PARTIAL_DATES = ("date",)

    name = models.CharField(max_length=300)
    slug = models.SlugField(max_length=120, unique=True)
    edition = models.PositiveSmallIntegerField(null=True, blank=True, help_text=_("8 for the eighth"))
    date = partial_date_field(_("date"))
    date_precision = precision_field()
    place = models.CharField(max_length=120, blank=True)
    host = models.CharField(max_length=200, blank=True)
    regions = models.ManyToManyField(Region, blank=True, related_name="pledging_conferences")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="pledging_conferences")

    PUBLIC_TO_ONE = ("source",)
    PUBLIC_TO_MANY = ("regions",)

    history = HistoricalRecords(m2m_fields=["regions"])

    class Meta:
        permissions = [("publish_pledgingconference", "Can publish and unpublish pledging conference")]
        ordering = ["-date"]
        constraints = partial_date_constraints("date", "pledgingconference")

    def __str__(self) -> str:
        return self.name

    def clean(self):
        run_clean(self.clean_partial_dates())

    def get_absolute_url(self) -> str:
        return page_address("funding:conference-detail", "slug", self.slug)

    @property
    def date_display(self) -> PartialDate | None:
        return self.partial_date("date")


# How deep funding records may nest (a programme inside a package inside a multi-year total...).
# Totals look this many levels up for an ancestor already counted.
MAX_NESTING_DEPTH = 4
# Slugs the API's funding list uses for its own addresses (/api/v1/funding/totals/): a record
# with one of them could never be read at /api/v1/funding/<slug>/.
RESERVED_SLUGS = ("totals",)


class Donor(models.TextChoices):
    """Who gives the money, narrowest first: each scope contains the ones before it."""

    EUROPEAN_COMMISSION = "european_commission", _("European Commission")
    EU = "eu", _("European Union")
    EU_AND_MEMBER_STATES = "eu_and_member_states", _("EU and its Member States")


# A part's donor scope is its whole's or a narrower one (the Commission's €2.12 billion inside the
# EU and its Member States' almost €6 billion): the position in ``Donor``, narrowest first.
DONOR_BREADTH = {donor: rank for rank, donor in enumerate(Donor.values)}


class Measure(models.TextChoices):
    """What an amount measures; totals never add two different measures (docs/funding-figures.md
    maps them to IATI transaction types and FTS statuses)."""

    MOBILISED = "mobilised", _("Mobilised")
    PLEDGED = "pledged", _("Pledged")
    COMMITTED = "committed", _("Committed / allocated")
    CONTRACTED = "contracted", _("Contracted")
    PAID = "paid", _("Paid")


class FundingKind(models.TextChoices):
    TOTAL = "total", _("Total mobilised or allocated")
    PLEDGE = "pledge", _("Pledge")
    PACKAGE = "package", _("Package")
    PROGRAMME = "programme", _("Programme")
    ALLOCATION = "allocation", _("Allocation")


def months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` months earlier (the month's last day when it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return datetime.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _ended_before(field: str, cutoff: datetime.date) -> Q:
    """A partial date whose whole period ended before ``cutoff``: "March 2024" counts from 31
    March 2024, "2024" from 31 December 2024, never from the first day stored."""
    precision = f"{field}_precision"
    return (
        Q(**{precision: DatePrecision.DAY, f"{field}__lt": cutoff})
        | Q(**{precision: DatePrecision.MONTH, f"{field}__lte": months_before(cutoff, 1)})
        | Q(**{precision: DatePrecision.YEAR, f"{field}__lte": months_before(cutoff, 12)})
    )


class FundingQuerySet(PublishableQuerySet):
    def top_level(self):
        return self.filter(parent__isnull=True)

    def with_follow_up(self):
        """Records that a published link fulfils, directly or through one of their parts."""
        link = Q(fulfilled=OuterRef("pk"))
        path = "fulfilled__parent"
        for _depth in range(MAX_NESTING_DEPTH - 1):
            link |= Q(**{path: OuterRef("pk")})
            path += "__parent"
        return self.filter(Exists(Fulfilment.objects.published().filter(link)))

    def pledges_without_follow_up(self, *, today: datetime.date, months: int = 12):
        """Pledges made more than ``months`` months before ``today`` with no published follow-up.
        A pledge's date is its conference's, else its period's start, counted from the end of
        what is known (a month-only date from the month's last day); undated pledges are left out:
        nothing says how old they are."""
        cutoff = months_before(today, months)
        dated = Q(conference__isnull=False) & _ended_before("conference__date", cutoff)
        dated |= Q(conference__isnull=True, period_start__isnull=False) & _ended_before(
            "period_start", cutoff
        )
        pledges = self.filter(dated, measure=Measure.PLEDGED)
        return pledges.exclude(pk__in=FundingRecord.objects.with_follow_up().values("pk"))


FundingManager = models.Manager.from_queryset(FundingQuerySet)


class FundingRecord(PartialDatesMixin, PublishableModel):
    """An amount of support: a total, a pledge, a package, a programme or an allocation.

    Records nest: the €60 million 2024 package has the €47 million and €13 million programmes as
    children and is itself part of the "more than €350 million since 2021". Totals use
    ``funding.selectors.funding_totals`` so a child is never counted inside its parent twice.
    """

    PARTIAL_DATES = ("period_start", "period_end")

    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=120, unique=True)
    kind = models.CharField(max_length=12, choices=FundingKind.choices, default=FundingKind.ALLOCATION)
    description = RichTextField(blank=True)
    amount = models.DecimalField(
        _("amount (EUR)"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Leave empty when the source names a programme without a figure."),
    )
    qualifier = qualifier_field()
    wording = wording_field()
    measure = models.CharField(
        max_length=10,
        choices=Measure.choices,
        blank=True,
        help_text=_(
            "What the amount measures, from the source's verb: mobilised, pledged, committed "
            "(adopted, allocated, launched), contracted or paid. A part left empty takes its whole's."
        ),
    )
    source_passage = models.TextField(
        _("passage in the source"),
        blank=True,
        help_text=_("The source's exact words this figure is taken from, copied verbatim."),
    )
    may_overlap = models.ManyToManyField(
        "self",
        blank=True,
        symmetrical=True,
        verbose_name=_("may overlap with"),
        help_text=_(
            "Figures of the same measure and donor that the sources do not say are separate from this "
            "one, nor part of it: a total over both gives a range instead of a sum."
        ),
    )
    period_start = partial_date_field(_("period start"), blank=True)
    period_start_precision = precision_field(blank=True)
    period_end = partial_date_field(_("period end"), blank=True)
    period_end_precision = precision_field(blank=True)
    donor = models.CharField(max_length=24, choices=Donor.choices, default=Donor.EU)
    donor_iati_identifier = models.CharField(
        _("donor's IATI organisation identifier"),
        max_length=40,
        blank=True,
        db_default="",  # rows written by older migration states (data migrations) get it too
        validators=[validate_iati_organisation],
        help_text=_(
            "Where a source names the Commission service that gives it: XI-IATI-EC_NEAR for DG NEAR."
        ),
    )
    dac_purpose_code = models.CharField(
        _("OECD DAC purpose code"),
        max_length=5,
        blank=True,
        db_default="",
        validators=[validate_dac_purpose_code],
        help_text=_(
            "5-digit CRS purpose code, e.g. 15190 (facilitation of orderly, safe, regular and responsible "
            "migration and mobility)."
        ),
    )
    implementer = models.CharField(max_length=200, blank=True, help_text=_('e.g. "Frontex"'))
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="funding_records"
    )
    conference = models.ForeignKey(
        PledgingConference, on_delete=models.PROTECT, null=True, blank=True, related_name="pledges"
    )
    regions = models.ManyToManyField(Region, blank=True, related_name="funding_records")
    countries = models.ManyToManyField(Country, blank=True, related_name="funding_records")
    themes = models.ManyToManyField(Theme, blank=True, related_name="funding_records")
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("The larger figure this one is part of."),
    )
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="funding_records")

    PUBLIC_TO_ONE = ("instrument", "source", "parent", "conference")
    PUBLIC_TO_MANY = ("regions", "countries", "themes")

    objects: ClassVar[FundingManager] = FundingQuerySet.as_manager()

    #: The site search's weighted document (title A; description and implementer B), kept by a
    #: trigger (migration 0016, ``migrationsupport.fulltext``).
    search_document = SearchDocumentField()

    history = HistoricalRecords(
        m2m_fields=["regions", "countries", "themes", "may_overlap"], excluded_fields=["search_document"]
    )

    class Meta:
        permissions = [("publish_fundingrecord", "Can publish and unpublish funding record")]
        ordering = ["-period_start", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0) | Q(amount__isnull=True), name="funding_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(period_end__isnull=True)
                | Q(period_start__isnull=True)
                | Q(period_end__gte=F("period_start")),
                name="funding_period_end_after_start",
            ),
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="funding_not_own_parent"),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | ~Q(measure=""), name="funding_amount_has_measure"
            ),
            wording_constraint("funding"),
            *partial_date_constraints("period_start", "funding"),
            *partial_date_constraints("period_end", "funding"),
        ]
        indexes = [
            models.Index(fields=["status", "parent"], name="funding_status_parent_idx"),
            # The sitemap's last change of the published records (``MAX(updated_at)``): one index
            # read, not a scan of every record.
            models.Index(fields=["status", "updated_at"], name="funding_status_updated_idx"),
            # The explorer's (and its CSV's and the API's) order: latest period, largest amount.
            models.Index(
                F("period_start").desc(nulls_last=True),
                F("amount").desc(nulls_last=True),
                "title",
                "id",
                name="funding_latest_first_idx",
            ),
            # Largest first (region, country and instrument pages) and the amount range filter.
            models.Index(F("amount").desc(nulls_last=True), "title", "id", name="funding_largest_first_idx"),
            # Search by a country's name: the first of its linked records by title.
            models.Index(fields=["title", "id"], name="funding_title_idx"),
            # The year filters: a period that ends in or after a year.
            models.Index(fields=["period_end"], name="funding_period_end_idx"),
            # Full-text search (``ms_english``: english with unaccent, migrationsupport's 0004).
            GinIndex(fields=["search_document"], name="funding_search_idx"),
            # Search's "did you mean" (``UPPER(title) <% query``) and the admin's title search.
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="funding_title_trgm_idx"),
            # The admin's search, which also matches the slug and the implementer.
            GinIndex(OpClass(Upper("slug"), name="gin_trgm_ops"), name="funding_slug_trgm_idx"),
            GinIndex(OpClass(Upper("implementer"), name="gin_trgm_ops"), name="funding_implementer_trgm_idx"),
            # The API's ``?search=``, which matches the title, the description and the implementer:
            # without this one, every record's description was read (226 ms at +100 000 records).
            GinIndex(OpClass(Upper("description"), name="gin_trgm_ops"), name="funding_description_trgm_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.amount_display or 'no figure'})"

    def get_absolute_url(self) -> str:
        return page_address("funding:record-detail", "slug", self.slug)

    @property
    @reads_columns("amount", "qualifier", "wording")
    def amount_display(self) -> Amount | None:
        if self.amount is None:
            return None
        return Amount(self.amount, self.qualifier, self.wording)

    @property
    @reads_columns("period_start", "period_start_precision", "period_end", "period_end_precision")
    def period_display(self) -> str:
        return period_text(
            self.period_start, self.period_start_precision, self.period_end, self.period_end_precision
        )

    @property
    @reads_columns("dac_purpose_code")
    def dac_purpose_name(self) -> str | None:
        return dac_purpose_name(self.dac_purpose_code)

    def ancestors(self):
        """Parent, grandparent... (bounded, so a cycle written around validation cannot hang)."""
        node, seen = self.parent, 0
        while node is not None and seen <= MAX_NESTING_DEPTH:
            yield node
            node, seen = node.parent, seen + 1

    def inherit_from_whole(self) -> None:
        """A part that states no measure measures what its whole measures (the whole may be
        unsaved yet: a part added inline with a new record)."""
        if self.measure or (self.parent_id is None and not FundingRecord.parent.is_cached(self)):
            return
        if self.parent is not None:
            self.measure = self.parent.measure

    def save(self, *args, **kwargs):
        self.inherit_from_whole()  # every path: admin, inlines, API, imports
        super().save(*args, **kwargs)

    @property
    @reads_columns("period_start", "period_start_precision", "period_end", "period_end_precision")
    def period_kind(self) -> str:
        """ "point" for a moment ("adopted in 2024", "launched in June 2023": start and end the
        same), "range" for a span ("since 2021", "for 2024 and 2025"), "" without a period."""
        if self.period_start is None and self.period_end is None:
            return ""
        same = (self.period_start, self.period_start_precision) == (
            self.period_end,
            self.period_end_precision,
        )
        return "point" if same else "range"

    def descendant_ids(self) -> set[int]:
        """Its parts, their parts... (as deep as records may nest): one query per level."""
        found: set[int] = set()
        level = {self.pk} if self.pk is not None else set()
        for _depth in range(MAX_NESTING_DEPTH):
            level = (
                set(FundingRecord.objects.filter(parent_id__in=level).values_list("pk", flat=True)) - found
            )
            if not level:
                break
            found |= level
        return found

    def clean(self):
        self.inherit_from_whole()
        errors = {**self.clean_partial_dates(), **clean_wording(self.qualifier, self.wording)}
        if self.slug in RESERVED_SLUGS:
            errors["slug"] = _(
                "“%(slug)s” is reserved for the API's own funding/%(slug)s/ address: choose another slug."
            ) % {"slug": self.slug}
        if self.amount is not None and self.amount < 0:
            errors["amount"] = _("An amount cannot be negative.")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            errors["period_end"] = _("The period cannot end before it starts.")
        if self.parent_id is not None:
            errors.update(self._clean_nesting())
        if self.amount is not None and not self.measure and "measure" not in errors:
            errors["measure"] = _("Say what the amount measures (the source's verb: mobilised, pledged...).")
        if self.pk is not None and not ({"measure", "donor"} & errors.keys()):
            errors.update(self._clean_fulfilment_links())
        if self.pk is not None and self.amount is not None and "amount" not in errors:
            children = self.children.aggregate(total=Sum("amount"))["total"]
            if children is not None and children > self.amount and self.qualifier != Qualifier.MORE_THAN:
                errors["amount"] = _("Its parts already add up to €%(sum)s, more than this amount.") % {
                    "sum": children
                }
        run_clean(errors)

    def _clean_fulfilment_links(self) -> dict[str, Message]:
        """A changed measure or donor must keep every fulfilment link valid (a pledge turned into a
        commitment cannot still be fulfilled by a commitment). One query, on saved records only."""
        problems: list[str] = []
        links = Fulfilment.objects.filter(Q(fulfilled=self) | Q(fulfilling=self))
        for link in links.select_related("fulfilled", "fulfilling"):
            if link.fulfilled_id == self.pk:
                problems.extend(str(m) for m in fulfilment_errors(self, link.fulfilling).values())
            else:
                problems.extend(str(m) for m in fulfilment_errors(link.fulfilled, self).values())
        if not problems:
            return {}
        return {
            "measure": _("Its fulfilment links would no longer hold: %(problems)s Remove them first.")
            % {"problems": " ".join(problems)}
        }

    def _clean_nesting(self) -> dict[str, Message]:
        """A part is consistent with its whole: no cycle, not too deep, the same measure (an
        empty one is taken from the whole), the whole's donor or a narrower one, and not larger
        than a whole whose amount is not a lower bound."""
        parent = self.parent
        if parent is None:
            return {}
        chain = [parent, *parent.ancestors()]
        if self.pk is not None and any(a.pk == self.pk for a in chain):
            return {"parent": _("A funding record cannot be part of itself.")}
        if len(chain) >= MAX_NESTING_DEPTH:
            return {"parent": _("Funding records nest at most %(n)s levels deep.") % {"n": MAX_NESTING_DEPTH}}
        errors: dict[str, Message] = {}
        self.inherit_from_whole()
        if parent.measure and self.measure != parent.measure:
            errors["measure"] = _("A part measures what its whole measures: “%(parent)s” is %(measure)s.") % {
                "parent": parent.title,
                "measure": parent.get_measure_display().lower(),
            }
        if DONOR_BREADTH.get(self.donor, 0) > DONOR_BREADTH.get(parent.donor, 0):
            errors["donor"] = _(
                "A part cannot have a wider donor than its whole: “%(parent)s” is given by %(donor)s."
            ) % {"parent": parent.title, "donor": parent.get_donor_display()}
        if parent.amount is not None and self.amount is not None and parent.qualifier != Qualifier.MORE_THAN:
            siblings = FundingRecord.objects.filter(parent_id=self.parent_id).exclude(pk=self.pk).aggregate(
                total=Sum("amount")
            )["total"] or Decimal(0)
            if siblings + self.amount > parent.amount:
                errors["amount"] = _(
                    "The parts of “%(parent)s” would add up to €%(sum)s, more than its €%(total)s."
                ) % {"parent": parent.title, "sum": siblings + self.amount, "total": parent.amount}
        return errors

    def clean_may_overlap(self, others) -> None:
        """Raise a field error unless each of ``others`` can overlap this record: not itself, not
        one of its wholes or parts (already counted once), and of the same measure and donor."""
        others = list(others)
        if not others:
            return
        related = {a.pk for a in self.ancestors()} | (self.descendant_ids() if self.pk else set())
        problems: list[Message] = []
        for other in others:
            if self.pk is not None and other.pk == self.pk:
                problems.append(_("A figure cannot overlap itself."))
            elif other.pk in related:
                problems.append(
                    _("“%(other)s” is already its whole or one of its parts: it is never counted twice.")
                    % {"other": other.title}
                )
            elif other.measure != self.measure or other.donor != self.donor:
                problems.append(
                    _(
                        "“%(other)s” has another measure or donor: figures of different measures or "
                        "donors are never added up, so they cannot overlap in a total."
                    )
                    % {"other": other.title}
                )
        if problems:
            raise ValidationError({"may_overlap": problems})


# Which measure follows which: a commitment (or a contract) fulfils a pledge; a payment fulfils a
# commitment, a contract or a pledge. Links always point from a later stage to an earlier one, so
# they can never form a cycle; and a part has its whole's measure, so a link never joins a record
# to its own whole or part.
FULFILS = {
    Measure.COMMITTED: (Measure.PLEDGED,),
    Measure.CONTRACTED: (Measure.PLEDGED,),
    Measure.PAID: (Measure.PLEDGED, Measure.COMMITTED, Measure.CONTRACTED),
}


class FulfilmentQuerySet(PublishableQuerySet):
    def published(self):
        """A link is public when it is published and so are both records it joins."""
        return super().published().filter(published_q("fulfilled"), published_q("fulfilling"))


FulfilmentManager = models.Manager.from_queryset(FulfilmentQuerySet)


class Fulfilment(PublishableModel):
    """A commitment or payment that fulfils (part of) a pledge, or a payment that fulfils a
    commitment: what FTS and the EU Trust Fund pages show side by side without linking.

    Not nesting: the two records measure different things (a part measures what its whole
    measures), so neither is ever added to the other; ``funding.selectors.follow_through`` gives
    pledged, committed and paid separately. The whole record fulfils: what fulfils a part of a
    pledge fulfils the pledge, and a commitment's parts are inside it.
    """

    fulfilled = models.ForeignKey(
        "FundingRecord",
        on_delete=models.CASCADE,
        related_name="fulfilled_by",
        verbose_name=_("pledge or commitment fulfilled"),
    )
    fulfilling = models.ForeignKey(
        "FundingRecord",
        on_delete=models.CASCADE,
        related_name="fulfils",
        verbose_name=_("commitment or payment"),
        help_text=_("A commitment (or contract) fulfilling a pledge, or a payment fulfilling either."),
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fulfilments",
        help_text=_("Where the link is stated (a decision citing the pledge, an FTS flow...)."),
    )
    source_passage = models.TextField(
        _("passage in the source"),
        blank=True,
        help_text=_("The source's exact words that tie the two figures together."),
    )

    PUBLIC_TO_ONE = ("source", "fulfilled", "fulfilling")
    PAGE_OWNER = "fulfilled"
    ADDRESS_COLUMNS = ()

    objects: ClassVar[FulfilmentManager] = FulfilmentQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        permissions = [("publish_fulfilment", "Can publish and unpublish fulfilment")]
        ordering = ["fulfilled", "fulfilling"]
        constraints = [
            models.UniqueConstraint(fields=["fulfilled", "fulfilling"], name="fulfilment_unique_pair"),
            models.CheckConstraint(condition=~Q(fulfilled=F("fulfilling")), name="fulfilment_not_itself"),
        ]
        indexes = [models.Index(fields=["fulfilling", "status"], name="fulfilment_fulfilling_idx")]

    def __str__(self) -> str:
        return f"{self.fulfilling.title} fulfils {self.fulfilled.title}"

    def get_absolute_url(self) -> str:
        return self.fulfilled.get_absolute_url() + "#follow-through"

    def clean(self):
        # In an inline the record on the other side may be new, hence read from the relation.
        fulfilled, fulfilling = self._related_or_none("fulfilled"), self._related_or_none("fulfilling")
        if fulfilled is not None and fulfilling is not None:
            run_clean(fulfilment_errors(fulfilled, fulfilling))

    def _related_or_none(self, name: str) -> FundingRecord | None:
        try:
            return getattr(self, name)
        except ObjectDoesNotExist:
            return None


def fulfilment_errors(fulfilled: FundingRecord, fulfilling: FundingRecord) -> dict[str, Message]:
    """Why ``fulfilling`` cannot fulfil ``fulfilled`` (empty if it can): a commitment fulfils a
    pledge, a payment a commitment or a pledge; from the same donor scope or a narrower one."""
    if fulfilled.pk is not None and fulfilled.pk == fulfilling.pk:
        return {"fulfilling": _("A figure cannot fulfil itself.")}
    allowed = FULFILS.get(fulfilling.measure)  # type: ignore[call-overload]
    if not allowed:
        return {
            "fulfilling": _(
                "“%(record)s” is %(measure)s: only a commitment, a contract or a payment fulfils "
                "another figure."
            )
            % {
                "record": fulfilling.title,
                "measure": fulfilling.get_measure_display().lower() or "without measure",
            }
        }
    if fulfilled.measure not in allowed:
        return {
            "fulfilled": _("A %(measure)s figure fulfils a figure that is %(allowed)s, not %(other)s.")
            % {
                "measure": fulfilling.get_measure_display().lower(),
                "allowed": _(" or ").join(str(Measure(m).label).lower() for m in allowed),
                "other": fulfilled.get_measure_display().lower() or "without measure",
            }
        }
    if DONOR_BREADTH.get(fulfilling.donor, 0) > DONOR_BREADTH.get(fulfilled.donor, 0):
        return {
            "fulfilling": _(
                "“%(record)s” is given by %(donor)s, a wider donor than %(other)s, who made “%(fulfilled)s”."
            )
            % {
                "record": fulfilling.title,
                "donor": fulfilling.get_donor_display(),
                "other": fulfilled.get_donor_display(),
                "fulfilled": fulfilled.title,
            }
        }
    return {}


class FundingTotalsRow(models.Model):
    """One row of the totals of a stored set of funding records (``FundingTotalsSet``), as
    ``funding.selectors`` computes them, in one grouping (``""`` for the overall totals):
    ``funding.rollup`` rebuilds the table after funding records change, so the totals of every
    published record, and of the large sets the explorer's and the API's filters select, are read,
    not computed, on each request (docs/performance.md, "precomputed totals")."""

    DERIVED = True  # a stored computation, not a record: no admin, no fixtures, no history

    totals_set = models.CharField(max_length=64)  # FundingTotalsSet.key
    grouping = models.CharField(max_length=12, blank=True)
    row_kind = models.CharField(max_length=8)
    group_key = models.TextField(blank=True)
    measure = models.CharField(max_length=10)
    donor = models.CharField(max_length=24)
    # NULL, not "", where the computed row has none: the rows are stored exactly as computed.
    part_donor = models.CharField(max_length=24, null=True)  # noqa: DJ001
    amount = models.DecimalField(max_digits=24, decimal_places=2, null=True)
    records = models.BigIntegerField()
    more_than = models.BigIntegerField()
    almost = models.BigIntegerField()
    about = models.BigIntegerField()
    record_id = models.BigIntegerField(null=True)
    partner_id = models.BigIntegerField(null=True)
    qualifier = models.CharField(max_length=10, null=True)  # noqa: DJ001

    class Meta:
        indexes = [models.Index(fields=["totals_set", "grouping"], name="funding_totals_set_idx")]

    def __str__(self) -> str:
        return f"{self.grouping or 'overall'} {self.row_kind} {self.group_key} {self.measure} {self.donor}"


class FundingRangeTotalsRow(models.Model):
    """The totals of every set one range filter selects over the published records
    (``amount_min``, ``amount_max``, ``year_min``, ``year_max``), whatever its value, overall and
    in the explorer chart's groupings, as sums over thresholds (``funding.ranges``): a record
    counts in a row kind for the thresholds of an interval, and a row holds, for one grouping,
    row kind, group, measure, donor and part donor, the sum over the records whose interval ends
    (``side`` "hi") or starts (``side`` "lo") at ``bound`` or above."""

    DERIVED = True

    dimension = models.CharField(max_length=12)
    grouping = models.CharField(max_length=12, blank=True)
    row_kind = models.CharField(max_length=8)
    group_key = models.TextField(blank=True)
    measure = models.CharField(max_length=10)
    donor = models.CharField(max_length=24)
    part_donor = models.CharField(max_length=24, blank=True)
    side = models.CharField(max_length=2)
    # The threshold in the filter's own order, negated for an upper bound (``amount_max``,
    # ``year_max``): a record is in the set when its value is at least the threshold.
    bound = models.DecimalField(max_digits=24, decimal_places=2)
    # The highest bound of its (dimension, grouping, row kind, group, measure, donor, part donor,
    # side): the sums of every record, and the list of what to look up for a threshold.
    top = models.BooleanField()
    amount = models.DecimalField(max_digits=24, decimal_places=2)
    records = models.BigIntegerField()
    more_than = models.BigIntegerField()
    almost = models.BigIntegerField()
    about = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=[
                    "dimension",
                    "grouping",
                    "row_kind",
                    "group_key",
                    "measure",
                    "donor",
                    "part_donor",
                    "side",
                    "bound",
                ],
                name="funding_range_bound_idx",
            ),
            models.Index(
                fields=["dimension", "grouping"], condition=models.Q(top=True), name="funding_range_top_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dimension} {self.row_kind} {self.measure} {self.donor} {self.side} {self.bound}"


class FundingTotalsSet(models.Model):
    """A set of records whose totals are stored in ``grouping``: ``key`` is the fingerprint of the
    SQL (with its parameters) that selects the set's ids, so a request's set is read from here only
    if it is exactly this one (``funding.rollup.fingerprint``); ``name`` says which set it is to a
    person ("published", "region=western-balkans"). A set with no row here is computed."""

    DERIVED = True

    key = models.CharField(max_length=64)
    grouping = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=200)
    # How many records the set holds (the same on each of its groupings' rows): a list's count of
    # this set is read from here (``funding.rollup.count``), not counted. None: not stored.
    size = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "grouping"], name="funding_totals_set_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.grouping or 'overall'}"


class FundingTotalsAnswer(models.Model):
    """The API's answer for the totals of a stored set in one grouping
    (``/api/v1/funding/totals/?group_by=…``, JSON), finished, as the endpoint writes it: stored by
    ``funding.rollup``'s rebuild beside the set's rows, and served while those rows are current and
    ``fingerprint`` still matches (the code that writes the answer, and the name and identifier of
    every published region, country, key area or instrument an answer may name). Writing 1 380
    groups by country from the rows took 45 ms a request at +100 000 records."""

    DERIVED = True

    totals_set = models.CharField(max_length=64)  # FundingTotalsSet.key
    grouping = models.CharField(max_length=12)
    fingerprint = models.CharField(max_length=32)
    body = models.TextField()  # JSON (text: bytea would travel hex-encoded, twice the size)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["totals_set", "grouping"], name="funding_totals_answer_unique"),
        ]

    def __str__(self) -> str:
        return f"answer {self.totals_set[:12]} by {self.grouping}"


class FundingFollowThroughStored(models.Model):
    """The follow-through of a large set of pledges (``funding.selectors.follow_through``), as it
    computes it, stored by ``funding.rollup``'s rebuild under the fingerprint of the SQL that
    selects the set (``key``), and read under the same conditions as the stored totals (no change
    row left, same ``DEFINITION``). ``value``: the figures as JSON, the sources by id (whether each
    is published is read with the answer)."""

    DERIVED = True

    key = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    value = models.TextField()

    def __str__(self) -> str:
        return f"follow-through of {self.name}"


class FundingTotalsChange(models.Model):
    """A write the stored totals do not include yet: a database trigger adds one row for every
    statement that writes funding records or their regions, countries, key areas or overlap marks,
    or regions (the region filter reads their tree: ``funding.rollup.WATCHED_TABLES``), by any
    path (admin, API, imports, ``update()``, cascades, raw SQL), in the writing transaction.
    A rebuild deletes the rows it has seen; while any is left the stored totals are not read.
    Rows are only ever inserted by writers, so concurrent writers never wait for each other.

    ``follow_only``: a write to the fulfilment links or the conferences, which only the stored
    follow-through reads (``funding.rollup.FOLLOW_TABLES``): the stored totals stay current, and a
    rebuild stores the follow-through alone again."""

    DERIVED = True

    follow_only = models.BooleanField(default=False, db_default=False)

    def __str__(self) -> str:
        return f"change {self.pk}"


class FundingTotalsState(models.Model):
    """``definition``: a fingerprint of the totals query and groupings the stored rows were built
    with; rows built by another version of the code are stale (``funding.rollup.DEFINITION``).
    ``filtered``: the same fingerprint, once the filtered sets are stored too (a save without a
    task queue stores only every published record's totals: ``funding.rollup.rebuild_published``).
    ``generation``: a random number each rebuild changes, naming the data the in-memory snapshots
    of the records were read from (``funding.snapshot``)."""

    DERIVED = True

    name = models.CharField(max_length=12, primary_key=True)
    value = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"
