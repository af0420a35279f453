"""Full-text documents stored with their records, for the site search (``migrationsupport.search``).

Ranking a search needs each matching record's weighted document (``tsvector``). Built per row
from the text, it cost ~10 µs a record: a search by a country's name ranks every record linked
to the country, 7 800 funding records for Syria at +100 000 (81 ms of a 102 ms query). So the
record types with many records keep the document in a column (``SearchDocumentField``), which a
trigger fills from the text on every insert and on every update of the text, and which the
search reads and its GIN index serves. Each trigger and its function are written out in the
migration that adds the column (``funding/0016``, ``agreements/0009``), named by
``trigger_function``; ``tests/site/test_search.py`` checks that the stored document is the one
``search.text_vector`` builds, so a change to a record type's fields needs a migration that
rewrites its function (and renaming a text column, one that recreates the trigger).

A trigger rather than Django's ``GeneratedField``: SQLite, used for local runs, cannot compile
the expression, and it rebuilds a table from the model's fields. There the column stays empty
(the search matches text with ``icontains`` there).

The column is read with the record like any other (about as long as the record's text): leaving
it out of every read (``QuerySet.defer``) cost more, ~12 µs of CPU an instance and ~0.4 ms a
query's compilation, 4–10 ms of CPU on the overview and a region's page. The records' history
leaves it out (``HistoricalRecords(excluded_fields=...)``); ``asof`` writes it in a snapshot.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField


class SearchDocumentField(SearchVectorField):
    """The stored document (``tsvector``): filled by the table's trigger, never by Django."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)


def trigger_function(table: str, column: str) -> str:
    """The function that writes ``table.column``'s document on the row being written: the
    trigger of the same name calls it, and so does a copy of the table (``asof``)."""
    return f"{table}_{column}"
