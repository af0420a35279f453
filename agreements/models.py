"""Commitments on paper: agreements and arrangements, their timelines, key policy documents."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce, Upper
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from migrationsupport.addresses import page_address
from migrationsupport.expressions import Mapped
from migrationsupport.fulltext import SearchDocumentField
from migrationsupport.models import (
    PartialDatesMixin,
    PublishableModel,
    PublishableQuerySet,
    Source,
    Theme,
    partial_date_constraints,
    partial_date_field,
    precision_field,
    published_related,
    run_clean,
)
from migrationsupport.richtext import RichTextField
from migrationsupport.values import PartialDate
from regions.models import Country, Region, Route

from .lifecycle import EVENT_ORDER, STATUS_AFTER_EVENT, AgreementStatus, EventKind, in_order, transition_error
from .references import reference_url, validate_official_reference

if TYPE_CHECKING:
    from migrationsupport.models import Message


class AgreementKind(models.TextChoices):
    READMISSION = "readmission", _("Readmission agreement")
    VISA_FACILITATION = "visa_facilitation", _("Visa facilitation agreement")
    VISA_LIBERALISATION = "visa_liberalisation", _("Cooperation on visa liberalisation")
    FRONTEX_STATUS = "frontex_status", _("Frontex status agreement")
    FRONTEX_WORKING = "frontex_working", _("Frontex working arrangement")
    STATEMENT = "statement", _("Statement")


class Agency(models.TextChoices):
    FRONTEX = "frontex", _("European Border and Coast Guard Agency (Frontex)")
    EUAA = "euaa", _("EU Asylum Agency (EUAA)")
    EUROPOL = "europol", _("Europol")


def event_order() -> Mapped:
    """``lifecycle.EVENT_ORDER`` in SQL: the tie-break between steps of the same first day."""
    return Mapped("kind", EVENT_ORDER, output_field=models.IntegerField())


def _latest_published_events():
    """The published events of the agreement ``OuterRef("pk")``, latest first: the reverse of
    ``AgreementEventQuerySet.in_lifecycle_order`` (``[:1]`` is the last of a timeline)."""
    return (
        AgreementEvent.objects.published()
        .filter(agreement=OuterRef("pk"))
        .annotate(event_order=event_order())
        .order_by("-date", "-event_order", "-pk")
    )


class AgreementQuerySet(PublishableQuerySet):
    def with_current_status(self):
        """Annotate ``current_status_code``: the status after the latest published event, or
        the status the source states when no dated event is known.

        A correlated subquery inside the one SQL query (not a query per row), so the annotation
        also serves filtering and ordering by status.
        """
        # The status is mapped inside the subquery (NULL for an event kind that changes no
        # status), so PostgreSQL runs one subplan per row, not one per CASE branch.
        latest = (
            _latest_published_events()
            .annotate(status_after=Mapped("kind", STATUS_AFTER_EVENT, output_field=models.CharField()))
            .values("status_after")[:1]
        )
        return self.annotate(
            current_status_code=Coalesce(
                Subquery(latest), F("stated_status"), output_field=models.CharField()
            )
        )

    def with_latest_event(self):
        """Annotate ``latest_event_on`` and ``latest_event_on_precision``: the date of the latest
        published event (``Agreement.latest_event_date``), for a list that shows it without
        loading every event (two correlated subqueries, each one index probe per agreement)."""
        latest = _latest_published_events()
        return self.annotate(
            latest_event_on=Subquery(latest.values("date")[:1]),
            latest_event_on_precision=Subquery(latest.values("date_precision")[:1]),
        )

    def for_public(self):
        """With the current status (``with_current_status``), as every public answer shows it."""
        return super().for_public().with_current_status()


AgreementManager = models.Manager.from_queryset(AgreementQuerySet)


class Agreement(PublishableModel):
    """An agreement, arrangement, dialogue or statement between the EU and partner countries."""

    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=120, unique=True)
    kind = models.CharField(max_length=24, choices=AgreementKind.choices)
    parties = models.ManyToManyField(Country, blank=True, related_name="agreements")
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agreements",
        help_text=_("For an arrangement that concerns a region rather than named countries."),
    )
    agency = models.CharField(max_length=10, choices=Agency.choices, blank=True)
    description = RichTextField(blank=True)
    stated_status = models.CharField(
        max_length=24,
        choices=AgreementStatus.choices,
        blank=True,
        help_text=_(
            "The status the source states when it gives no dated event (e.g. concluded, being "
            "implemented); leave empty when the source states none. Dated events on the timeline "
            "take precedence."
        ),
    )
    themes = models.ManyToManyField(Theme, blank=True, related_name="agreements")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="agreements")

    PUBLIC_TO_ONE = ("source", "region")
    PUBLIC_TO_MANY = ("parties",)

    objects: ClassVar[AgreementManager] = AgreementQuerySet.as_manager()

    #: The site search's weighted document (title A; description, often a passage shared by many
    #: agreements, D), kept by a trigger (migration 0009, ``migrationsupport.fulltext``).
    search_document = SearchDocumentField()

    history = HistoricalRecords(m2m_fields=["parties", "themes"], excluded_fields=["search_document"])

    class Meta:
        permissions = [("publish_agreement", "Can publish and unpublish agreement")]
        ordering = ["title"]
        indexes = [
            # The agreements list's order.
            models.Index(fields=["title", "id"], name="agreement_title_idx"),
            # A region's first agreements by its parties' regions, walked in the digests' order
            # (migrationsupport/site/digests.py, ``_first_by_party_region``).
            models.Index(fields=["kind", "title", "id"], name="agreement_kind_title_idx"),
            # Full-text search.
            GinIndex(fields=["search_document"], name="agreement_search_idx"),
            # Search's "did you mean" (pg_trgm's ``%`` and ``<%`` on UPPER(title)).
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="agreement_title_trgm_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return page_address("agreements:agreement-detail", "slug", self.slug)

    @property
    def current_status(self) -> str:
        """The status after the latest published event, or the status the source states."""
        if hasattr(self, "current_status_code"):
            return self.current_status_code
        events = in_order(self.events.published())
        return STATUS_AFTER_EVENT[events[-1].kind] if events else self.stated_status

    @cached_property
    def published_parties(self) -> list[Country]:
        """The parties a list shows: ``for_public()``'s prefetch, unless a reader that loads
        them otherwise (``site.digests``, one query for several lists of countries) set them;
        without either, the published parties read now."""
        return published_related(self, "parties")

    @property
    def latest_event_date(self) -> PartialDate | None:
        """The date of the latest published event, if any: annotated (``with_latest_event``),
        or the last of the ``published_events`` a timeline loaded, else read (one query)."""
        if hasattr(self, "latest_event_on") and hasattr(self, "latest_event_on_precision"):
            return PartialDate.of(self.latest_event_on, self.latest_event_on_precision)
        events = getattr(self, "published_events", None)
        if events is None:
            events = in_order(self.events.published())
        return events[-1].date_display if events else None

    @property
    def current_status_label(self) -> Message:
        status = self.current_status
        return AgreementStatus(status).label if status else _("Status not stated")


class AgreementEventQuerySet(PublishableQuerySet):
    def in_lifecycle_order(self):
        """Oldest first, as ``lifecycle.order_key`` orders them: by date, then lifecycle order."""
        return self.annotate(event_order=event_order()).order_by("date", "event_order", "pk")


class AgreementEvent(PartialDatesMixin, PublishableModel):
    """A dated step in an agreement's life: signed, in force, operations launched, suspended."""

    PARTIAL_DATES = ("date",)

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    date = partial_date_field(_("date"))
    date_precision = precision_field()
    description = models.CharField(max_length=500, blank=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="agreement_events")
    official_reference = models.CharField(
        _("official reference"),
        max_length=80,
        blank=True,
        validators=[validate_official_reference],
        help_text=_(
            "The act that records this step: a CELEX number (32014D0252) or an Official Journal "
            "citation (OJ L 128, 30.4.2014, p. 15, or OJ L, 2024/1234, 22.5.2024)."
        ),
    )
    transition_note = models.CharField(
        _("why this step does not follow"),
        max_length=500,
        blank=True,
        help_text=_(
            "Only when the lifecycle does not expect this step after the previous one: what the "
            "source says (e.g. it gives the signature and the launch of operations, no entry into force)."
        ),
    )

    PUBLIC_TO_ONE = ("source",)

    PAGE_OWNER = "agreement"
    ADDRESS_COLUMNS = ("id",)

    objects: ClassVar[models.Manager] = AgreementEventQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        permissions = [("publish_agreementevent", "Can publish and unpublish agreement event")]
        ordering = ["agreement", "date", "pk"]
        # An agreement's latest event (its current status): one index probe per agreement.
        indexes = [
            models.Index(fields=["agreement", "status", "date", "id"], name="event_agreement_date_idx")
        ]
        constraints = partial_date_constraints("date", "agreementevent")

    def __str__(self) -> str:
        return f"{self.agreement}: {self.get_kind_display()} {self.date_display}"

    def clean(self):
        errors = self.clean_partial_dates()
        if not errors and self.agreement_id and self.kind and self.date and not self.transition_note:
            errors.update(self.clean_transition())
        run_clean(errors)

    def clean_transition(self) -> dict[str, Message]:
        """Refuse a step the lifecycle does not expect after the agreement's other steps (drafts
        included: they are on their way to the public), unless ``transition_note`` says why."""
        stored = list(self.agreement.events.all())
        others = [e for e in stored if e.pk != self.pk]
        events = in_order([*others, self])
        position = events.index(self)
        before = STATUS_AFTER_EVENT[events[position - 1].kind] if position else None
        message = transition_error(before, self.kind)
        if message is None and position + 1 < len(events):
            after = events[position + 1]
            if not after.transition_note and self._followed_before(after, in_order(stored)):
                message = transition_error(STATUS_AFTER_EVENT[self.kind], after.kind)
        return {"kind": message} if message else {}

    @staticmethod
    def _followed_before(event: AgreementEvent, others: list[AgreementEvent]) -> bool:
        """Whether ``event`` followed its previous step in the stored steps, before this change (a
        step that was already out of order is the officer's to explain, not a reason to refuse
        this one)."""
        position = others.index(event)
        before = STATUS_AFTER_EVENT[others[position - 1].kind] if position else None
        return transition_error(before, event.kind) is None

    def get_absolute_url(self) -> str:
        return self.agreement.get_absolute_url() + f"#event-{self.pk}"

    @property
    def official_reference_url(self) -> str:
        return reference_url(self.official_reference)

    @property
    def date_display(self) -> PartialDate | None:
        return self.partial_date("date")

    @property
    def resulting_status(self) -> str:
        return STATUS_AFTER_EVENT[self.kind]


