"""The site as it stood at a moment: ``?as_of=`` on every public page and API endpoint.

The history of every record is kept by django-simple-history (``history.history_models``),
many-to-many relations included. For a moment T, the public tables as they stood at T are copied
into a PostgreSQL schema of their own, and the request runs, unchanged views and all, with that
schema first on its ``search_path``: records, their relations, totals and page sections are read
as they were, and the one definition of what the public may see (``published()``/
``for_public()``) hides what was a draft at T, exactly as it did then.

- **The snapshot key.** T resolves to the newest change at or before it (``snapshot_moment``):
  every T between two changes gives the same snapshot, and a snapshot of the past never changes.
- **A snapshot** (``ensure_snapshot``) is the schema ``asof_<key>`` with, for every record type,
  the latest history row of each record at or before the key unless that row is a deletion
  (drafts included, so relations hold and the usual rules hide them), the rows of its
  many-to-many tables recorded with that history row, and the derived tables (stored totals)
  rebuilt by their own code over those rows (``registry.as_of_rebuilds``). Tables that are not
  records (sessions, users, the snapshots' own list) are read from ``public``. The log of public
  changes (``changes.py``: a record's changes, "What changed", the feeds) is a view of its rows
  up to the key; its ``baseline`` rows (records loaded in bulk) carry the date they were logged,
  so a past snapshot lists no change for such a record, though it shows the record.
- **Records without history.** ``bulk_create`` (the synthetic demo data) writes no history. A
  record with no history row at all has never been changed through the application: it is taken
  as it is now from its ``created_at`` on (and its relations with it). A record whose history
  starts after T but that was created before T (bulk-created, then edited) is left out at T: its
  state before the first recorded change is unknown. The seed's ``loaddata`` writes a baseline
  entry for every record (``management/commands/loaddata.py``).
- **Concurrency.** A snapshot is built once, in one transaction, under an advisory lock. A
  request reads it under a shared lock and pruning drops it under the exclusive one, so a
  snapshot never disappears under a request (a missing schema would silently read ``public``).
- **Pooling.** ``SET LOCAL search_path`` inside the request's transaction: nothing outlives it,
  so pooled connections and PgBouncer in transaction mode are safe.
- Only PostgreSQL has schemas: on SQLite ``as_of`` is answered with a 501 that says so.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
import re
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import quote

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection, models, transaction
from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.http import parse_etags

from .fulltext import SearchDocumentField, trigger_function
from .history import history_models
from .models import AsOfSnapshot, PublicChange
from .registry import registry

logger = logging.getLogger(__name__)

PARAM = "as_of"
SCHEMA_PREFIX = "asof_"
# pg_advisory_xact_lock keys: one per snapshot (crc32 of its name, under this namespace).
_LOCK_NAMESPACE = 0x61736F66  # "asof"
# How long the snapshot a moment resolves to is remembered (a record deleted without history may
# change it: a day bounds how long a new snapshot would still include it).
_RESOLVED_SECONDS = 24 * 3600
# Seen as unused for less than this, a snapshot's ``last_used_at`` is not written again.
_TOUCH_SECONDS = 60

#: The moment the current request reads the site as of (``reading``), if any.
_reading_moment: ContextVar[datetime.datetime | None] = ContextVar("as_of_moment", default=None)


def reading_the_past() -> bool:
    """Whether the current request reads an ``as_of`` snapshot's schema, not today's tables."""
    return _reading_moment.get() is not None


def today() -> datetime.date:
    """ "Today" for what a page draws up to (the end of a timeline's axis): the ``as_of`` moment's
    day when the request reads the past, so a past page shows the axis it showed then."""
    moment = _reading_moment.get()
    return timezone.localdate(moment) if moment is not None else timezone.localdate()


FORMAT_HELP = (
    "as_of is a date (2024-05-01: the site as it stood at the end of that day, Brussels time) or "
    "a date and time with its offset (2024-05-01T12:00:00Z, 2024-05-01T14:00:00+02:00)."
)


class AsOfError(ValueError):
    """An ``as_of`` the site cannot answer, with the message the client gets (HTTP ``status``)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class AsOf:
    """A resolved ``as_of``: what was asked (``moment``, ``label``) and the snapshot answering."""

    raw: str
    moment: datetime.datetime
    label: str  # "1 May 2024 (end of the day, Brussels time)"
    snapshot: datetime.datetime  # the newest change at or before ``moment``

    @property
    def schema(self) -> str:
        return schema_name(self.snapshot)


def enabled() -> bool:
    return connection.vendor == "postgresql"


# --- parsing ----------------------------------------------------------------------------------


def parse_as_of(raw: str, *, now: datetime.datetime | None = None) -> tuple[datetime.datetime, str]:
    """``raw`` as an aware moment and the words the banner says it in.

    A date means the end of that day in the site's time zone (Brussels): the site as it stood when
    that day was over, every change of the day included. A date and time needs its offset (``Z``
    or ``+02:00``; a ``+`` left unencoded in a URL arrives as a space and is read back). The
    moment must be past: a day that is not over yet, or a future time, is refused (400)."""
    now = now or timezone.now()
    text = raw.strip()
    text = re.sub(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$", r"\1+\2", text)
    try:
        moment = parse_datetime(text) if "T" in text or " " in text else None
        day = None if moment is not None else parse_date(text)
    except ValueError:  # well formed but impossible: 2024-02-30
        raise AsOfError(f"as_of={raw!r} is not a real date. {FORMAT_HELP}") from None
    if moment is None and day is None:
        raise AsOfError(f"as_of={raw!r} is not a date. {FORMAT_HELP}")
    zone = timezone.get_default_timezone()
    try:
        if moment is not None:
            if timezone.is_naive(moment):
                raise AsOfError(f"as_of={raw!r} has no time zone offset. {FORMAT_HELP}")
            label = date_format(timezone.localtime(moment, zone), "j F Y, H:i:s T")
        else:
            assert day is not None
            moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time.max), zone)
            label = f"{date_format(day, 'j F Y')} (end of the day, Brussels time)"
    except OverflowError:  # 0001-01-01T00:00:00+14:00: before the first representable moment
        raise AsOfError(f"as_of={raw!r} is out of range. {FORMAT_HELP}") from None
    if moment > now:
        raise AsOfError(
            f"as_of={raw!r} is in the future (a day is answered once it is over). "
            "The current version of the site is the address without as_of."
        )
    if moment > now - datetime.timedelta(seconds=settings.AS_OF_SETTLE_SECONDS):
        # A change saved just before the moment may not be committed yet: a snapshot taken now
        # would miss it, and a snapshot never changes.
        raise AsOfError(
            f"as_of={raw!r} is too recent: the history of the last {settings.AS_OF_SETTLE_SECONDS} "
            "seconds may still be being written. The current version of the site is the address "
            "without as_of."
        )
    return moment, label


