"""Site-wide records: the publishing base, provenance, themes and the overview's page sections."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Prefetch, Q, Value, When
from django.db.models.query import ModelIterable
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .addresses import page_address
from .richtext import RichTextField
from .values import (
    QUALIFIER_WORDINGS,
    WORDING_CHOICES,
    Amount,
    DatePrecision,
    PartialDate,
    Qualifier,
    Quantity,
    normalise_partial_date,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django_stubs_ext import StrPromise

    #: A message for an officer: a lazy translation, or one already formatted.
    Message = str | StrPromise


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


def published_q(path: str = "") -> Q:
    """The condition "published", on a record or on the record ``path`` leads to (``"country"``,
    ``"fundingrecord"`` from a through table): the one place the public's rule is written."""
    return Q(**{f"{path}__status" if path else "status": Status.PUBLISHED})


def published_value(relation: str, field: str, *, default: object = "") -> Case:
    """The related record's ``field``, or ``default`` when it is missing or a draft (as
    ``for_public()`` reads it), in the query: the explorer's and the API's CSV rows."""
    return Case(When(published_q(relation), then=F(f"{relation}__{field}")), default=Value(default))


def published_sql(alias: str) -> str:
    """``published_q`` for hand-written SQL (the funding totals): the condition on table ``alias``."""
    return f"{alias}.status = '{Status.PUBLISHED}'"


class PublicModelIterable(ModelIterable):
    """Records whose joined to-one relations (``PUBLIC_TO_ONE``) read as None when they are drafts.

    Only the cached related record is dropped: the foreign key value stays, so a draft region is
    "not set yet" on a page while the record itself is unchanged."""

    def __iter__(self):
        paths = [path.split("__") for path in self.queryset.model.PUBLIC_TO_ONE]
        for obj in super().__iter__():
            for path in paths:
                _hide_draft(obj, path)
            yield obj


def _hide_draft(obj: models.Model, path: list[str]) -> None:
    field = obj._meta.get_field(path[0])
    if not isinstance(field, models.ForeignKey) or not field.is_cached(obj):
        return
    related = field.get_cached_value(obj)
    if isinstance(related, PublishableModel) and not related.is_published:
        field.set_cached_value(obj, None)
    elif related is not None and len(path) > 1:
        _hide_draft(related, path[1:])


class PublishableQuerySet(models.QuerySet):
    def published(self) -> Self:
        """The one definition of what the public may see: pages, API, search and exports use it."""
        return self.filter(published_q())

    def for_public(self) -> Self:
        """The public form of these records: published ones only, with their related records
        joined (the model's ``PUBLIC_TO_ONE``) or prefetched (``PUBLIC_TO_MANY``) and every draft
        among those hidden, so pages, exports and digests show what they are given, with no check
        of their own. A hidden to-one relation reads as None in a template; in Python a hidden
        non-null one raises (``RelatedObjectDoesNotExist``): read it with ``getattr(obj, name,
        None)``. Records shown on their ``PAGE_OWNER``'s page need that owner published.
        """
        model = self.model
        assert issubclass(model, PublishableModel)
        queryset = self.published().prefetch_published(*model.PUBLIC_TO_MANY)
        if model.PAGE_OWNER:  # a figure or an event is public only with the record it belongs to
            queryset = queryset.filter(published_q(model.PAGE_OWNER))
        if model.PUBLIC_TO_ONE:  # select_related() with no names would follow every foreign key
            queryset = queryset.select_related(*model.PUBLIC_TO_ONE)
        queryset._iterable_class = PublicModelIterable
        return queryset

    def due_for_publication(self, now: datetime.datetime) -> Self:
        """Drafts a Publisher scheduled for ``now`` or earlier (``services.publish_due``)."""
        return self.filter(status=Status.DRAFT, publish_at__lte=now)

    def prefetch_published(self, *names: str) -> Self:
        """Prefetch these to-many relations with their published records only, so a draft never
        reaches the public through a relation (``for_public()`` uses it).

        The same one query per relation as ``prefetch_related(*names)``."""
        return self.prefetch_related(
            *(
                Prefetch(name, queryset=related_publishable(self.model, name).objects.published())
                for name in names
            )
        )


