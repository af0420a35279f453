"""Geography: regions and sub-regions, partner countries, migratory routes, hosted populations."""

from __future__ import annotations

import re
from functools import cached_property
from typing import ClassVar

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from migrationsupport.addresses import page_address
from migrationsupport.models import (
    PartialDatesMixin,
    PublishableModel,
    PublishableQuerySet,
    Quantity,
    Source,
    clean_wording,
    partial_date_constraints,
    partial_date_field,
    precision_field,
    published_related,
    qualifier_field,
    run_clean,
    wording_constraint,
    wording_field,
)
from migrationsupport.richtext import RichTextField

from .codes import CountryCodes, country_codes

#: What follows a sentence that announces a list the source does not give ("... two main financing
#: instruments:"), so no page ends a paragraph in a bare colon and no list is invented.
LIST_NOT_GIVEN = "(the source does not list them)"
# A paragraph that ends in a colon with no list after it.
_BARE_COLON = re.compile(r":\s*</p>(?!\s*<[ou]l\b)")


def has_bare_colon(html: str) -> bool:
    return bool(_BARE_COLON.search(html or ""))


class RegionQuerySet(PublishableQuerySet):
    def top_level(self):
        return self.filter(parent__isnull=True)


RegionManager = models.Manager.from_queryset(RegionQuerySet)


class Region(PublishableModel):
    """A region of the EU's neighbourhood, or a sub-region of one (North Africa, Türkiye...)."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subregions",
        help_text=_("The region this is a sub-region of, if any."),
    )
    summary = models.CharField(max_length=300, blank=True)
    body = RichTextField(blank=True, help_text=_("The region's text on the overview page."))
    order = models.PositiveSmallIntegerField(default=0)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="regions")

    PUBLIC_TO_ONE = ("parent", "source")

    objects: ClassVar[RegionManager] = RegionQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        permissions = [("publish_region", "Can publish and unpublish region")]
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if has_bare_colon(self.body):
            errors["body"] = _(
                "A paragraph ends with a colon but no list follows it. Add the list (with its source) "
                "after it, or end the sentence with “%(note)s”."
            ) % {"note": LIST_NOT_GIVEN}
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.pk == self.pk:
                errors["parent"] = _("A region cannot be inside itself.")
                break
            ancestor = ancestor.parent
        run_clean(errors)

    def get_absolute_url(self) -> str:
        return page_address("region-detail", "slug", self.slug)


# A status is "not stated" unless a source states it: the country's ``source`` is the one cited
# next to it on every page, so an officer who records a status also records where it comes from.
class CandidateStatus(models.TextChoices):
    NOT_STATED = "not_stated", _("Not stated")
    NONE = "none", _("Not a candidate")
    POTENTIAL = "potential", _("Potential candidate")
    CANDIDATE = "candidate", _("Candidate country")


class CooperationStatus(models.TextChoices):
    NOT_STATED = "not_stated", _("Not stated")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


iso_alpha2 = RegexValidator(r"^[A-Z]{2}$", _("Enter a two-letter ISO 3166-1 alpha-2 code, e.g. TR."))


class Country(PartialDatesMixin, PublishableModel):
    """A partner country (or a country of origin named by a figure), keyed by its ISO code."""

    PARTIAL_DATES = ("eastern_partnership_left", "cooperation_suspended_since")
    ADDRESS_COLUMNS = ("iso_code",)

    name = models.CharField(max_length=120, unique=True)
    iso_code = models.CharField(
        _("ISO 3166-1 alpha-2 code"), max_length=2, unique=True, validators=[iso_alpha2]
    )
    slug = models.SlugField(max_length=120, unique=True)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="countries",
        help_text=_("Leave empty for a country named only as a country of origin."),
    )
    candidate_status = models.CharField(
        max_length=10,
        choices=CandidateStatus.choices,
        default=CandidateStatus.NOT_STATED,
        help_text=_("Only as a source states it: the country's source is cited next to it."),
    )
    eastern_partnership_member = models.BooleanField(
        _("Eastern Partnership member"),
        default=False,
        help_text=_("Was ever part of the Eastern Partnership; see the date it withdrew, if any."),
    )
    eastern_partnership_left = partial_date_field(_("withdrew from the Eastern Partnership"), blank=True)
    eastern_partnership_left_precision = precision_field(blank=True)
    cooperation_status = models.CharField(
        max_length=10,
        choices=CooperationStatus.choices,
        default=CooperationStatus.NOT_STATED,
        help_text=_("Only as a source states it: the country's source is cited next to it."),
    )
    cooperation_suspended_since = partial_date_field(_("cooperation suspended since"), blank=True)
    cooperation_suspended_since_precision = precision_field(blank=True)
    cooperation_note = RichTextField(
        blank=True, help_text=_("Shown as a footnote wherever the country appears.")
    )
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="countries")

    PUBLIC_TO_ONE = ("region", "region__parent", "source")

    history = HistoricalRecords()

    class Meta:
        permissions = [("publish_country", "Can publish and unpublish country")]
        ordering = ["name"]
        verbose_name_plural = "countries"
        constraints = [
            models.CheckConstraint(
                condition=Q(iso_code__regex=r"^[A-Z]{2}$"), name="country_iso_code_format"
            ),
            models.CheckConstraint(
                condition=Q(eastern_partnership_left__isnull=True) | Q(eastern_partnership_member=True),
                name="country_left_eap_only_if_member",
            ),
            models.CheckConstraint(
                condition=Q(cooperation_suspended_since__isnull=True)
                | Q(cooperation_status=CooperationStatus.SUSPENDED),
                name="country_suspended_since_only_if_suspended",
            ),
            *partial_date_constraints("eastern_partnership_left", "country"),
            *partial_date_constraints("cooperation_suspended_since", "country"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = self.clean_partial_dates()
        if self.eastern_partnership_left and not self.eastern_partnership_member:
            errors["eastern_partnership_left"] = _(
                "Only a member of the Eastern Partnership can withdraw from it."
            )
        if self.cooperation_suspended_since and self.cooperation_status != CooperationStatus.SUSPENDED:
            errors["cooperation_suspended_since"] = _(
                "Set the cooperation status to suspended, or clear this date."
            )
        run_clean(errors)

    def get_absolute_url(self) -> str:
        return page_address("country-detail", "iso_code", self.iso_code.lower())

    @property
    def codes(self) -> CountryCodes:
        """ISO 3166-1 alpha-3 and numeric codes and UN M49 regions, from the libraries (regions.codes)."""
        return country_codes(self.iso_code)

    @property
    def candidate_status_stated(self) -> bool:
        return self.candidate_status != CandidateStatus.NOT_STATED

    @property
    def cooperation_status_stated(self) -> bool:
        return self.cooperation_status != CooperationStatus.NOT_STATED

    @property
    def is_eastern_partnership_participant(self) -> bool:
        return self.eastern_partnership_member and self.eastern_partnership_left is None


class Route(PublishableModel):
    """A main migratory route along which the EU works with countries of origin and transit."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = RichTextField(blank=True)
    regions = models.ManyToManyField(Region, blank=True, related_name="routes")
    countries = models.ManyToManyField(Country, blank=True, related_name="routes")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="routes")

    PUBLIC_TO_ONE = ("source",)
    PUBLIC_TO_MANY = ("regions",)

    history = HistoricalRecords(m2m_fields=["regions", "countries"])

    class Meta:
        permissions = [("publish_route", "Can publish and unpublish route")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return page_address("route-detail", "slug", self.slug)


class RouteFigure(PartialDatesMixin, PublishableModel):
    """A figure about a route, e.g. a 70% decrease of irregular border crossings in 2024."""

    PARTIAL_DATES = ("period",)

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="figures")
    slug = models.SlugField(max_length=120, unique=True)
    label = models.CharField(max_length=200, help_text=_('e.g. "decrease of irregular border crossings"'))
    percent = models.DecimalField(max_digits=6, decimal_places=2)
    period = partial_date_field(_("period"))
    period_precision = precision_field()
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="route_figures")

    PUBLIC_TO_ONE = ("source",)

    PAGE_OWNER = "route"

    history = HistoricalRecords()

    class Meta:
        permissions = [("publish_routefigure", "Can publish and unpublish route figure")]
        ordering = ["route", "-period"]
        constraints = [
            models.CheckConstraint(condition=Q(percent__gte=0), name="routefigure_percent_not_negative"),
            *partial_date_constraints("period", "routefigure"),
        ]

    def __str__(self) -> str:
        return f"{self.route}: {self.label} ({self.period_display})"

    def clean(self):
        run_clean(self.clean_partial_dates())

    @property
    def value_display(self) -> str:
        """The figure as a person writes it: "70% decrease of irregular border crossings"."""
        return f"{format(self.percent.normalize(), 'f')}% {self.label}"

    def get_absolute_url(self) -> str:
        return self.route.get_absolute_url() + f"#{self.slug}"

    @property
    def period_display(self):
        return self.partial_date("period")


