"""Records read ``CSV_CHUNK`` at a time for a download, with their to-many relations as plain
values (slugs, ISO codes): what a streamed export needs, at a fraction of the cost of model
instances and Django's prefetch (which builds a related manager and a queryset per record).

``RelatedValues`` is one query per chunk and relation: (owner id, value) pairs in the order the
related model lists its records, as ``prefetch_related`` would give them, with published
related records only unless drafts are asked for (``published_q``, the public's one rule).
``records_in_chunks`` walks a queryset (a server-side cursor on PostgreSQL; behind PgBouncer in
transaction mode, which allows none, its ids first and then a chunk at a time by id) and hands
each chunk with those values, so a worker's memory depends on the chunk size, not on the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Literal

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections, models
from django.db.models import OuterRef
from django.db.models.expressions import RawSQL

from .models import published_q
from .spreadsheets import CSV_CHUNK


class UnsupportedRelation(Exception):
    """A relation ``RelatedValues`` cannot read (ordered by an expression, not to-many)."""


class RelatedValues:
    """The values of ``value_field`` of the records the to-many relation ``name`` of ``model``
    leads to, per owner id: forward or reverse many-to-many, or a reverse foreign key."""

    #: The query's SQL, its parameters and where the ids go, once compiled (``_compile``).
    _compiled: tuple[str, list, int] | Literal[False] | None = None

    def __init__(self, model: type[models.Model], name: str, value_field: str, *, drafts: bool) -> None:
        relation = model._meta.get_field(name)
        related = relation.related_model
        if not (isinstance(related, type) and issubclass(related, models.Model)):
            raise UnsupportedRelation(name)
        ordering = [o for o in related._meta.ordering or () if isinstance(o, str)]
        if len(ordering) != len(related._meta.ordering or ()):
            raise UnsupportedRelation(name)
        if isinstance(relation, models.ManyToManyField):
            m2m, owner_path, target = relation, relation.m2m_field_name(), relation.m2m_reverse_field_name()
        elif isinstance(relation, models.ManyToManyRel):
            m2m = relation.field
            owner_path, target = m2m.m2m_reverse_field_name(), m2m.m2m_field_name()
        elif isinstance(relation, models.ManyToOneRel):
            queryset = related._default_manager.order_by(*ordering, "pk")
            if not drafts:
                # The model's own published(): a link is public only with both its records.
                published = getattr(queryset, "published", None)
                queryset = published() if published is not None else queryset.filter(published_q())
            self.owner, self.value = relation.field.attname, value_field
            self.queryset = queryset.values_list(self.owner, value_field)
            return
        else:
            raise UnsupportedRelation(name)
        through = m2m.remote_field.through
        assert isinstance(through, type) and issubclass(through, models.Model)
        order = [f"-{target}__{o[1:]}" if o.startswith("-") else f"{target}__{o}" for o in ordering]
        queryset = through._default_manager.order_by(*order, f"{target}__pk")
        if not drafts:
            queryset = queryset.filter(published_q(target))
        self.owner, self.value = f"{owner_path}_id", f"{target}__{value_field}"
        self.queryset = queryset.values_list(self.owner, self.value)

    def of(self, ids: Sequence[int]) -> dict[int, list]:
        """Owner id → its values, in order (an owner without any is absent)."""
        values: dict[int, list] = {}
        for owner_id, value in self._pairs(ids):
            values.setdefault(owner_id, []).append(value)
        return values

    def array(self, using: str) -> ArraySubquery | None:
        """The values of one owner, as a column of the owners' own query on PostgreSQL
        (``ARRAY(SELECT ...)`` keeps its subquery's order): no query of its own for a few
        owners. None elsewhere, or where a value is converted after it is read."""
        if connections[using].vendor != "postgresql":
            return None
        if self._compiled is None:
            self._compiled = self._compile()
        if self._compiled is False:
            return None
        return ArraySubquery(self.queryset.filter(**{self.owner: OuterRef("pk")}).values_list(self.value))

    def _pairs(self, ids: Sequence[int]) -> Iterable[tuple[int, object]]:
        """(owner id, value) of these owners. On PostgreSQL the query is compiled once (a
        download asks it for every chunk: its compilation cost more than its rows) and the
        ids are one array parameter, written as its text (faster to send than 1 000 ints)."""
        if connections[self.queryset.db].vendor != "postgresql":
            return self.queryset.filter(**{f"{self.owner}__in": list(ids)})
        if self._compiled is None:
            self._compiled = self._compile()
        if self._compiled is False:  # values Django converts: through the ORM
            in_chunk = RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))
            return self.queryset.filter(**{f"{self.owner}__in": in_chunk})
        sql, params, at = self._compiled
        params = [*params]
        params[at] = "{" + ",".join(map(str, ids)) + "}"
        with connections[self.queryset.db].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _compile(self) -> tuple[str, list, int] | Literal[False]:
        """The query's SQL and parameters, and where the ids go; False when a value is
        converted after it is read (``from_db_value``), which only the ORM does."""
        marker = object()
        in_chunk = RawSQL("SELECT unnest(%s::bigint[])", (marker,))
        queryset = self.queryset.filter(**{f"{self.owner}__in": in_chunk})
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        if compiler.get_converters([column for column, _, _ in compiler.select]):
            return False
        params = list(params)
        return sql, params, next(i for i, param in enumerate(params) if param is marker)


def _pk(record) -> int:
    """A record's id: a model instance's, a ``values()`` dict's, or the first of a
    ``values_list()`` row (which names ``"pk"`` first)."""
    if isinstance(record, models.Model):
        return record.pk
    return record[0] if isinstance(record, tuple) else record["pk"]


def _chunks(queryset: models.QuerySet, size: int) -> Iterator[list]:
    """The records of ``queryset`` in its order, ``size`` at a time.

    A server-side cursor where there is one. Without (``DISABLE_SERVER_SIDE_CURSORS``, set for
    PgBouncer in transaction mode) the driver would hold the whole answer in memory (236 MB more
    for the explorer's 100 000 records, docs/performance.md): then the ids come first, in order
    (a few MB for 100 000), and each chunk is read by its ids.
    """
    if queryset.query.is_sliced or not connections[queryset.db].settings_dict.get(
        "DISABLE_SERVER_SIDE_CURSORS"
    ):
        records = queryset.iterator(chunk_size=size)
        while chunk := list(islice(records, size)):
            yield chunk
        return
    ids = list(queryset.values_list("pk", flat=True))
    for start in range(0, len(ids), size):
        part = ids[start : start + size]
        found = {_pk(record): record for record in queryset.filter(pk__in=part)}
        # A record deleted since its id was read is left out (a cursor's snapshot would keep it).
        yield [found[pk] for pk in part if pk in found]


def records_in_chunks(
    queryset: models.QuerySet, relations: dict[str, RelatedValues]
) -> Iterator[tuple[list, dict[str, dict[int, list]]]]:
    """(records, relation name → owner id → values) for each ``CSV_CHUNK`` records of
    ``queryset``, in its order (its own ``prefetch_related`` lookups, if any, run per chunk too)."""
    for chunk in _chunks(queryset, CSV_CHUNK):
        ids = [_pk(record) for record in chunk]
        yield chunk, {name: related.of(ids) for name, related in relations.items()}
