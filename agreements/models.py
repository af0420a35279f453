"""Commitments on paper: agreements and arrangements, their timelines, key policy documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import Case, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from migrationsupport.models import (
    PartialDatesMixin,
    PublishableModel,
    PublishableQuerySet,
    Source,
    Theme,
    partial_date_constraints,
    partial_date_field,
    precision_field,
    run_clean,
)
from migrationsupport.richtext import RichTextField
from migrationsupport.values import PartialDate
from regions.models import Country, Region, Route

if TYPE_CHECKING:
    from migrationsupport.models import Message


class AgreementKind(models.TextChoices):
    READMISSION = "readmission", _("Readmission agreement")
    VISA_FACILITATION = "visa_facilitation", _("Visa facilitation agreement")
    VISA_LIBERALISATION = "visa_liberalisation", _("Cooperation on visa liberalisation")
    FRONTEX_STATUS = "frontex_status", _("Frontex status agreement")
    FRONTEX_WORKING = "frontex_working", _("Frontex working arrangement")
    STATEMENT = "statement", _("Statement")


# Each status says only what a source can state: "concluded" (the source's word for an agreement
# it gives no date of entry into force for) is not "in force", "adopted" is not "ongoing", and an
# agreement whose implementation the source says is supported is "being implemented".
class AgreementStatus(models.TextChoices):
    NEGOTIATING = "negotiating", _("Under negotiation")
    ADOPTED = "adopted", _("Adopted")
    SIGNED = "signed", _("Signed")
    CONCLUDED = "concluded", _("Concluded")
    IN_FORCE = "in_force", _("In force")
    BEING_IMPLEMENTED = "being_implemented", _("Being implemented")
    OPERATIONAL = "operational", _("Operations launched")
    ONGOING = "ongoing", _("Ongoing")
    PARTIALLY_SUSPENDED = "partially_suspended", _("Partially suspended")
    SUSPENDED = "suspended", _("Suspended")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class EventKind(models.TextChoices):
    NEGOTIATIONS_OPENED = "negotiations_opened", _("Negotiations opened")
    ADOPTED = "adopted", _("Adopted")
    SIGNED = "signed", _("Signed")
    CONCLUDED = "concluded", _("Concluded")
    ENTERED_INTO_FORCE = "entered_into_force", _("Entered into force")
    OPERATIONS_LAUNCHED = "operations_launched", _("Operations launched")
    PARTIALLY_SUSPENDED = "partially_suspended", _("Partially suspended")
    SUSPENDED = "suspended", _("Suspended")
    RESUMED = "resumed", _("Resumed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# The status an agreement is in after each kind of event: the current status is the one that
# follows from its latest event.
STATUS_AFTER_EVENT: dict[str, str] = {
    EventKind.NEGOTIATIONS_OPENED: AgreementStatus.NEGOTIATING,
    EventKind.ADOPTED: AgreementStatus.ADOPTED,
    EventKind.SIGNED: AgreementStatus.SIGNED,
    EventKind.CONCLUDED: AgreementStatus.CONCLUDED,
    EventKind.ENTERED_INTO_FORCE: AgreementStatus.IN_FORCE,
    EventKind.OPERATIONS_LAUNCHED: AgreementStatus.OPERATIONAL,
    EventKind.PARTIALLY_SUSPENDED: AgreementStatus.PARTIALLY_SUSPENDED,
    EventKind.SUSPENDED: AgreementStatus.SUSPENDED,
    EventKind.RESUMED: AgreementStatus.IN_FORCE,
    EventKind.WITHDRAWN: AgreementStatus.WITHDRAWN,
}


class Agency(models.TextChoices):
    FRONTEX = "frontex", _("European Border and Coast Guard Agency (Frontex)")
    EUAA = "euaa", _("EU Asylum Agency (EUAA)")
    EUROPOL = "europol", _("Europol")


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
            AgreementEvent.objects.published()
            .filter(agreement=OuterRef("pk"))
            .order_by("-date", "-pk")
            .annotate(
                status_after=Case(
                    *[When(kind=kind, then=Value(status)) for kind, status in STATUS_AFTER_EVENT.items()],
                    default=None,
                    output_field=models.CharField(),
                )
            )
            .values("status_after")[:1]
        )
        return self.annotate(
            current_status_code=Coalesce(
                Subquery(latest), F("stated_status"), output_field=models.CharField()
            )
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

    history = HistoricalRecords(m2m_fields=["parties", "themes"])

    class Meta:
        permissions = [("publish_agreement", "Can publish and unpublish agreement")]
        ordering = ["title"]
        indexes = [
            # The agreements list's order.
            models.Index(fields=["title", "id"], name="agreement_title_idx"),
            # Full-text search: the vector migrationsupport.search builds (the description, often
            # a passage shared by many agreements, weighted lowest).
            GinIndex(
                SearchVector("title", weight="A", config="ms_english")
                + SearchVector("description", weight="D", config="ms_english"),
                name="agreement_search_idx",
            ),
            # Search's "did you mean" (pg_trgm's ``%`` and ``<%`` on UPPER(title)).
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="agreement_title_trgm_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("agreements:agreement-detail", kwargs={"slug": self.slug})

    @property
    def current_status(self) -> str:
        """The status after the latest published event, or the status the source states."""
        if hasattr(self, "current_status_code"):
            return self.current_status_code
        latest = self.events.published().order_by("-date", "-pk").first()
        return STATUS_AFTER_EVENT[latest.kind] if latest else self.stated_status

    @property
    def current_status_label(self) -> Message:
        status = self.current_status
        return AgreementStatus(status).label if status else _("Status not stated")


class AgreementEvent(PartialDatesMixin, PublishableModel):
    """A dated step in an agreement's life: signed, in force, operations launched, suspended."""

    PARTIAL_DATES = ("date",)

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    date = partial_date_field(_("date"))
    date_precision = precision_field()
    description = models.CharField(max_length=500, blank=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="agreement_events")

    PUBLIC_TO_ONE = ("source",)

    PAGE_OWNER = "agreement"

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
        run_clean(self.clean_partial_dates())

    def get_absolute_url(self) -> str:
        return self.agreement.get_absolute_url() + f"#event-{self.pk}"

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

    history = HistoricalRecords(m2m_fields=["regions", "countries", "routes", "themes"])

    class Meta:
        permissions = [("publish_document", "Can publish and unpublish document")]
        ordering = ["-date", "title"]
        constraints = partial_date_constraints("date", "document")
        indexes = [
            # The documents list's order: latest first, undated last.
            models.Index(F("date").desc(nulls_last=True), "title", "id", name="document_latest_first_idx"),
            GinIndex(
                SearchVector("title", weight="A", config="ms_english")
                + SearchVector("summary", "author", weight="B", config="ms_english"),
                name="document_search_idx",
            ),
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="document_title_trgm_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self):
        run_clean(self.clean_partial_dates())

    def get_absolute_url(self) -> str:
        return reverse("agreements:document-detail", kwargs={"slug": self.slug})

    @property
    def date_display(self) -> PartialDate | None:
        return self.partial_date("date")