class DocumentKind(models.TextChoices):
    JOINT_COMMUNICATION = "joint_communication", _("Joint Communication")
    COMMUNICATION = "communication", _("Communication")
    STAFF_WORKING_DOCUMENT = "staff_working_document", _("Staff Working Document")
    ACTION_PLAN = "action_plan", _("Action Plan")
    LEGISLATION = "legislation", _("Legislative package")
    COUNCIL_CONCLUSIONS = "council_conclusions", _("Council Conclusions")
    UN_RESOLUTION = "un_resolution", _("UN Security Council Resolution")


class Document(PartialDatesMixin, PublishableModel):
    """A key policy document: Joint Communications, Action Plans, the Pact, Council Conclusions."""

    PARTIAL_DATES = ("date",)

    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=120, unique=True)
    kind = models.CharField(max_length=24, choices=DocumentKind.choices)
    author = models.CharField(max_length=200, blank=True, help_text=_("Who adopted or issued it."))
    date = partial_date_field(_("date"), blank=True)
    date_precision = precision_field(blank=True)
    summary = RichTextField(blank=True)
    url = models.URLField(_("address of the document"), max_length=500, blank=True)
    regions = models.ManyToManyField(Region, blank=True, related_name="documents")
    countries = models.ManyToManyField(Country, blank=True, related_name="documents")
    routes = models.ManyToManyField(Route, blank=True, related_name="documents")
    themes = models.ManyToManyField(Theme, blank=True, related_name="documents")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="documents")

    PUBLIC_TO_ONE = ("source",)
    PUBLIC_TO_MANY = ("regions", "countries")

    #: The site search's weighted document (title A; summary and author B), kept by a trigger
    #: (migration 0009, ``migrationsupport.fulltext``).
    search_document = SearchDocumentField()

    history = HistoricalRecords(
        m2m_fields=["regions", "countries", "routes", "themes"], excluded_fields=["search_document"]
    )

    class Meta:
        permissions = [("publish_document", "Can publish and unpublish document")]
        ordering = ["-date", "title"]
        constraints = partial_date_constraints("date", "document")
        indexes = [
            # The documents list's order: latest first, undated last.
            models.Index(F("date").desc(nulls_last=True), "title", "id", name="document_latest_first_idx"),
            GinIndex(fields=["search_document"], name="document_search_idx"),
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="document_title_trgm_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self):
        run_clean(self.clean_partial_dates())

    def get_absolute_url(self) -> str:
        return page_address("agreements:document-detail", "slug", self.slug)

    @property
    def date_display(self) -> PartialDate | None:
        return self.partial_date("date")