# --- resolving a moment to a snapshot ---------------------------------------------------------


def _tables() -> list[tuple[type[models.Model], type[models.Model]]]:
    return list(history_models().values())


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _moments_sql(aggregate: str, bounded: bool) -> str:
    """One statement over every history table, and over the records that have none."""
    where = "WHERE history_date <= %s" if bounded else ""
    branches = []
    for model, history_model in _tables():
        table, history = _quote(model._meta.db_table), _quote(history_model._meta.db_table)
        no_history = f"NOT EXISTS (SELECT FROM {history} h WHERE h.id = t.id)"
        created = f"WHERE created_at <= %s AND {no_history}" if bounded else f"WHERE {no_history}"
        branches.append(f"SELECT {aggregate}(history_date) AS moment FROM {history} {where}")  # noqa: S608
        branches.append(f"SELECT {aggregate}(created_at) FROM {table} t {created}")  # noqa: S608
    outer = "max" if aggregate == "max" else "min"
    return f"SELECT {outer}(moment) FROM ({' UNION ALL '.join(branches)}) AS moments"  # noqa: S608


def snapshot_moment(moment: datetime.datetime) -> datetime.datetime | None:
    """The newest change at or before ``moment``: the key of the snapshot that answers it. One
    query (an index read per history table, and one per record table for records with no
    history). None before the first change the site recorded."""
    sql = _moments_sql("max", bounded=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, [moment] * (2 * len(_tables())))
        (found,) = cursor.fetchone()
    return found