def related_publishable(model: type[models.Model], name: str) -> type[PublishableModel]:
    """The record type that the relation ``name`` of ``model`` leads to: a publishable one."""
    related = model._meta.get_field(name).related_model
    if not (isinstance(related, type) and issubclass(related, PublishableModel)):
        raise TypeError(f"{model.__name__}.{name} does not lead to a publishable record type")
    return related


def published_or_none(obj: PublishableModel | None) -> PublishableModel | None:
    """A to-one related record (a source, a parent, a region...) as the public may see it: the
    record when it is published, else None, as if the relation were not set yet."""
    return obj if obj is not None and obj.is_published else None


def published_related(obj: models.Model, name: str) -> list:
    """The published records of ``obj``'s to-many relation ``name``: ``for_public()``'s prefetch
    (published ones only) when loaded, else read now."""
    if name in getattr(obj, "_prefetched_objects_cache", {}):
        return list(getattr(obj, name).all())
    return list(getattr(obj, name).published())


#: Each field's choices as a dict, for ``PublishableModel._get_FIELD_display``.
_CHOICE_LABELS: dict[models.Field, dict] = {}


class PublishableModel(models.Model):
    """Base of every public record type: a draft until an officer publishes it."""

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    publish_at = models.DateTimeField(
        _("publish at"),
        null=True,
        blank=True,
        help_text=_("Optional: publish this draft automatically from this moment."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text=_("Raised by every save; a save based on an older version is refused."),
    )

    objects = PublishableQuerySet.as_manager()

    #: What ``for_public()`` loads with each record: to-one relations joined (paths such as
    #: ``"region__parent"``; a draft reads as None) and to-many relations prefetched (published
    #: records only). The relations its pages and exports show (the API, which also serves drafts
    #: to staff, loads its own: ``PublishableViewSet.list_select_related`` and ``list_prefetch``).
    PUBLIC_TO_ONE: tuple[str, ...] = ()
    PUBLIC_TO_MANY: tuple[str, ...] = ()

    #: For a record shown on another record's page rather than its own (an event on its
    #: agreement's page): the foreign key to that record, which a preview shows as published too.
    PAGE_OWNER: str | None = None
    #: The columns ``get_absolute_url`` reads (of the record itself; a record with a
    #: ``PAGE_OWNER`` reads its owner's too): "What changed" reads the addresses of a page's
    #: records of every type in one query (``site.changes.record_urls``).
    ADDRESS_COLUMNS: tuple[str, ...] = ("slug",)

    # django-simple-history (which ships no types): the ``history`` manager every concrete
    # record type declares, and what it reads from an instance for its next history entry.
    history: ClassVar[Any]
    _history_user: AbstractBaseUser
    _change_reason: str
    skip_history_when_saving: bool
    # The webhook subscriptions a deletion concerns, matched before it (webhooks.events).
    _webhook_subscription_ids: list[int]

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # Every concrete record type has its page (or its place on another record's page).
        def get_absolute_url(self) -> str: ...

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self.version += 1
        super().save(*args, **kwargs)

    def _get_FIELD_display(self, field):  # Django's, behind get_<field>_display()
        """Django's ``get_<field>_display()``, the field's choices made a dict once per process
        rather than on every call (a few µs each: a funding table calls it 150 times a page).
        A record type's choices are fixed in its code."""
        choices = _CHOICE_LABELS.get(field)
        if choices is None:
            choices = _CHOICE_LABELS[field] = dict(make_hashable(field.flatchoices))
        value = getattr(self, field.attname)
        return force_str(choices.get(make_hashable(value), value), strings_only=True)

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED

    @property
    def page_owner(self) -> PublishableModel | None:
        return getattr(self, self.PAGE_OWNER) if self.PAGE_OWNER else None

    @classmethod
    def page_owner_model(cls) -> type[PublishableModel] | None:
        """The record type on whose page this one is shown (``PAGE_OWNER``), if any."""
        if not cls.PAGE_OWNER:
            return None
        return cast("type[PublishableModel]", cls._meta.get_field(cls.PAGE_OWNER).related_model)


# --- Partial dates -------------------------------------------------------------------------
#
# A partial date is two columns: ``<name>`` (a DateField holding the first day of the period
# when only the month or year is known) and ``<name>_precision``. Models list their partial
# dates in ``PARTIAL_DATES``; ``partial_date_constraints`` keeps them consistent in the database
# and ``PartialDatesMixin.clean`` explains a mismatch to the officer beside the field.


def partial_date_field(verbose_name: Message, *, blank: bool = False) -> models.DateField:
    return models.DateField(
        verbose_name,
        null=blank,
        blank=blank,
        help_text=_(
            "When only the month or the year is known, enter the first day and choose the precision."
        ),
    )


def precision_field(*, blank: bool = False) -> models.CharField:
    return models.CharField(
        _("precision"),
        max_length=5,
        choices=DatePrecision.choices,
        default="" if blank else DatePrecision.DAY,
        blank=blank,
    )


def partial_date_constraints(name: str, label: str) -> list[models.BaseConstraint]:
    precision = f"{name}_precision"
    return [
        models.CheckConstraint(
            condition=(
                Q(**{f"{name}__isnull": True})
                | Q(**{precision: DatePrecision.DAY})
                | Q(**{precision: DatePrecision.MONTH, f"{name}__day": 1})
                | Q(**{precision: DatePrecision.YEAR, f"{name}__day": 1, f"{name}__month": 1})
            ),
            name=f"{label}_{name}_matches_precision",
        )
    ]


class PartialDatesMixin:
    PARTIAL_DATES: tuple[str, ...] = ()

    def partial_date(self, name: str) -> PartialDate | None:
        return PartialDate.of(getattr(self, name), getattr(self, f"{name}_precision"))

    def clean_partial_dates(self) -> dict[str, Message]:
        errors: dict[str, Message] = {}
        for name in self.PARTIAL_DATES:
            value: datetime.date | None = getattr(self, name)
            precision = getattr(self, f"{name}_precision")
            if value is None:
                continue
            if not precision:
                errors[f"{name}_precision"] = _("Choose whether the year, the month or the day is known.")
                continue
            if normalise_partial_date(value, precision) != value:
                canonical = normalise_partial_date(value, precision)
                errors[name] = _(
                    "With %(precision)s precision enter the first day (%(canonical)s), "
                    "or choose day precision if the day is known."
                ) % {"precision": precision, "canonical": canonical.isoformat()}
        return errors


# --- Amounts -------------------------------------------------------------------------------


def qualifier_field() -> models.CharField:
    return models.CharField(_("qualifier"), max_length=10, choices=Qualifier.choices, default=Qualifier.EXACT)


def wording_field() -> models.CharField:
    return models.CharField(
        _("qualifier wording"),
        max_length=20,
        choices=WORDING_CHOICES,
        blank=True,
        help_text=_('How the source words the qualifier, e.g. "close to" for about.'),
    )


def wording_constraint(label: str, *, qualifier: str = "qualifier", wording: str = "wording"):
    allowed = Q(**{wording: ""})
    for q, words in QUALIFIER_WORDINGS.items():
        allowed |= Q(**{qualifier: q, f"{wording}__in": [w for w in words if w]})
    return models.CheckConstraint(condition=allowed, name=f"{label}_wording_fits_qualifier")


def clean_wording(qualifier: str, wording: str) -> dict[str, Message]:
    if wording and wording not in QUALIFIER_WORDINGS.get(qualifier, ()):
        return {"wording": _("“%(w)s” does not fit the qualifier “%(q)s”.") % {"w": wording, "q": qualifier}}
    return {}


def run_clean(errors: dict[str, Message]) -> None:
    if errors:
        raise ValidationError(errors)


# --- Provenance, themes, page text ---------------------------------------------------------


class Source(PartialDatesMixin, PublishableModel):
    """Where a figure, agreement or document comes from."""

    PARTIAL_DATES = ("date",)
    ADDRESS_COLUMNS = ("url",)

    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=120, unique=True)
    publisher = models.CharField(max_length=200)
    url = models.URLField(_("address"), max_length=500)
    date = partial_date_field(_("date"), blank=True)
    date_precision = precision_field(blank=True)

    history = HistoricalRecords()

    class Meta:
        permissions = [("publish_source", "Can publish and unpublish source")]
        ordering = ["title"]
        constraints = partial_date_constraints("date", "source")

    def __str__(self) -> str:
        return self.title

    def clean(self):
        run_clean(self.clean_partial_dates())

    def get_absolute_url(self) -> str:
        return self.url

    @property
    def date_display(self) -> PartialDate | None:
        return self.partial_date("date")


