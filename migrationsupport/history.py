"""Reads over the history of every record: the site-wide "recent changes" list.

Each record type keeps its history in its own table (django-simple-history). The recent changes
are one ``UNION ALL`` over those tables, reduced to the columns they share plus a label, ordered
by date and cut to a page in the database: a page costs one query (and one to count), however
many tables and rows there are. PostgreSQL answers it with a merge of the ``history_date``
indexes.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models
from django.db.models import Case, CharField, Exists, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, NullIf

from .models import PublishableModel, published_q
from .services import publishable_models, users_named

#: The field that names a record, first match wins; the slug is the fallback.
LABEL_FIELDS = ("title", "name", "label", "group")
ROW_FIELDS = ("history_id", "history_date", "history_type", "history_change_reason", "history_user_id")


def history_models() -> dict[str, tuple[type[models.Model], type[models.Model]]]:
    """``{"funding.fundingrecord": (FundingRecord, HistoricalFundingRecord), ...}``."""
    return {
        model._meta.label_lower: (model, model.history.model)
        for model in publishable_models()
        if hasattr(model._meta, "simple_history_manager_attribute")
    }


def _label(history_model: type[models.Model]) -> models.Expression:
    names = {f.name for f in history_model._meta.fields}
    fallback = next((Cast(F(name), CharField()) for name in ("slug", "kind") if name in names), None)
    for name in LABEL_FIELDS:
        if name in names:
            expression = Cast(F(name), CharField())
            if fallback is None:
                return expression
            return Coalesce(NullIf(expression, Value("")), fallback, output_field=CharField())
    return fallback if fallback is not None else Cast(F("id"), CharField())


@dataclass(frozen=True)
class Change:
    model_label: str
    model_name: str
    object_id: int
    label: str
    history_id: int
    history_date: datetime.datetime
    history_type: str
    reason: str
    user_id: int | None
    user_name: str
    url: str = ""

    @property
    def action(self) -> str:
        return {"+": "Created", "~": "Changed", "-": "Deleted"}.get(self.history_type, self.history_type)


def recent_changes_queryset(
    *,
    model_label: str | None = None,
    model_labels: Iterable[str] | None = None,
    user_id: int | None = None,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> models.QuerySet:
    """The history entries of every record type (or one), newest first, as one UNION query.

    ``model_labels`` limits the record types to those the officer may see.
    """
    allowed = set(model_labels) if model_labels is not None else None
    branches = []
    for label, (_model, history_model) in history_models().items():
        if (model_label and label != model_label) or (allowed is not None and label not in allowed):
            continue
        branch = history_model._default_manager.all()
        if user_id is not None:
            branch = branch.filter(history_user_id=user_id)
        if since is not None:
            branch = branch.filter(history_date__gte=since)
        if until is not None:
            branch = branch.filter(history_date__lt=until)
        branches.append(
            branch.order_by()
            .annotate(
                object_pk=F("id"),
                record_label=_label(history_model),
                model_label=Value(label, output_field=CharField()),
            )
            .values(*ROW_FIELDS, "object_pk", "record_label", "model_label")
        )
    if not branches:
        return next(iter(history_models().values()))[1]._default_manager.none().values(*ROW_FIELDS)
    first, *others = branches
    return first.union(*others, all=True).order_by("-history_date", "-history_id")


def describe_changes(rows: list[dict], *, url_for=None, with_usernames: bool = True) -> list[Change]:
    """Turn a page of ``recent_changes_queryset`` rows into ``Change`` objects (one user query).

    ``url_for(model_label, object_id)`` gives each change its link, e.g. the record's history;
    ``with_usernames=False`` names officers without their login names.
    """
    models_by_label = history_models()
    names = users_named(
        (row["history_user_id"] for row in rows if row["history_user_id"]), with_usernames=with_usernames
    )
    return [
        Change(
            model_label=row["model_label"],
            model_name=str(models_by_label[row["model_label"]][0]._meta.verbose_name),
            object_id=row["object_pk"],
            label=row["record_label"] or "",
            history_id=row["history_id"],
            history_date=row["history_date"],
            history_type=row["history_type"],
            reason=row["history_change_reason"] or "",
            user_id=row["history_user_id"],
            user_name=names.get(row["history_user_id"], "") if row["history_user_id"] else "",
            url=url_for(row["model_label"], row["object_pk"]) if url_for else "",
        )
        for row in rows
    ]


def last_published_change(record: PublishableModel) -> datetime.datetime | None:
    """When the public last saw ``record`` change: the newest history entry written while the
    record was published (its publication and the seed's load included).

    Not ``updated_at``: that moves with every save, drafts' included, and a preview of a draft
    (``preview.render_preview``) would show the date of an edit the public has not seen. A draft
    edit reaches the public only when the record is published again, and then the publication is
    the date shown. Changes to related records (the countries of a document) count, since
    django-simple-history writes an entry for them. A record with no history at all (made by
    ``bulk_create``, as demo data is) falls back to its ``updated_at``, and one whose history
    holds no published entry has no date to show.

    Read from the record's query when it was loaded ``with_last_published_change`` (a detail
    page: no query of its own), else one query (two index probes on the history's own table).
    """
    if hasattr(record, "last_published_change_at"):
        return record.last_published_change_at
    expression = _last_published_change(type(record))
    if expression is None or record.pk is None:
        return record.updated_at
    found = list(type(record)._base_manager.filter(pk=record.pk).values_list(expression, flat=True))
    return found[0] if found else record.updated_at


def with_last_published_change(queryset: models.QuerySet) -> models.QuerySet:
    """``queryset`` with each record's ``last_published_change`` annotated (as
    ``last_published_change_at``): two correlated subqueries in the record's own query."""
    expression = _last_published_change(queryset.model)
    return queryset if expression is None else queryset.annotate(last_published_change_at=expression)


def _last_published_change(model: type[models.Model]) -> models.Expression | None:
    """``last_published_change`` in SQL for a record of ``model`` (``OuterRef("pk")``): the
    newest published entry's date when the record has any history entry, else ``updated_at``."""
    attribute = getattr(model._meta, "simple_history_manager_attribute", None)
    if attribute is None:
        return None
    history = getattr(model, attribute).model
    entries = history._default_manager.filter(**{model._meta.pk.attname: OuterRef("pk")})
    newest = entries.filter(published_q()).order_by("-history_date").values("history_date")[:1]
    return Case(
        When(Exists(entries), then=Subquery(newest)),
        default=F("updated_at"),
        output_field=models.DateTimeField(),
    )