def _cached_snapshot_moment(moment: datetime.datetime) -> datetime.datetime | None:
    """``snapshot_moment``, remembered in the cache: the past does not change (a moment is at
    least ``AS_OF_SETTLE_SECONDS`` old), and at +100 000 records the query takes 0.1 s."""
    key = f"as-of-snapshot:{moment.astimezone(datetime.UTC).isoformat()}"
    try:
        found = cache.get(key)
    except Exception:  # the cache is down: ask the database
        logger.warning("Cache unavailable for as_of", exc_info=True)
        return snapshot_moment(moment)
    if found is not None:
        return found
    snapshot = snapshot_moment(moment)
    if snapshot is not None:
        try:
            cache.set(key, snapshot, _RESOLVED_SECONDS)
        except Exception:
            logger.warning("Cache unavailable for as_of", exc_info=True)
    return snapshot


def first_change() -> datetime.datetime | None:
    with connection.cursor() as cursor:
        cursor.execute(_moments_sql("min", bounded=False))
        (found,) = cursor.fetchone()
    return found


def resolve(raw: str) -> AsOf:
    """``raw`` parsed (``parse_as_of``) and resolved to its snapshot; ``AsOfError`` otherwise."""
    moment, label = parse_as_of(raw)  # a malformed value is a 400 whatever the database
    if not enabled():
        raise AsOfError(
            "as_of needs the PostgreSQL database; this site runs on SQLite (local development), "
            "which cannot answer it. See docs/api.md, 'As of a date'.",
            status=501,
        )
    snapshot = _cached_snapshot_moment(moment)
    if snapshot is None:
        first = first_change()
        since = (
            f" Its history starts on {date_format(timezone.localtime(first), 'j F Y')}."
            if first
            else " It has no history yet."
        )
        raise AsOfError(f"as_of={raw!r} is before anything was published on this site.{since}")
    return AsOf(raw=raw, moment=moment, label=label, snapshot=snapshot)


def schema_name(snapshot: datetime.datetime) -> str:
    """``asof_<moment>_<layout>``: a snapshot is of a moment and of the tables' layout it was
    built with (``layout``)."""
    return f"{SCHEMA_PREFIX}{snapshot.astimezone(datetime.UTC).strftime('%Y%m%d%H%M%S%f')}_{layout()}"


@functools.cache
def layout() -> str:
    """A fingerprint of every table's columns, as the code's models define them (after a deploy's
    ``migrate``, the database's). A snapshot is a copy of tables made by ``CREATE TABLE … LIKE``:
    one built before a migration that added a column (the stored totals' ``follow_only`` and
    ``size``, say) lacks it, and the new code's queries would fail on it (500s for as long as
    it is asked for). Under another layout the same moment is another snapshot, built anew;
    the old one is dropped as unlisted (``prune``)."""
    tables = sorted(
        (model._meta.db_table, tuple(str(field.column) for field in model._meta.concrete_fields))
        for model in apps.get_models(include_auto_created=True)
    )
    return hashlib.sha256(repr(tables).encode()).hexdigest()[:8]


def _lock_key(schema: str) -> int:
    return (_LOCK_NAMESPACE << 32) | zlib.crc32(schema.encode())


def etag(as_of: AsOf, request) -> str:
    """Stable for an address and a snapshot: the same answer, whenever it is asked."""
    raw = f"{as_of.schema}|{request.get_full_path()}|{request.META.get('HTTP_ACCEPT', '')}"
    return f'"asof-{hashlib.sha256(raw.encode()).hexdigest()[:32]}"'


# --- building, reading and dropping snapshots -------------------------------------------------


def _columns(model: type[models.Model]) -> list[str]:
    return [_quote(str(field.column)) for field in model._meta.concrete_fields]