class Theme(PublishableModel):
    """A key area of the external dimension of EU migration policy."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = RichTextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="themes")

    PUBLIC_TO_ONE = ("source",)

    history = HistoricalRecords()

    class Meta:
        permissions = [("publish_theme", "Can publish and unpublish theme")]
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return page_address("theme-detail", "slug", self.slug)


class PageSection(PublishableModel):
    """An editable block of text on the overview page (introduction, key areas, approach...)."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200, blank=True)
    body = RichTextField()
    order = models.PositiveSmallIntegerField(default=0)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="page_sections")

    PUBLIC_TO_ONE = ("source",)

    history = HistoricalRecords()

    class Meta:
        permissions = [("publish_pagesection", "Can publish and unpublish page section")]
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.title or self.slug

    def get_absolute_url(self) -> str:
        return reverse("home") + f"#{self.slug}"


class AsOfSnapshot(models.Model):
    """A PostgreSQL schema holding the public tables as they stood at ``moment``, the newest change
    at or before an ``as_of`` request's moment (``migrationsupport.asof``). Built once, never
    changed; the least recently used are dropped past ``AS_OF_MAX_SNAPSHOTS``."""

    DERIVED = True  # a stored computation, not a record: no admin, no fixtures, no history

    schema = models.CharField(max_length=63, unique=True)
    moment = models.DateTimeField(unique=True)
    built_at = models.DateTimeField(auto_now_add=True)
    build_seconds = models.FloatField()
    last_used_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.schema


