"""Queries a page runs with the same SQL on every request, built and compiled once per process.

Django builds a queryset (``filter()``, ``select_related()``...) and compiles it to SQL anew
for every request: 0.3-1.4 ms a query, 9 ms of the overview's 48 ms at +100 000 records
(docs/performance.md, 6 December, eleventh session). A region digest's lists, for one set of
regions, are the same SQL every time; only the rows change. ``rows(key, build)`` keeps, per
process, the queryset ``build()`` returned for ``key`` and, for each database it is read from,
the SQL it compiled to with what Django needs to read its rows back (the selected columns, the
joined records' layout, the annotations); a later call runs that SQL again and reads fresh rows
through the queryset's own iterable (``for_public()``'s hiding of drafts included) and its
``prefetch_related()`` (whose own queries are built each time). Nothing read is kept: only SQL.

``key`` must name everything ``build()``'s SQL depends on (its arguments: ids, limits), and the
SQL must depend on nothing else: not the time, the request, the user or the active time zone.
The public's rule (``published_q``) is a status, not a time, so a published list qualifies.
The queryset is never handed out (a chained ``filter()`` would run the kept SQL): callers get
a list. At most ``KEPT`` keys are kept, the least recently used dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

#: How many keys a process keeps: a region digest is 8, a search 9 (one per record type); one
#: takes about 26 kB (tracemalloc over 60 searches), so at most about 13 MB a process.
KEPT = 512

# What a compiler's as_sql() sets that reading the rows back needs (Django 5.2, whose
# ModelIterable, ValuesListIterable and SQLCompiler.execute_sql/results_iter read these;
# tests/migrationsupport/test_compiled.py compares every shape used with the ORM's own answer).
_STATE = ("select", "klass_info", "annotation_col_map", "col_count", "has_extra_select")


class _Kept:
    """One key's queryset and, per database, its SQL, parameters and compiler state."""

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset
        # Per database: the SQL, its parameters, where each value goes in them, compiler state.
        self.compiled: dict[str, tuple[str | None, tuple, list[tuple[int, int]], dict[str, Any]]] = {}

    def rows(self, values: tuple) -> list:
        queryset = self.queryset.all()  # a clone
        query = queryset.query
        original = query.get_compiler

        def get_compiler(using=None, connection=None, elide_empty=True):
            compiler = original(using, connection, elide_empty)
            alias = compiler.using
            if alias not in self.compiled:
                try:
                    sql, params = compiler.as_sql()
                except EmptyResultSet:
                    sql, params = None, ()
                slots = [
                    (place, param.number) for place, param in enumerate(params) if isinstance(param, _Slot)
                ]
                state = {name: getattr(compiler, name) for name in _STATE}
                self.compiled[alias] = (sql, tuple(params), slots, state)
            sql, params, slots, state = self.compiled[alias]
            if slots:
                bound = list(params)
                for place, number in slots:
                    bound[place] = values[number]
                params = tuple(bound)
            vars(compiler).update(state)
            compiler.as_sql = lambda *args, **kwargs: _frozen(sql, params)
            return compiler

        # On this clone only, which is evaluated here and never returned.
        query.get_compiler = get_compiler  # type: ignore[method-assign]
        return list(queryset)


def _frozen(sql: str | None, params: tuple) -> tuple[str, tuple]:
    if sql is None:  # a query that can match nothing (``pk__in=[]``): Django runs none
        raise EmptyResultSet
    return sql, params


class _Slot:
    """The place of the n-th value of ``rows(key, build, *values)`` in the kept parameters."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number


_kept: OrderedDict[Hashable, _Kept] = OrderedDict()
_lock = Lock()


def rows(key: Hashable, build: Callable[..., QuerySet], *values: object) -> list:
    """The rows of ``build()``'s queryset, read now; built and compiled once per process for
    ``key`` (which must name all its SQL depends on) and database.

    With ``values``, ``build`` takes an expression standing for each (``filter(slug=slug)``)
    and ``key`` names the query's shape: one SQL for every value (a record's page, whichever
    record), each run with its own values in their places. An expression is a plain parameter
    (``%s``): where Django would adapt the value (a list for ``__in``, a pattern for
    ``__contains``), pass it ready."""
    with _lock:
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
    if kept is None:
        kept = _Kept(build(*(RawSQL("%s", (_Slot(number),)) for number in range(len(values)))))
        with _lock:
            kept = _kept.setdefault(key, kept)
            while len(_kept) > KEPT:
                _kept.popitem(last=False)
    return kept.rows(values)


def forget() -> None:
    """Drop every kept query (tests: a new test database's content types, another schema)."""
    with _lock:
        _kept.clear()