def _copy_records(schema: str, model, history_model, moment: datetime.datetime, cursor) -> None:
    table, history = model._meta.db_table, history_model._meta.db_table
    target = f"{_quote(schema)}.{_quote(table)}"
    columns = ", ".join(_columns(model))
    # A column the history leaves out (a stored search document) is NULL in a history row...
    kept = {str(field.column) for field in history_model._meta.concrete_fields}
    from_history = ", ".join(
        _quote(str(field.column)) if field.column in kept else "NULL" for field in model._meta.concrete_fields
    )
    latest = f"asof_latest_{table}"[:63]
    _create_like(schema, table, cursor, indexes=False)
    for field in model._meta.concrete_fields:
        if isinstance(field, SearchDocumentField):
            # ... and a search document is written from the text of then, as the table's trigger
            # writes it (LIKE copies no trigger).
            column, function = _quote(str(field.column)), _quote(trigger_function(table, str(field.column)))
            cursor.execute(
                f"CREATE TRIGGER {column} BEFORE INSERT ON {target} FOR EACH ROW "
                f"WHEN (NEW.{column} IS NULL) EXECUTE FUNCTION {function}()"
            )
    # Each record's newest history row at or before the moment.
    cursor.execute(
        f"CREATE TEMP TABLE {_quote(latest)} ON COMMIT DROP AS "  # noqa: S608
        f"SELECT DISTINCT ON (id) id, history_id, history_type FROM {_quote(history)} "
        "WHERE history_date <= %s ORDER BY id, history_date DESC, history_id DESC",
        [moment],
    )
    cursor.execute(
        f"INSERT INTO {target} ({columns}) "  # noqa: S608
        f"SELECT {from_history} FROM {_quote(history)} "
        f"WHERE history_id IN (SELECT history_id FROM {_quote(latest)} WHERE history_type <> '-') "
        f"UNION ALL SELECT {columns} FROM {_quote(table)} t WHERE created_at <= %s "
        f"AND NOT EXISTS (SELECT FROM {_quote(history)} h WHERE h.id = t.id)",
        [moment],
    )
    tracked = {field.name: field for field in getattr(history_model, "_history_m2m_fields", [])}
    for field in model._meta.many_to_many:
        through = field.remote_field.through
        through_table = through._meta.db_table
        through_target = f"{_quote(schema)}.{_quote(through_table)}"
        through_columns = ", ".join(_columns(through))
        owner = _quote(field.m2m_column_name())
        _create_like(schema, through_table, cursor, indexes=False)
        without_history = (
            f"SELECT {through_columns} FROM {_quote(through_table)} WHERE {owner} IN "  # noqa: S608
            f"(SELECT id FROM {target} t WHERE NOT EXISTS "
            f"(SELECT FROM {_quote(history)} h WHERE h.id = t.id))"
        )
        if field.name in tracked:
            m2m_history = _m2m_history_model(field)._meta.db_table
            with_history = (
                f"SELECT {through_columns} FROM {_quote(m2m_history)} WHERE history_id IN "  # noqa: S608
                f"(SELECT history_id FROM {_quote(latest)} WHERE history_type <> '-')"
            )
        else:  # not tracked: today's links of the records that existed then
            logger.warning("%s.%s has no history: as_of shows its links as they are now", table, field.name)
            with_history = (
                f"SELECT {through_columns} FROM {_quote(through_table)} "  # noqa: S608
                f"WHERE {owner} IN (SELECT id FROM {target})"
            )
        cursor.execute(
            f"INSERT INTO {through_target} ({through_columns}) {with_history} UNION {without_history}"
        )
    cursor.execute(f"DROP TABLE {_quote(latest)}")
    for copied in (table, *(field.remote_field.through._meta.db_table for field in model._meta.many_to_many)):
        _add_indexes(schema, copied, cursor)
    # The history itself as it stood (a record's "last updated", the changes lists): views, not
    # copies, since a history row once written never changes.
    cursor.execute(
        f"CREATE VIEW {_quote(schema)}.{_quote(history)} AS SELECT * FROM {_quote(history)} "  # noqa: S608
        f"WHERE history_date <= {_literal(moment)}"
    )
    for field in tracked.values():
        m2m_history = _m2m_history_model(field)._meta.db_table
        cursor.execute(
            f"CREATE VIEW {_quote(schema)}.{_quote(m2m_history)} AS SELECT * FROM {_quote(m2m_history)} "  # noqa: S608
            f"WHERE history_id IN (SELECT history_id FROM {_quote(schema)}.{_quote(history)})"
        )


def _literal(moment: datetime.datetime) -> str:
    """A timestamp as an SQL literal (a view's definition takes no parameters)."""
    return f"'{moment.astimezone(datetime.UTC).isoformat()}'::timestamptz"


