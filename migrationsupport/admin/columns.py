"""Values for changelist columns: a to-many relation as one comma-separated cell (``names``) and
the name of a record's last editor, annotated in the changelist query (``last_editor``) so a page
makes no query per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim

if TYPE_CHECKING:
    from ..models import PublishableModel


def names(objects: Iterable[object]) -> str:
    """A comma-separated column for a to-many relation; give it a prefetched ``.all()``."""
    return ", ".join(str(obj) for obj in objects)


def last_editor(model: type[PublishableModel]) -> Subquery:
    """The name of whoever made the newest history entry: one correlated subquery, no query per row."""
    history = model.history.model
    name = Coalesce(
        NullIf(Trim(Concat("history_user__first_name", Value(" "), "history_user__last_name")), Value("")),
        "history_user__username",
    )
    newest = (
        history.objects.filter(**{model._meta.pk.attname: OuterRef("pk")})
        .order_by("-history_date", "-history_id")
        .annotate(editor=name)
        .values("editor")[:1]
    )
    return Subquery(newest, output_field=models.CharField())
