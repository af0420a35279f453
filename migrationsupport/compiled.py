"""Queries a page runs with the same SQL on every request, built and compiled once per process.

Django builds a queryset (``filter()``, ``select_related()``...) and compiles it to SQL anew
for every request: 0.3-1.4 ms a query, 9 ms of the overview's 46 ms at +100 000 records
(docs/performance.md, "6 December 2026 (eleventh session)"). A region digest's lists, for one
set of regions, are the same SQL every time; only the rows change. ``rows(key, build)`` keeps,
per process, the queryset ``build()`` returned for ``key`` and, for each database it is read
from, the SQL it compiled to with what Django needs to read its rows back (the selected columns,
the joined records' layout, the annotations); a later call runs that SQL again and reads fresh
rows through the queryset's own iterable (``for_public()``'s hiding of drafts included) and its
``prefetch_related()`` (whose own queries are built each time, from copies of its ``Prefetch``
objects: Django marks a prefetch's queryset with the instance it serves, which must not outlive
the call). Nothing read is kept: only SQL.

``key`` must name everything ``build()``'s SQL depends on (its arguments: ids, limits), and the
SQL must depend on nothing else: not the time, the request, the user or the active time zone.
The public's rule (``published_q``) is a status, not a time, so a published list qualifies.
Callers get a list, never a queryset: the clone evaluated here answers the kept SQL whatever is
chained to it. A key is kept under the code that builds its queryset (``_site``): call sites
with code of their own never read each other's SQL, whatever their keys; calls that share code
(one helper's lambda: pass the caller's function as ``site``) are told apart by their keys.
Keys are kept in pools (``POOLS``), the least recently used dropped first: what
visitors type (searches) has its own, so it never pushes out what every page reads.
"""

from __future__ import annotations

import copy
import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import Prefetch, QuerySet
from django.db.models.expressions import RawSQL

#: How many keys each pool keeps. One takes about 26 kB (tracemalloc over 60 searches), per
#: database it is read from. "pages": a region digest is 8 keys, a list page's filter choices
#: one per field, a record's page one per view (the record is a value, not a key); "search": a
#: search is 11 keys (one per record type), so the last 23 searches.
POOLS = {"pages": 512, "search": 256}

# What a compiler's as_sql() sets that reading the rows back needs (Django 5.2, whose
# ModelIterable, ValuesListIterable and SQLCompiler.execute_sql/results_iter read these;
# tests/migrationsupport/test_compiled.py compares the shapes the pages use with the ORM's own
# answer, and the pages' HTML was compared before and after: docs/performance.md).
_STATE = ("select", "klass_info", "annotation_col_map", "col_count", "has_extra_select")


class _Kept:
    """One key's queryset and, per database, its SQL, parameters and compiler state."""

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset
        # Per database: the SQL, its parameters, where each value goes in them, compiler state.
        self.compiled: dict[str, tuple[str | None, tuple, list[tuple[int, int]], dict[str, Any]]] = {}

    def rows(self, values: tuple) -> list:
        queryset = self.queryset.all()  # a clone
        lookups = queryset._prefetch_related_lookups  # type: ignore[attr-defined]  # Django's own
        queryset._prefetch_related_lookups = tuple(map(_own_copy, lookups))  # type: ignore[attr-defined]
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
                slots = [(place, p.number) for place, p in enumerate(params) if isinstance(p, _Slot)]
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


def _own_copy(lookup):
    """A ``Prefetch`` with a queryset of its own for this call (a lookup by name is a string)."""
    if not isinstance(lookup, Prefetch) or lookup.queryset is None:
        return lookup
    own = copy.copy(lookup)
    own.queryset = lookup.queryset.all()
    return own


def _frozen(sql: str | None, params: tuple) -> tuple[str, tuple]:
    if sql is None:  # a query that can match nothing (``pk__in=[]``): Django runs none
        raise EmptyResultSet
    return sql, params


class _Slot:
    """The place of the n-th value of ``rows(key, build, *values)`` in the kept parameters."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number


_pools: dict[str, OrderedDict[Hashable, _Kept]] = {name: OrderedDict() for name in POOLS}
_lock = Lock()


def rows(
    key: Hashable,
    build: Callable[..., QuerySet],
    *values: object,
    pool: str = "pages",
    site: Callable | None = None,
) -> list:
    """The rows of ``build()``'s queryset, read now; built and compiled once per process for
    ``key`` (which must name all its SQL depends on) and database.

    With ``values``, ``build`` takes an expression standing for each (``filter(slug=slug)``)
    and ``key`` names the query's shape: one SQL for every value (a record's page, whichever
    record), each run with its own values in their places. An expression is a plain parameter
    (``%s``) compared as it is: for a lookup that makes something of its value (``__in`` takes
    a list, ``__contains`` a pattern it escapes), put the value in the key instead.

    ``site``: the caller's function when ``build`` is a helper's wrapper of it: the key is kept
    under its code (``_site``), else under ``build``'s."""
    kept_in = _pools[pool]
    key = (_site(site or build), key)
    with _lock:
        kept = kept_in.get(key)
        if kept is not None:
            kept_in.move_to_end(key)
    if kept is None:
        kept = _Kept(build(*(RawSQL("%s", (_Slot(number),)) for number in range(len(values)))))
        with _lock:
            kept = kept_in.setdefault(key, kept)
            while len(kept_in) > POOLS[pool]:
                kept_in.popitem(last=False)
    return kept.rows(values)


def _site(build: Callable) -> object:
    """Where ``build``'s code is (its file, first line and qualified name: two identical lambdas
    in two modules are two sites), through ``functools.partial``, with the model of a manager's
    or queryset's bound method (every manager method shares one code: ``Theme.objects.published``
    and ``Route.objects.published``); a callable object's type."""
    while isinstance(build, functools.partial):
        build = build.func
    code = getattr(getattr(build, "__func__", build), "__code__", None)
    if code is None:
        return type(build)
    owner = getattr(build, "__self__", None)
    return (code.co_filename, code.co_firstlineno, code.co_qualname, getattr(owner, "model", None))


def forget() -> None:
    """Drop every kept query (tests: each starts as a new worker would)."""
    with _lock:
        for kept_in in _pools.values():
            kept_in.clear()