def _create_like(schema: str, table: str, cursor, *, indexes: bool = True) -> None:
    """An empty copy of ``public.<table>`` in ``schema``: columns, defaults, identity and (unless
    they are added after the rows, ``_add_indexes``) indexes; not constraints (LIKE never copies
    foreign keys; checks added by a later migration may not hold for older history rows)."""
    like = "INCLUDING ALL EXCLUDING CONSTRAINTS" + ("" if indexes else " EXCLUDING INDEXES")
    cursor.execute(f"CREATE TABLE {_quote(schema)}.{_quote(table)} (LIKE {_quote(table)} {like})")


def _add_indexes(schema: str, table: str, cursor) -> None:
    """The indexes of ``public.<table>`` on its copy, built once the rows are in: one sort per
    index instead of an insert into each for every row (the full-text index above all)."""
    cursor.execute(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass",
        [f"public.{_quote(table)}"],
    )
    target = f" ON {_quote(schema)}.{_quote(table)} "
    on_table = re.compile(rf' ON (?:ONLY )?(?:public\.)?("?){re.escape(table)}\1 ')
    for (definition,) in cursor.fetchall():
        statement, found = on_table.subn(target, definition, count=1)
        if not found:
            raise RuntimeError(f"Cannot copy the index {definition!r}")
        cursor.execute(statement)


def _m2m_history_model(field) -> type[models.Model]:
    from simple_history.models import HistoricalRecords

    return HistoricalRecords.m2m_models[field]


@contextmanager
def _search_path(schema: str, cursor) -> Iterator[None]:
    cursor.execute("SHOW search_path")
    (previous,) = cursor.fetchone()
    cursor.execute(f"SET LOCAL search_path TO {_quote(schema)}, public")
    yield
    # Back, for what follows in the same transaction (a test's, or the snapshot's build). After
    # an error the transaction (or savepoint) is rolled back, and the setting with it.
    cursor.execute(f"SET LOCAL search_path TO {previous}")


def ensure_snapshot(snapshot: datetime.datetime) -> str:
    """The schema of ``snapshot``, built now if it does not exist yet. Safe to call from several
    processes at once: the second waits for the first and finds it built."""
    schema = schema_name(snapshot)
    if _built(schema):
        return schema
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(schema)])
        if _built(schema):
            return schema
        AsOfSnapshot.objects.filter(schema=schema).delete()  # listed, but its schema is gone
        # The same moment under another layout (before a deploy's migrations): unlisted, so the
        # next ``prune`` drops its schema once no request reads it.
        AsOfSnapshot.objects.filter(moment=snapshot).exclude(schema=schema).delete()
        cursor.execute("SET LOCAL statement_timeout = 0")  # 100 000 records take seconds
        cursor.execute("SET LOCAL maintenance_work_mem = '128MB'")  # the full-text index's build
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE")  # a half-dropped one
        cursor.execute(f"CREATE SCHEMA {_quote(schema)}")
        for model, history_model in _tables():
            _copy_records(schema, model, history_model, snapshot, cursor)
        # The log of public changes as it stood (a record's changes, "What changed", the feeds).
        changes = _quote(PublicChange._meta.db_table)
        cursor.execute(
            f"CREATE VIEW {_quote(schema)}.{changes} AS SELECT * FROM {changes} "  # noqa: S608
            f"WHERE changed_at <= {_literal(snapshot)}"
        )
        # Statistics before the derived tables' rebuild, whose plans need them.
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        for (table,) in cursor.fetchall():
            cursor.execute(f"ANALYZE {_quote(schema)}.{_quote(table)}")
        for derived_models, rebuild in registry.as_of_rebuilds:
            for model in derived_models:
                _create_like(schema, model._meta.db_table, cursor)
            with _search_path(schema, cursor):
                rebuild()
        now = timezone.now()
        AsOfSnapshot.objects.create(
            schema=schema, moment=snapshot, build_seconds=time.monotonic() - started, last_used_at=now
        )
    logger.info("Built the as_of snapshot %s in %.1f s", schema, time.monotonic() - started)
    transaction.on_commit(prune)  # at once outside a transaction
    return schema


