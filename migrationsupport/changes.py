"""The changes the public could see, in one log: ``PublicChange``, appended as they happen.

A *public change* is a history entry the public could see: an edit while the record is
published, its publication (draft → published), its withdrawal (published → draft: for the public
a deletion) and its deletion while published. Draft-only edits are not public changes.

How rows are written (all in the transaction of the change itself, so a rolled-back save leaves
no row):

- ``record_history_entry`` listens to django-simple-history's ``post_create_historical_record``:
  every history entry of a publishable record (saves, many-to-many changes, deletions) is
  classified against the record's last row here (was it public?) and appended when public.
- A published record's public form also changes with other records, since the API names related
  records by slug and shows a parent's parts and an agreement's timeline. So a public change to a
  record appends ``related`` rows for (a) the published records naming it through a foreign key
  or many-to-many relation, when its presence or an identifier they show changed (publication,
  withdrawal, deletion, ``EMBEDDED_FIELDS``), and (b) the record that shows it as a part (its
  ``PAGE_OWNER``, or the ``parent`` it belongs to), old and new. ``touch_on_delete`` does (a)
  before a deletion, while the many-to-many rows that lead to it still exist.
- ``sync_public_changes`` (run by ``generate_demo_data``, the ``sync_public_changes`` command and
  after ``migrate``) appends a ``baseline`` row for every published record with none (records made
  by ``bulk_create``) and a ``deleted`` row for every record the log still shows as public that no
  longer is (changed without signals, e.g. ``QuerySet.update``). ``loaddata`` records a history
  entry for each loaded record (its override), so the seed has its rows from the start.

The feed (``api/changes.py``) reads rows in ``(txid, id)`` order and serves only rows of
transactions older than every transaction still running (``feed_rows``): see there why.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from types import SimpleNamespace
from typing import Any, cast

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Cast, JSONObject
from django.dispatch import Signal
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from simple_history.models import HistoricalRecords

from .models import (
    CurrentTransactionId,
    PublicChange,
    PublicChangeKind,
    PublishableModel,
    Status,
    published_q,
)
from .registry import registry
from .values import PartialDate

Kind = PublicChangeKind

#: Sent after a public change of a record is appended (not for ``related`` and ``baseline``
#: rows, which are the feed's bookkeeping), inside the writing transaction: ``row`` is the
#: ``PublicChange``, ``instance`` the record. Receivers that talk to the outside world (webhooks)
#: should wait for the commit: ``transaction.on_commit``.
public_change_recorded = Signal()
#: Kinds after which the public no longer sees the record.
GONE = (Kind.WITHDRAWN, Kind.DELETED)
#: Fields other records show when they name a record (slugs, ISO codes, a source's citation).
EMBEDDED_FIELDS = ("slug", "iso_code", "title", "publisher", "url")
#: Never shown to readers as a changed field: the officers' workflow and bookkeeping.
HIDDEN_FIELDS = frozenset({"id", "status", "publish_at", "created_at", "updated_at", "version"})


# --- What the API calls each record type --------------------------------------------------


def api_routes() -> dict[str, Any]:
    """``{"funding.fundingrecord": ApiRoute, ...}``: the endpoint of each record type."""
    return {route.viewset.queryset.model._meta.label_lower: route for route in registry.api_routes}


def lookup_field(model: type[models.Model]) -> str:
    """The field a record is addressed by in the API (a slug, a country's ISO code)."""
    route = api_routes().get(model._meta.label_lower)
    field = route.viewset.lookup_field if route else "slug"
    if field == "pk" or not any(f.name == field for f in model._meta.fields):
        return model._meta.pk.name  # "id": on a history row, "pk" would be the history's own id
    return field


def _shown_inside_others(model: type[models.Model]) -> bool:
    """A record type with no API list of its own (a fulfilment link) is shown inside the records
    its foreign keys lead to (both funding records of the link)."""
    return model._meta.label_lower not in api_routes()


def _publishable_keys(model: type[models.Model]) -> list[models.ForeignKey]:
    return [
        fk
        for fk in model._meta.concrete_fields
        if isinstance(fk, models.ForeignKey) and issubclass(fk.related_model, PublishableModel)
    ]


@cache
def history_model_of(model: type[models.Model]):
    """``model.history.model``, looked up once: simple_history's descriptor builds a manager
    class on each access (a page of changes asked 28 times)."""
    attribute = getattr(model._meta, "simple_history_manager_attribute", None)
    return getattr(model, attribute).model if attribute else None


# --- Writing rows ---------------------------------------------------------------------------


def _last_row(label: str, pk: Any) -> PublicChange | None:
    """The record's last row of its own (``related`` rows say nothing of its publication)."""
    return (
        PublicChange.objects.filter(model_label=label, object_id=pk)
        .exclude(kind=Kind.RELATED)
        .order_by("-id")
        .first()
    )


def _last_version_row(label: str, pk: Any) -> PublicChange | None:
    """The row of the version the public saw last (one with a history entry)."""
    return (
        PublicChange.objects.filter(model_label=label, object_id=pk, history_id__isnull=False)
        .exclude(kind__in=GONE)
        .order_by("-id")
        .first()
    )


def record_history_entry(sender, instance, history_instance, **kwargs) -> None:
    """``post_create_historical_record``: append the entry when the public could see it."""
    if not isinstance(instance, PublishableModel):
        return
    model = type(instance)
    label = model._meta.label_lower
    last = _last_row(label, instance.pk)
    was_public = last is not None and last.kind not in GONE
    deleted = history_instance.history_type == "-"
    # Public as ``for_public()`` says: published, with a published page owner (an agreement's
    # event) and, for a link, both its records published. Its label names them.
    is_public = (
        history_instance.status == Status.PUBLISHED
        and not deleted
        and model._default_manager.for_public().filter(pk=instance.pk).exists()
    )
    if is_public:
        kind = Kind.CHANGED if was_public else Kind.PUBLISHED
    elif was_public:
        kind = Kind.DELETED if deleted else Kind.WITHDRAWN
    else:
        return  # a draft's edit, or the deletion of a record the public never saw
    # The version the public saw last: a change, a republication and a withdrawal start from it.
    previous = _last_version_row(label, instance.pk)
    lookup = str(getattr(history_instance, lookup_field(model), "") or "")
    name = str(instance)
    if not is_public and last is not None:  # withdrawn: the names the public saw, not the draft's
        lookup, name = last.lookup, last.label
    user = history_instance.history_user_id
    row = PublicChange.objects.create(
        txid=CurrentTransactionId(),
        model_label=label,
        object_id=instance.pk,
        lookup=lookup,
        label=name[:500],
        kind=kind,
        changed_at=history_instance.history_date,
        history_id=history_instance.history_id,
        previous_history_id=previous.history_id if previous else None,
        record_version=history_instance.version,
        note=getattr(instance, "_public_change_note", "") or "",
        user_id=user,
    )
    public_change_recorded.send(sender=PublicChange, row=row, instance=instance)
    previous_entry = (
        history_model_of(model)._default_manager.filter(history_id=previous.history_id).first()
        if previous is not None and previous.history_id
        else None
    )
    identity_changed = previous_entry is None or any(
        getattr(previous_entry, name, None) != getattr(history_instance, name, None)
        for name in EMBEDDED_FIELDS
    )
    # A deletion's referrers were touched before it (touch_on_delete). A record just created has
    # none yet: nothing can refer to a row before it exists (a fixture's raw saves make no history
    # entry), so its creation skips the one ``INSERT … SELECT`` per relation that might.
    created = history_instance.history_type == "+"
    if (kind != Kind.CHANGED or identity_changed) and not deleted and not created:
        touch_referrers(model, instance.pk, when=history_instance.history_date)
    owners = _owner_targets(model, history_instance) | (
        _owner_targets(model, previous_entry) if previous_entry is not None else set()
    )
    for owner_model, owner_pk in owners:
        touch(owner_model, owner_model._base_manager.filter(pk=owner_pk), when=history_instance.history_date)


def touch_on_delete(sender, instance, **kwargs) -> None:
    """``pre_delete``: a published record's referrers lose it; touched while the many-to-many
    rows that lead to them still exist (the deletion removes them before ``post_delete``)."""
    if isinstance(instance, PublishableModel) and instance.is_published:
        touch_referrers(type(instance), instance.pk, when=timezone.now())


def _owner_targets(model: type[models.Model], entry) -> set[tuple[type[models.Model], Any]]:
    """The records that show ``entry``'s record as a part: its page owner, its parent."""
    targets: set[tuple[type[models.Model], Any]] = set()
    owner = getattr(model, "PAGE_OWNER", None)
    inside = _shown_inside_others(model)
    for fk in _publishable_keys(model):
        if fk.name != owner and fk.related_model is not model and not inside:
            continue
        value = getattr(entry, fk.attname, None)
        if value is not None:
            targets.add((fk.related_model, value))
    return targets


def _referring_relations(model: type[models.Model]) -> list[tuple[type[PublishableModel], str]]:
    """``(record type, lookup)`` pairs naming a record of ``model``: foreign keys and many-to-many
    relations of publishable records that lead to it."""
    from .services import publishable_models

    found = []
    for other in publishable_models():
        for relation in other._meta.get_fields():
            if relation.auto_created or not (relation.many_to_one or relation.many_to_many):
                continue
            if relation.related_model is model:
                found.append((other, relation.name))
    return found


def touch_referrers(model: type[models.Model], pk: Any, *, when: datetime.datetime) -> None:
    for other, name in _referring_relations(model):
        referrers = other._base_manager.filter(**{name: pk})
        if not _shown_inside_others(other):
            touch(other, referrers, when=when)
            continue
        for fk in _publishable_keys(other):  # the records that show the referrer instead
            shown_in = fk.related_model._base_manager.filter(pk__in=referrers.values(fk.attname))
            touch(fk.related_model, shown_in, when=when)


def touch(model: type[models.Model], queryset: models.QuerySet, *, when: datetime.datetime) -> int:
    """Append a ``related`` row for every published record of ``queryset``, in one
    ``INSERT … SELECT`` however many there are."""
    published = queryset.filter(published_q()).distinct()
    return _append_kind(model, published, kind=Kind.RELATED, when=when)


def sync_public_changes() -> dict[str, int]:
    """Make the log agree with what is published: a ``baseline`` row for each published record
    the log does not show as public, a ``deleted`` row for each record it shows as public that is
    not (any more). Returns the rows added per record type; running it again adds none."""
    from .services import publishable_models

    added: dict[str, int] = {}
    now = timezone.now()
    for model in publishable_models():
        label = model._meta.label_lower
        with transaction.atomic():
            last_kind = (
                PublicChange.objects.filter(model_label=label, object_id=OuterRef("pk"))
                .exclude(kind=Kind.RELATED)
                .order_by("-id")
                .values("kind")[:1]
            )
            missing = (
                model._default_manager.for_public()
                .annotate(last_kind=models.Subquery(last_kind))
                .filter(Q(last_kind__isnull=True) | Q(last_kind__in=GONE))
            )
            count = _append_kind(model, missing, kind=Kind.BASELINE, when=now)
            later = PublicChange.objects.filter(
                model_label=label, object_id=OuterRef("object_id"), id__gt=OuterRef("id")
            )
            stale = list(
                PublicChange.objects.filter(model_label=label)
                .exclude(kind__in=GONE)
                .exclude(object_id__in=model._default_manager.for_public().values("pk"))
                .filter(~Exists(later))
            )
            PublicChange.objects.bulk_create(
                PublicChange(
                    txid=CurrentTransactionId(),
                    model_label=label,
                    object_id=row.object_id,
                    lookup=row.lookup,
                    label=row.label,
                    kind=Kind.DELETED,
                    changed_at=now,
                )
                for row in stale
            )
            count += len(stale)
        if count:
            added[label] = count
    return added


def _append_kind(model, queryset, *, kind: str, when) -> int:
    """Append a ``kind`` row for every record of ``queryset`` (one ``INSERT … SELECT``)."""
    from .history import _label

    rows = queryset.order_by("pk").annotate(
        row_txid=CurrentTransactionId(),
        row_model=models.Value(model._meta.label_lower, output_field=models.CharField()),
        row_lookup=models.functions.Cast(models.F(lookup_field(model)), models.CharField()),
        row_label=models.functions.Left(_label(model), 500),
        row_kind=models.Value(kind, output_field=models.CharField()),
        row_when=models.Value(when, output_field=models.DateTimeField()),
        row_note=models.Value("", output_field=models.TextField()),
    )
    rows = rows.values_list(
        "row_txid", "row_model", "pk", "row_lookup", "row_label", "row_kind", "row_when", "row_note"
    )
    sql, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(PublicChange._meta.db_table)
    columns = "txid, model_label, object_id, lookup, label, kind, changed_at, note"
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {sql}", params)
        return cursor.rowcount


# --- The feed's cursor and rows -------------------------------------------------------------


class BadCursor(ValueError):
    pass


def encode_cursor(txid: int, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"1:{txid}:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[int, int]:
    """``(txid, id)`` from a cursor the feed gave; ``BadCursor`` for anything else."""
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        version, txid, row_id = text.split(":")
        if version != "1":
            raise ValueError(version)
        position = int(txid), int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor(
            _("This is not a cursor this feed gave: start without since=, or use a next link.")
        ) from exc
    if min(position) < 0 or max(position) >= 2**63:
        raise BadCursor(_("This is not a cursor this feed gave: start without since=, or use a next link."))
    return position


#: The first transaction id whose rows may still be uncommitted: the oldest transaction with an
#: id (a writing one) running in this database, else the next id to be given. When sessions of
#: another role are running here, their ids are hidden from us: then the oldest in the cluster.
HORIZON_SQL = """
SELECT CASE
    WHEN bool_or(NOT (pg_has_role(current_user, usesysid, 'USAGE')
                      OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')))
    THEN pg_snapshot_xmin(pg_current_snapshot())::text::bigint
    ELSE coalesce(min(backend_xid::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
END
FROM pg_stat_activity
WHERE datname = current_database()
"""


def feed_horizon() -> int | None:
    """Rows of transactions with a smaller id than this are all committed (or rolled back) and
    no more can come: ``feed_rows`` serves only those. None: no limit (SQLite, one writer)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(HORIZON_SQL)
        return cursor.fetchone()[0]


def feed_rows(
    *, after: tuple[int, int] | None, limit: int, model_labels: Iterable[str]
) -> list[PublicChange]:
    """The next ``limit`` rows after the cursor position ``after``, in ``(txid, id)`` order.

    Why not simply ``id`` order: ids are taken when a row is written, not when its transaction
    commits. A transaction that took id 10 and commits after one that took id 11 would be skipped
    by a client that already read 11. So rows are ordered by the id of their transaction first,
    and only rows of transactions older than every writing transaction still running in this
    database are served (``feed_horizon``, read in a statement before the rows are, so every
    transaction below it had ended when the rows' snapshot was taken): no row can appear before
    them any more, so a cursor never passes a row that is not yet visible. The price: while a
    writing transaction runs, rows committed after it started wait for it (a long transaction
    delays the feed, it never reorders it). Outside a transaction (autocommit), as the API reads.
    """
    horizon = feed_horizon()
    rows = PublicChange.objects.filter(model_label__in=list(model_labels))
    if horizon is not None:
        rows = rows.filter(txid__lt=horizon)
    if after is not None:
        txid, row_id = after
        rows = rows.filter(Q(txid__gt=txid) | Q(txid=txid, id__gt=row_id))
    return list(rows.order_by("txid", "id")[:limit])


# --- Changes as readers see them ------------------------------------------------------------


@dataclass
class FieldChange:
    name: str
    old: str
    new: str


@dataclass
class ReaderChange:
    """One public change of one record, as a reader sees it: the entries of one version of one
    record, in one transaction, make one change (a form's save and its many-to-many relations)."""

    model_label: str
    object_id: int
    label: str
    kind: str
    changed_at: datetime.datetime
    note: str
    officer: str = ""
    url: str = ""
    record_type: str = ""
    fields: list[FieldChange] = field(default_factory=list)
    first_id: int = 0
    last_id: int = 0
    history_id: int | None = None
    previous_history_id: int | None = None
    #: Shown on another record's page as one of its parts (an event on its agreement's page).
    part: bool = False

    @property
    def action(self) -> str:
        actions: dict[str, str] = {
            Kind.PUBLISHED: _("Published"),
            Kind.CHANGED: _("Changed"),
            Kind.WITHDRAWN: _("Withdrawn"),
            Kind.DELETED: _("Deleted"),
        }
        return actions.get(self.kind, self.kind)


def reader_rows() -> models.QuerySet[PublicChange]:
    """The rows readers are shown: those with a history entry (related and baseline rows are
    the feed's bookkeeping, not changes someone made)."""
    return PublicChange.objects.filter(history_id__isnull=False)


def group_rows(rows: Sequence[PublicChange]) -> list[ReaderChange]:
    """Rows (newest first) grouped per record, transaction and version into ``ReaderChange``s."""
    changes: list[ReaderChange] = []
    current: ReaderChange | None = None
    key = None
    for row in rows:
        row_key = (row.model_label, row.object_id, row.txid, row.record_version)
        if current is not None and row_key == key:
            # Older entry of the same save: the change starts from its previous version.
            current.previous_history_id = row.previous_history_id
            current.first_id = row.id
            current.note = current.note or row.note
            if row.kind == Kind.PUBLISHED:
                current.kind = Kind.PUBLISHED
            continue
        key = row_key
        current = ReaderChange(
            model_label=row.model_label,
            object_id=row.object_id,
            label=row.label,
            kind=row.kind,
            changed_at=row.changed_at,
            note=row.note,
            first_id=row.id,
            last_id=row.id,
            history_id=row.history_id,
            previous_history_id=row.previous_history_id,
        )
        current.officer = str(row.user_id or "")
        changes.append(current)
    return changes


def describe(rows: Sequence[PublicChange], *, record_url=None) -> list[ReaderChange]:
    """``ReaderChange``s for a page of rows (newest first), with their field changes old → new.

    Queries per page, never per row or per record type: the history entries of every record
    type in the page (one), their many-to-many entries (one), the names of the related records
    (one), the officers' names when shown (one)."""
    from .services import publishable_models, users_named

    changes = group_rows(rows)
    models_by_label = {model._meta.label_lower: model for model in publishable_models()}
    wanted: dict[str, set[int]] = defaultdict(set)
    for change in changes:
        if change.kind in (Kind.CHANGED, Kind.PUBLISHED) and change.history_id and change.previous_history_id:
            wanted[change.model_label] |= {change.history_id, change.previous_history_id}
    renderer = _Renderer()
    history_ids: dict[type[models.Model], set[int]] = {
        models_by_label[label]: ids for label, ids in wanted.items() if label in models_by_label
    }
    entries = renderer.load_entries(history_ids)
    renderer.load_m2m(history_ids)
    for change in changes:
        model = models_by_label.get(change.model_label)
        if model is not None:
            change.record_type = str(model._meta.verbose_name)
        new = entries.get((change.model_label, change.history_id or 0))
        old = entries.get((change.model_label, change.previous_history_id or 0))
        if model is not None and new is not None and old is not None:
            change.fields = renderer.diff(model, old, new)
    renderer.resolve()
    for change in changes:
        for item in change.fields:
            item.old, item.new = renderer.text(item.old), renderer.text(item.new)
        # Ids that differ only by records the public does not see read the same: no change.
        change.fields = [item for item in change.fields if item.old != item.new]
        if record_url is not None:
            change.url = record_url(change)
    if getattr(settings, "SHOW_OFFICER_NAMES", False):
        names = users_named(
            (int(change.officer) for change in changes if change.officer), with_usernames=False
        )
        for change in changes:
            change.officer = names.get(int(change.officer), "") if change.officer else ""
    else:
        for change in changes:
            change.officer = ""
    return changes


@cache
def public_field_names(model: type[models.Model]) -> tuple[str, ...]:
    """The fields of ``model`` the public sees: those its API representation shows (by their
    model field), else its concrete fields; never the officers' workflow fields. Read once per
    type (it builds the serializer's fields: 1.5 ms a type, several types a page of changes)."""
    route = api_routes().get(model._meta.label_lower)
    names: list[str] = []
    if route is not None:
        serializer = route.viewset.serializer_class()
        for field_name, api_field in serializer.fields.items():
            source = (api_field.source or "").split(".")[0]
            # A field reading the whole record (a partial date's two columns) is named as its field.
            names.append(field_name if source in ("", "*") else source)
    else:
        names = [f.name for f in model._meta.get_fields() if not f.auto_created]
    model_fields = {f.name: f for f in model._meta.get_fields() if not f.auto_created}
    ordered = [f.name for f in model._meta.get_fields() if f.name in set(names) and f.name in model_fields]
    return tuple(
        name
        for name in ordered
        if name not in HIDDEN_FIELDS and not name.endswith("_precision") and not name.startswith("history")
    )


def _diffed_columns(model: type[models.Model]) -> list[models.Field]:
    """The record's own columns ``_Renderer.diff`` reads: its public fields' (a partial date's
    precision with its date), not the many-to-many ones (``load_m2m``)."""
    columns = []
    for name in public_field_names(model):
        model_field = cast(models.Field, model._meta.get_field(name))
        if model_field.many_to_many:
            continue
        columns.append(model_field)
        precision = f"{name}_precision"
        if isinstance(model_field, models.DateField) and hasattr(model, precision):
            columns.append(cast(models.Field, model._meta.get_field(precision)))
    return columns


def read_columns(
    parts: dict[str, tuple[models.QuerySet, str, dict[str, models.Field]]],
) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """The rows of several tables in one query (a ``UNION ALL``): for each label, the rows of
    its queryset as (label, the row's ``key``, its ``columns`` as the ORM reads them). Columns
    are named by their lookup path (an attribute name, or a related record's: ``agreement__slug``),
    each read back by the field given for it. Each row's columns travel as one JSON object (a
    decimal as its text, so that no digit is lost). PostgreSQL before 16 builds it with
    ``JSONB_BUILD_OBJECT``, at most 100 arguments: 50 columns (the widest type, a funding record,
    has 27)."""
    selects = [
        queryset.order_by().values_list(  # the union's parts are not ordered (SQLite refuses it)
            Value(label, output_field=models.CharField()),
            key,
            JSONObject(
                **{
                    path: Cast(path, models.CharField()) if isinstance(f, models.DecimalField) else F(path)
                    for path, f in columns.items()
                }
            ),
        )
        for label, (queryset, key, columns) in parts.items()
    ]
    if selects:
        for label, key, values in selects[0].union(*selects[1:], all=True):
            yield label, key, {path: _as_read(f, values[path]) for path, f in parts[label][2].items()}


def _as_read(model_field: models.Field, value: Any) -> Any:
    """A column's value from its JSON form, by its field's ``to_python``: a decimal with the
    column's places, a date, a boolean (SQLite's JSON writes it 1 or 0) read as the ORM reads
    them. Not the database backend's converters: a timestamp would come back without its time
    zone on SQLite, so none is read this way."""
    value = model_field.to_python(value)
    if isinstance(model_field, models.DecimalField) and value is not None:
        value = value.quantize(Decimal(1).scaleb(-model_field.decimal_places))
    return value


class _Renderer:
    """Renders old and new values for readers, looking up related names in one query.

    Values are kept as tokens while diffs are collected, then resolved: ``("fk", Model, ids)``
    becomes the names of the published records among ``ids``."""

    def __init__(self) -> None:
        self.m2m: dict[tuple[str, int, str], list[Any]] = defaultdict(list)
        self.needed: dict[type[models.Model], set[Any]] = defaultdict(set)
        self.names: dict[tuple[type[models.Model], Any], str] = {}

    def load_entries(self, history_ids: dict[type[models.Model], set[int]]) -> dict[tuple[str, int], Any]:
        """These history entries of each record type, by (type, history id), every type's in one
        query (``read_columns``), each entry an object holding just the columns ``diff`` reads."""
        parts = {
            model._meta.label_lower: (
                history_model_of(model)._default_manager.filter(history_id__in=ids),
                "history_id",
                {f.attname: f for f in _diffed_columns(model)},
            )
            for model, ids in history_ids.items()
        }
        return {
            (label, history_id): SimpleNamespace(history_id=history_id, **values)
            for label, history_id, values in read_columns(parts)
        }

    def load_m2m(self, history_ids: dict[type[models.Model], set[int]]) -> None:
        """The many-to-many entries of these history entries of each record type: every relation
        of every type in one query (a ``UNION ALL``, each row named by its type and relation)."""
        parts = [
            HistoricalRecords.m2m_models[m2m]
            ._default_manager.filter(history_id__in=ids)
            .values_list(
                Value(model._meta.label_lower, output_field=models.CharField()),
                Value(m2m.name, output_field=models.CharField()),
                "history_id",
                f"{m2m.m2m_reverse_field_name()}_id",
            )
            for model, ids in history_ids.items()
            for m2m in getattr(history_model_of(model), "_history_m2m_fields", [])
        ]
        if parts:
            for label, name, history_id, value in parts[0].union(*parts[1:], all=True):
                self.m2m[(label, history_id, name)].append(value)

    def diff(self, model, old, new) -> list[FieldChange]:
        changes = []
        for name in public_field_names(model):
            model_field = model._meta.get_field(name)
            before, after = self.value(model, model_field, old), self.value(model, model_field, new)
            if before != after:
                changes.append(FieldChange(str(getattr(model_field, "verbose_name", name)), before, after))
        return changes

    def value(self, model, model_field, entry) -> Any:
        if model_field.many_to_many:
            ids = sorted(self.m2m.get((model._meta.label_lower, entry.history_id, model_field.name), []))
            self.needed[model_field.related_model].update(ids)
            return ("many", model_field.related_model, tuple(ids))
        raw = getattr(entry, model_field.attname, None)
        if model_field.many_to_one:
            if raw is not None:
                self.needed[model_field.related_model].add(raw)
            return ("one", model_field.related_model, raw)
        precision = f"{model_field.name}_precision"
        if isinstance(model_field, models.DateField) and hasattr(entry, precision):
            partial = PartialDate.of(raw, getattr(entry, precision)) if raw else None
            return ("text", str(partial) if partial else "")
        if model_field.choices:
            return ("text", str(dict(model_field.flatchoices).get(raw, raw or "")))
        if isinstance(raw, bool):
            return ("text", _("yes") if raw else _("no"))
        if raw is None:
            return ("text", "")
        if isinstance(model_field, models.TextField):
            return ("text", Truncator(strip_tags(str(raw))).words(40))
        return ("text", str(raw))

    def resolve(self) -> None:
        """The names of the published records among those needed, every related type's in one
        query (``read_columns``): each its record's own ``str()``, of a record read without its
        long texts, timestamps and stored search document (a column ``str()`` reads that is left
        out would be loaded record by record: the query budget tests would see it)."""
        parts = {}
        for model, ids in self.needed.items():
            columns = {
                f.attname: f
                for f in model._meta.concrete_fields
                if not isinstance(f, models.TextField | models.DateTimeField | SearchVectorField)
            }
            parts[model._meta.label_lower] = (
                model._base_manager.filter(published_q(), pk__in=ids),
                "pk",
                columns,
            )
        models_by_label = {model._meta.label_lower: model for model in self.needed}
        for label, pk, values in read_columns(parts):
            model = models_by_label[label]
            record = model.from_db(
                None,
                list(values),
                [values[f.attname] for f in model._meta.concrete_fields if f.attname in values],
            )
            self.names[(model, pk)] = str(record)

    def text(self, token: Any) -> str:
        if not isinstance(token, tuple):
            return str(token)
        if token[0] == "text":
            return token[1] or "—"
        if token[0] == "one":
            if token[2] is None:
                return "—"
            return self.names.get((token[1], token[2]), _("a record not published"))
        if token[0] == "many":
            names = sorted(self.names[(token[1], pk)] for pk in token[2] if (token[1], pk) in self.names)
            return ", ".join(names) or "—"
        return "—"


#: How many changes a record's page lists (the "What changed" page has them all).
RECORD_PAGE_CHANGES = 10


def record_change_rows(record: PublishableModel) -> models.QuerySet[PublicChange]:
    """The public changes of ``record`` and of the records shown on its page as its parts (its
    agreement's events, its route's figures: ``PAGE_OWNER``), newest first."""
    from .services import publishable_models

    condition = Q(model_label=record._meta.label_lower, object_id=record.pk)
    for model in publishable_models():
        owner = getattr(model, "PAGE_OWNER", None)
        if owner and model._meta.get_field(owner).related_model is type(record):
            parts = model._base_manager.filter(**{owner: record.pk}).values("pk")
            condition |= Q(model_label=model._meta.label_lower, object_id__in=parts)
    return reader_rows().filter(condition).order_by("-changed_at", "-id")


def record_changes(record: PublishableModel, *, limit: int = RECORD_PAGE_CHANGES) -> list[ReaderChange]:
    """What a record's page lists under "Changes": its last public changes, with old → new."""
    changes = describe(list(record_change_rows(record)[: limit * 3]))[:limit]
    for change in changes:
        change.part = change.model_label != record._meta.label_lower
    return changes
