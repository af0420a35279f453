"""Full-text documents stored with their records, for the site search (``migrationsupport.search``).

Ranking a search needs each matching record's weighted document (``tsvector``). Built per row
from the text, it cost ~10 µs a record: a search by a country's name ranks every record linked
to the country, 7 800 funding records for Syria at +100 000 (81 ms of a 102 ms query). So the
record types with many records keep the document in a column (``SearchDocumentField``), which a
trigger fills from the text on every insert and on every update of the text (``document_trigger``),
and which the search reads and its GIN index serves.

A trigger rather than Django's ``GeneratedField``: SQLite, used for local runs, cannot compile
the expression, and it rebuilds a table from the model's fields. There the column stays empty
(the search matches text with ``icontains`` there).

The column is read with the record like any other (about as long as the record's text): leaving
it out of every read (``QuerySet.defer``) cost more, ~12 µs of CPU an instance and ~0.4 ms a
query's compilation, 4–10 ms of CPU on the overview and a region's page. The records' history
leaves it out (``HistoricalRecords(excluded_fields=...)``); ``asof`` writes it in a snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db.models.expressions import CombinedExpression

#: The text search configuration: ``english`` with ``unaccent`` (migrationsupport's migration 0004).
SEARCH_CONFIG = "ms_english"

#: A document's parts: weight ("A" highest to "D") -> the text columns read at that weight.
Weights = Mapping[str, Sequence[str]]


def weighted_vector(weights: Weights) -> SearchVector | CombinedExpression:
    """The document built from the text: each weight's columns, in the order given."""
    parts = [
        SearchVector(*columns, weight=weight, config=SEARCH_CONFIG)
        for weight, columns in weights.items()
        if columns
    ]
    vector: SearchVector | CombinedExpression = parts[0]
    for part in parts[1:]:
        vector += part
    return vector


class SearchDocumentField(SearchVectorField):
    """The stored document (``tsvector``): filled by the table's trigger, never by Django."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)


def trigger_function(table: str, column: str) -> str:
    """The function that writes ``table.column``'s document on the row being written (the
    trigger of the same name calls it; so does a copy of the table: ``asof``)."""
    return f"{table}_{column}"


def _trigger_sql(table: str, column: str, weights: Weights) -> tuple[str, str]:
    # The same SQL as ``weighted_vector`` compiles to (Django's SearchVector: each column
    # COALESCEd to '' and joined with a space), on the row being written.
    parts = []
    for weight, columns in weights.items():
        text = " || ' ' || ".join(f"COALESCE(NEW.{name}::text, '')" for name in columns)
        parts.append(f"setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, {text}), '{weight}')")
    function = trigger_function(table, column)
    create_function = (
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$\n"
        f"BEGIN\n    NEW.{column} := {' || '.join(parts)};\n    RETURN NEW;\nEND\n$$ LANGUAGE plpgsql"
    )
    # On an insert, and on an update that sets the text (or the document itself: a stale copy
    # Django read is replaced).
    watched = ", ".join(sorted({name for columns in weights.values() for name in columns} | {column}))
    create_trigger = (
        f"CREATE TRIGGER {function} BEFORE INSERT OR UPDATE OF {watched} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()"
    )
    return create_function, create_trigger


def document_trigger(table: str, column: str, weights: Weights):
    """A ``RunPython`` pair: create the trigger that keeps ``table.column`` the document of
    ``weights`` and fill the column for the rows already there; or drop the trigger. PostgreSQL
    only."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        create_function, create_trigger = _trigger_sql(table, column, weights)
        schema_editor.execute(create_function)
        schema_editor.execute(create_trigger)
        # Setting the column fires the trigger, which writes the document.
        schema_editor.execute(f"UPDATE {table} SET {column} = NULL")  # noqa: S608 - names from the migration

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        function = trigger_function(table, column)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {function} ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")

    return forwards, backwards