def _built(schema: str) -> bool:
    """Listed and present: a restored database may list snapshots whose schemas it lacks, and
    a search_path naming a missing schema would silently read today's tables."""
    with connection.cursor() as cursor:
        listed = _quote(AsOfSnapshot._meta.db_table)
        cursor.execute(
            f"SELECT to_regnamespace(%s) IS NOT NULL AND EXISTS (SELECT FROM {listed} WHERE schema = %s)",  # noqa: S608
            [schema, schema],
        )
        return cursor.fetchone()[0]


@contextmanager
def reading(as_of: AsOf) -> Iterator[None]:
    """Run the block in a transaction that reads the snapshot of ``as_of`` (built if needed)."""
    for _attempt in range(3):
        ensure_snapshot(as_of.snapshot)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_lock_key(as_of.schema)])
            row = AsOfSnapshot.objects.filter(schema=as_of.schema).values_list("pk", "last_used_at").first()
            if row is None or not _built(as_of.schema):  # pruned since it was built: again
                continue
            now = timezone.now()
            if (now - row[1]).total_seconds() > _TOUCH_SECONDS:
                AsOfSnapshot.objects.filter(pk=row[0]).update(last_used_at=now)
            token = _reading_moment.set(as_of.moment)
            try:
                with _search_path(as_of.schema, cursor):
                    yield
            finally:
                _reading_moment.reset(token)
            return
    raise AsOfError("The site is busy rebuilding its history; try again in a moment.", status=503)


def prune(keep: int | None = None) -> list[str]:
    """Drop the least recently used snapshots past ``keep`` (``AS_OF_MAX_SNAPSHOTS``), and any
    ``asof_`` schema that no snapshot lists (a build cut short). The names dropped."""
    keep = settings.AS_OF_MAX_SNAPSHOTS if keep is None else keep
    if not enabled():
        return []
    listed = list(AsOfSnapshot.objects.order_by("-last_used_at", "-pk").values_list("schema", flat=True))
    dropped = []
    for schema in listed[keep:]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(schema)])
            cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE")
            AsOfSnapshot.objects.filter(schema=schema).delete()
        dropped.append(schema)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
            [SCHEMA_PREFIX.replace("_", r"\_") + "%"],
        )
        orphans = {name for (name,) in cursor.fetchall()} - set(listed[:keep])
    for schema in sorted(orphans - set(dropped)):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(schema)])
            if not AsOfSnapshot.objects.filter(schema=schema).exists():
                cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE")
                dropped.append(schema)
    return dropped


# --- the request side -------------------------------------------------------------------------

SAFE_METHODS = ("GET", "HEAD")
API_PREFIX = "/api/"
#: Addresses that are not public pages: ``as_of`` is ignored there and links to them kept as is.
_NOT_PUBLIC = ("/admin/", "/static/", "/media/", "/healthz")


def requested(request) -> bool:
    """Whether ``request`` asks for an as_of view (the page cache and the replica router ask)."""
    return PARAM in request.GET and not request.path.startswith(_NOT_PUBLIC)


def _error(request, error: AsOfError) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        response = JsonResponse({PARAM: [error.message]}, status=error.status)
    else:
        response = render(request, "as_of_error.html", {"message": error.message}, status=error.status)
    response["Cache-Control"] = "no-store"
    return response


def with_as_of(url: str, raw: str) -> str:
    """``url`` (as written in HTML or JSON: ``&amp;`` or ``&``) with ``as_of`` added."""
    if re.search(r"[?&;]as_of=", url):
        return url
    path, hash_, fragment = url.partition("#")
    separator = (
        "" if path.endswith(("?", "&")) else ("&amp;" if "&amp;" in path else "&") if "?" in path else "?"
    )
    return f"{path}{separator}{PARAM}={quote(raw, safe='')}{hash_}{fragment}"


_TAG = re.compile(r"<(a|form)\b[^>]*>", re.I)
_LINK = re.compile(r"""\b(href|action)=(["'])(/(?!/)[^"']*|\?[^"']*)\2""", re.I)


def _internal(url: str) -> bool:
    return url.startswith("?") or not url.startswith(_NOT_PUBLIC)


