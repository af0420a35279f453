"""Every file the site writes for spreadsheets: one CSV dialect, and cells that a spreadsheet opens
as text, never as a formula (CSV injection).

``csv_download`` streams the API's CSV and the explorer's download; the officers' CSV and XLSX
exports (django-import-export) pass their cells through the same ``safe_cell``. One dialect: a
header row, ``\\r\\n`` line ends, UTF-8; an absent value is an empty cell, a boolean
``true``/``false``, a list its items joined with ``LIST_SEPARATOR``.

A text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (what Excel,
LibreOffice and Google Sheets may evaluate) gets a leading apostrophe, as OWASP's "CSV Injection"
guidance advises; numbers such as "-12.5" are left alone. ``unescape_cell`` takes the apostrophe
off again when an officer imports a file the site exported, so a round trip changes nothing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from itertools import islice

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
#: Between the items of a list in one cell (slugs, ISO codes): never part of an identifier.
LIST_SEPARATOR = ";"
#: Records loaded at a time for a streamed download (``queryset.iterator(chunk_size=CSV_CHUNK)``),
#: each chunk with its own prefetch queries.
CSV_CHUNK = 1000
#: Lines of a streamed CSV sent together (a few tens of kilobytes).
LINES_PER_WRITE = 100


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(value):
    """``value`` as a spreadsheet may read it: formula-like text is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def unescape_cell(value):
    """The text ``safe_cell`` was given, from what it returned."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def join_list(items: Iterable) -> str:
    return LIST_SEPARATOR.join(str(item) for item in items)


def cell(value) -> object:
    """One value as a CSV cell of the site's dialect, spreadsheet-safe."""
    if value.__class__ is str:  # most cells: checked here, without the calls below
        if value[:1] in _FORMULA_FIRST and not _is_number(value):
            return "'" + value
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return list_cell(value)
    return safe_cell(value if isinstance(value, int | float) else str(value))


#: An item of a joined list that starts as a formula would (``FORMULA_STARTS``).
_FORMULA_ITEM = re.compile(f"(?:^|{re.escape(LIST_SEPARATOR)})[{re.escape(''.join(FORMULA_STARTS))}]")


def list_cell(items: list | tuple) -> object:
    """``cell`` of a list: its items' cells joined. A list of texts none of which starts as a
    formula (slugs, ISO codes: nearly every list) is joined at once, without a ``cell`` per item
    (``str.join`` takes texts only: anything else is written by ``cell``)."""
    try:
        joined = LIST_SEPARATOR.join(items)
    except TypeError:
        pass
    else:
        if not _FORMULA_ITEM.search(joined):
            return joined
    return safe_cell(join_list(cell(item) for item in items))


class _Line:
    """A file whose ``write`` hands the line back, so ``csv.writer`` formats one row at a time."""

    def write(self, line: str) -> str:
        return line


def written_lines(rows: Iterable[list]) -> Iterator[str]:
    """Rows of ready cells (the header first) as CSV lines: the header on its own (the first
    byte leaves at once), then ``LINES_PER_WRITE`` lines at a time (one write to the socket per
    line would cost more than writing the line)."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    rows = iter(rows)
    for header in islice(rows, 1):
        yield writer.writerow(header)
    lines: list[str] = []
    for row in rows:
        lines.append(writer.writerow(row))
        if len(lines) == LINES_PER_WRITE:
            yield "".join(lines)
            lines.clear()
    if lines:
        yield "".join(lines)


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """The rows (the header first) as CSV lines, every value through ``cell``."""
    return written_lines([cell(value) for value in row] for row in rows)


def csv_download(rows: Iterable[Iterable], filename: str, *, finished: bool = False) -> StreamingHttpResponse:
    """A CSV attachment written while it is sent: fed by ``queryset.iterator(chunk_size=...)``,
    a worker's memory stays the same whatever the number of records. ``finished``: every value
    is already its ``cell`` (the API's rows), written as it is."""
    lines = written_lines(rows) if finished else csv_lines(rows)  # type: ignore[arg-type]
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
