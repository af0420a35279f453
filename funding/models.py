"""Money: financing instruments, funding records that nest, pledging conferences."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import F, Q, Sum
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

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
    qualifier_field,
    run_clean,
    wording_constraint,
    wording_field,
)
from migrationsupport.richtext import RichTextField
from migrationsupport.values import PartialDate, format_period
from regions.models import Country, Region


class Instrument(PublishableModel):
    """A financing instrument, e.g. NDICI-Global Europe or IPA III."""

    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=40, blank=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = RichTextField(blank=True)
    regions = models.ManyToManyField(Region, blank=True, related_name="instruments")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="instruments")

    history = HistoricalRecords(m2m_fields=["regions"])

    class Meta:
        permissions = [("publish_instrument", "Can publish and unpublish instrument")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.short_name or self.name

    def get_absolute_url(self) -> str:
        return reverse("funding:instrument-detail", kwargs={"slug": self.slug})


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
        return reverse("funding:conference-detail", kwargs={"slug": self.slug})

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
    EUROPEAN_COMMISSION = "european_commission", _("European Commission")
    EU = "eu", _("European Union")
    EU_AND_MEMBER_STATES = "eu_and_member_states", _("EU and its Member States")


class FundingKind(models.TextChoices):
    TOTAL = "total", _("Total mobilised or allocated")
    PLEDGE = "pledge", _("Pledge")
    PACKAGE = "package", _("Package")
    PROGRAMME = "programme", _("Programme")
    ALLOCATION = "allocation", _("Allocation")


class FundingQuerySet(PublishableQuerySet):
    def top_level(self):
        return self.filter(parent__isnull=True)

    def for_listing(self):
        return self.select_related("instrument", "source", "parent", "conference").prefetch_related(
            "regions", "countries", "themes"
        )


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
    period_start = partial_date_field(_("period start"), blank=True)
    period_start_precision = precision_field(blank=True)
    period_end = partial_date_field(_("period end"), blank=True)
    period_end_precision = precision_field(blank=True)
    donor = models.CharField(max_length=24, choices=Donor.choices, default=Donor.EU)
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

    objects = FundingQuerySet.as_manager()

    history = HistoricalRecords(m2m_fields=["regions", "countries", "themes"])

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
            wording_constraint("funding"),
            *partial_date_constraints("period_start", "funding"),
            *partial_date_constraints("period_end", "funding"),
        ]
        indexes = [
            models.Index(fields=["status", "parent"], name="funding_status_parent_idx"),
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
            # The year filters: a period that ends in or after a year.
            models.Index(fields=["period_end"], name="funding_period_end_idx"),
            # Full-text search: the same vector migrationsupport.search builds for funding records.
            GinIndex(
                SearchVector("title", weight="A", config="english")
                + SearchVector("description", "implementer", weight="B", config="english"),
                name="funding_search_idx",
            ),
            # Search's partial-word match on the title (``title__icontains`` is UPPER(title) LIKE).
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="funding_title_trgm_idx"),
            # The admin's search, which also matches the slug and the implementer.
            GinIndex(OpClass(Upper("slug"), name="gin_trgm_ops"), name="funding_slug_trgm_idx"),
            GinIndex(OpClass(Upper("implementer"), name="gin_trgm_ops"), name="funding_implementer_trgm_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.amount_display or 'no figure'})"

    def get_absolute_url(self) -> str:
        return reverse("funding:record-detail", kwargs={"slug": self.slug})

    @property
    def amount_display(self) -> Amount | None:
        if self.amount is None:
            return None
        return Amount(self.amount, self.qualifier, self.wording)

    @property
    def period_display(self) -> str:
        return format_period(self.partial_date("period_start"), self.partial_date("period_end"))

    def ancestors(self):
        """Parent, grandparent... (bounded, so a cycle written around validation cannot hang)."""
        node, seen = self.parent, 0
        while node is not None and seen <= MAX_NESTING_DEPTH:
            yield node
            node, seen = node.parent, seen + 1

    def clean(self):
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
            chain = [self.parent, *self.parent.ancestors()]
            if self.pk is not None and any(a.pk == self.pk for a in chain):
                errors["parent"] = _("A funding record cannot be part of itself.")
            elif len(chain) >= MAX_NESTING_DEPTH:
                errors["parent"] = _("Funding records nest at most %(n)s levels deep.") % {
                    "n": MAX_NESTING_DEPTH
                }
            elif self.parent.amount is not None and self.amount is not None:
                siblings = FundingRecord.objects.filter(parent_id=self.parent_id).exclude(
                    pk=self.pk
                ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
                if self.parent.qualifier != "more_than" and siblings + self.amount > self.parent.amount:
                    errors["amount"] = _(
                        "The parts of “%(parent)s” would add up to €%(sum)s, more than its €%(total)s."
                    ) % {
                        "parent": self.parent.title,
                        "sum": siblings + self.amount,
                        "total": self.parent.amount,
                    }
        if self.pk is not None and self.amount is not None:
            children = self.children.aggregate(total=Sum("amount"))["total"]
            if children is not None and children > self.amount and self.qualifier != "more_than":
                errors["amount"] = _("Its parts already add up to €%(sum)s, more than this amount.") % {
                    "sum": children
                }
        run_clean(errors)