def rewrite_html(html: str, raw: str) -> str:
    """Links and GET forms of an as_of page keep ``as_of``: a visitor who moves on stays on the
    same day. Links to today's version (``data-as-of-today``), the admin and static files stay."""
    hidden = f'<input type="hidden" name="{PARAM}" value="{_escape(raw)}">'

    def tag(match: re.Match) -> str:
        text = match.group(0)
        if "data-as-of-today" in text:
            return text
        text = _LINK.sub(
            lambda link: (
                f"{link.group(1)}={link.group(2)}{with_as_of(link.group(3), raw)}{link.group(2)}"
                if _internal(link.group(3)) and match.group(1).lower() == "a"
                else link.group(0)
            ),
            text,
        )
        if match.group(1).lower() == "form" and not re.search(r"method=[\"']?post", text, re.I):
            action = re.search(r"""action=["']([^"']*)""", text)
            if action is None or _internal(action.group(1)):
                text += hidden
        return text

    return _TAG.sub(tag, html)


def _escape(value: str) -> str:
    return str(escape(value))


def rewrite_json(text: str, raw: str, origin: str) -> str:
    """Hyperlinks in an API answer (``url`` fields, pagination) keep ``as_of``."""
    pattern = re.compile(r'"(' + re.escape(origin) + r'/(?!static/|admin/)[^"\\]*)"')
    return pattern.sub(lambda m: f'"{with_as_of(m.group(1), raw)}"', text)


def _streamed(as_of: AsOf, chunks: Iterator) -> Iterator:
    """A streamed answer (a CSV) reads while it is sent, after the middleware has returned."""
    with reading(as_of):
        yield from chunks


class AsOfMiddleware:
    """Answers ``?as_of=`` requests from the snapshot of that moment (see the module docstring):
    anonymous, read-only, with a banner and links that keep the date, and cached for long."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.GET.get(PARAM)
        if raw is None or not requested(request):
            return self.get_response(request)
        if request.method not in SAFE_METHODS:
            return _error(request, AsOfError("as_of views are read-only: use GET or HEAD.", status=405))
        try:
            as_of = resolve(raw)
        except AsOfError as error:
            return _error(request, error)

        request.as_of = as_of
        # What the public saw: no drafts, no previews, no staff tools, for a session or a token.
        request.user = AnonymousUser()
        request.META.pop("HTTP_AUTHORIZATION", None)
        request.__dict__.pop("headers", None)  # HttpRequest.headers, read from META once (cached)
        tag = etag(as_of, request)
        # The view sees the request it saw then: as_of is not a filter (no "Clear all filters"),
        # and the links it builds from the query lack it; ``_rewrite`` adds it to every link.
        query = request.GET.copy()
        query.pop(PARAM)
        query._mutable = False
        request.GET = query
        request.META["QUERY_STRING"] = query.urlencode()
        request.as_of_today_url = request.path + (f"?{request.META['QUERY_STRING']}" if query else "")
        if tag in parse_etags(request.headers.get("If-None-Match", "")):
            response = HttpResponseNotModified()
        else:
            try:
                with reading(as_of):
                    response = self.get_response(request)
            except AsOfError as error:
                return _error(request, error)
            if response.streaming:
                response.streaming_content = _streamed(as_of, response.streaming_content)
            else:
                self._rewrite(request, response, as_of)
        if response.status_code in (200, 301, 304, 404, 410):
            response["ETag"] = tag
            response["Cache-Control"] = f"public, max-age={settings.AS_OF_CACHE_SECONDS}, immutable"
        return response

    @staticmethod
    def _rewrite(request, response, as_of: AsOf) -> None:
        content_type = response.get("Content-Type", "")
        charset = response.charset or "utf-8"
        if content_type.startswith("text/html"):
            response.content = rewrite_html(response.content.decode(charset), as_of.raw).encode(charset)
        elif content_type.startswith("application/json") or "+json" in content_type:
            origin = request.build_absolute_uri("/").rstrip("/")
            response.content = rewrite_json(response.content.decode(charset), as_of.raw, origin).encode(
                charset
            )
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))


def as_of_context(request) -> dict:
    """Template context: ``as_of`` (the resolved moment) and ``as_of_today_url`` on as_of pages."""
    as_of = getattr(request, "as_of", None)
    if as_of is None:
        return {}
    return {"as_of": as_of, "as_of_today_url": request.as_of_today_url}