# --- Public changes ------------------------------------------------------------------------


class CurrentTransactionId(models.Func):
    """The id of the writing transaction (PostgreSQL's ``pg_current_xact_id()``), as a number.

    The change feed serves a row only once every transaction that could still write a row before
    it has ended (``changes.py``). SQLite has one writer at a time, so commit order is id order
    there: 0 stands for every transaction."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return "0", []


class PublicChangeKind(models.TextChoices):
    PUBLISHED = "published", _("Published")
    CHANGED = "changed", _("Changed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DELETED = "deleted", _("Deleted")
    #: A published record whose public form changed with another record (the slug of a region it
    #: names, the events of its timeline): no history entry of its own, only a feed entry.
    RELATED = "related", _("Changed with a related record")
    #: A published record that had no public change recorded yet (loaded or bulk-created).
    BASELINE = "baseline", _("Published")


class PublicChange(models.Model):
    """One change the public could see, appended in the transaction that made it (``changes.py``).

    The API change feed, the "What changed" page, each record's list of changes and the Atom
    feeds read this one table. ``history_id`` is the record's history entry (none for related and
    baseline rows), ``previous_history_id`` the entry of the version the public saw before it.
    ``lookup`` and ``label`` are the record's public identifier (slug or ISO code) and name at
    the time: a withdrawal keeps those of the last published version.
    """

    DERIVED = True  # written by the changes of records, never edited: no admin, no fixtures

    txid = models.BigIntegerField(editable=False)
    model_label = models.CharField(max_length=100)
    object_id = models.BigIntegerField()
    lookup = models.CharField(max_length=200, blank=True)
    label = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=10, choices=PublicChangeKind.choices)
    changed_at = models.DateTimeField()
    history_id = models.BigIntegerField(null=True, blank=True)
    previous_history_id = models.BigIntegerField(null=True, blank=True)
    #: The record's version in that entry: a save and the many-to-many changes made with it
    #: share it, so readers see them as one change.
    record_version = models.PositiveIntegerField(null=True, blank=True)
    note = models.TextField(_("public change note"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["txid", "id"], name="publicchange_feed"),
            models.Index(fields=["model_label", "object_id", "-id"], name="publicchange_record"),
            models.Index(
                fields=["-changed_at", "-id"],
                condition=Q(history_id__isnull=False),
                name="publicchange_readers",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_label} {self.object_id} {self.kind}"


# The webhooks' models live with their code; imported here so Django finds them.
from .webhooks.models import Delivery, Subscription  # noqa: E402

__all__ = [
    "Amount",
    "AsOfSnapshot",
    "Delivery",
    "PageSection",
    "PartialDate",
    "PublicChange",
    "PublicChangeKind",
    "PublishableModel",
    "PublishableQuerySet",
    "Quantity",
    "Source",
    "Status",
    "Subscription",
    "Theme",
    "published_or_none",
    "published_q",
    "published_sql",
]