class PopulationFigure(PartialDatesMixin, PublishableModel):
    """People a country hosts: "around 3.1 million" refugees from Syria in Türkiye."""

    PARTIAL_DATES = ("since", "as_of")

    slug = models.SlugField(max_length=120, unique=True)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="population_figures")
    group = models.CharField(max_length=200, help_text=_('e.g. "refugees from Syria"'))
    description = RichTextField(blank=True, help_text=_("The source's words around the figure."))
    value = models.DecimalField(max_digits=12, decimal_places=0)
    qualifier = qualifier_field()
    wording = wording_field()
    origins = models.ManyToManyField(Country, blank=True, related_name="origin_of_population_figures")
    origins_non_exhaustive = models.BooleanField(
        _("origins are examples"),
        default=False,
        help_text=_(
            'The source says "including ...": the origins listed are some of them, not all. '
            'Pages then read "including Iraq, Afghanistan, Iran and Somalia".'
        ),
    )
    since = partial_date_field(_("since"), blank=True)
    since_precision = precision_field(blank=True)
    as_of = partial_date_field(_("as of"), blank=True)
    as_of_precision = precision_field(blank=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="population_figures")

    PUBLIC_TO_ONE = ("country", "source")
    PUBLIC_TO_MANY = ("origins",)

    PAGE_OWNER = "country"

    history = HistoricalRecords(m2m_fields=["origins"])

    class Meta:
        permissions = [("publish_populationfigure", "Can publish and unpublish population figure")]
        ordering = ["country", "-value"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="populationfigure_value_not_negative"),
            wording_constraint("populationfigure"),
            *partial_date_constraints("since", "populationfigure"),
            *partial_date_constraints("as_of", "populationfigure"),
        ]

    def __str__(self) -> str:
        return f"{self.country}: {self.quantity} {self.group}"

    @cached_property
    def published_origins(self) -> list[Country]:
        """The origins a page shows: ``for_public()``'s prefetch, unless a reader that loads
        them otherwise (``site.digests``, one query for several lists of countries) set them;
        without either, the published origins read now."""
        return published_related(self, "origins")

    def clean(self):
        run_clean({**self.clean_partial_dates(), **clean_wording(self.qualifier, self.wording)})

    def get_absolute_url(self) -> str:
        return self.country.get_absolute_url() + f"#{self.slug}"

    @property
    def quantity(self) -> Quantity:
        return Quantity(self.value, self.qualifier, self.wording)
