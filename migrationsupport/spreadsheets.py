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
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from django.core.exceptions import ObjectDoesNotExist
from django.http import StreamingHttpResponse
from django.urls import NoReverseMatch

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
    formula (slugs, ISO codes: nearly every list) is joined at once, without a ``cell`` per item."""
    if all(item.__class__ is str for item in items):
        joined = LIST_SEPARATOR.join(items)
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


#: Stands in for a slug or an id in ``reverse()``: matches both a slug and a ``[0-9]+`` route.
PLACEHOLDER = "8675309867530986753"
#: What ``reverse()`` puts into an address unchanged, and a slug converter accepts.
_AS_IS = re.compile(r"[-a-zA-Z0-9_]+")


def address_template(make: Callable[[str], str]) -> str | None:
    """The address ``make`` builds for ``PLACEHOLDER``, to fill in per row with ``filled``
    instead of a ``reverse()`` per row; None when it cannot serve as one."""
    try:
        address = make(PLACEHOLDER)
    except (NoReverseMatch, ValueError, TypeError, AttributeError, ObjectDoesNotExist):
        return None
    return address if address.count(PLACEHOLDER) == 1 else None


def filled(template: str | None, value: str) -> str | None:
    """``template`` with ``value`` put in; None when the value needs ``reverse()`` itself."""
    if template is None or not _AS_IS.fullmatch(value):
        return None
    return template.replace(PLACEHOLDER, value)


#: A path ``HttpRequest.build_absolute_uri`` only prefixes with the scheme and host.
_PLAIN_PATH = re.compile(r"/(?!/)[-a-zA-Z0-9_/#]*")


def absolute_address(request, path: str) -> str:
    """``request.build_absolute_uri(path)``, without its parsing for the plain paths
    ``reverse()`` gives (a slug or an id in them): once per row of a CSV, that parsing costs more
    than the rest of the address."""
    host = request._current_scheme_host
    if host and _PLAIN_PATH.fullmatch(path):
        return host + path
    return request.build_absolute_uri(path)


def absolute_template(request, template: str | None) -> str | None:
    """``absolute_address`` of an ``address_template``, to fill in with ``filled``: the same
    addresses, the scheme and host put before the template once rather than before each
    address. None when ``absolute_address`` would do more than put them before it."""
    if template is None or not _PLAIN_PATH.fullmatch(template):
        return None
    host = request._current_scheme_host
    if not host or (host + template).count(PLACEHOLDER) != 1:
        return None
    return host + template


def csv_download(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    """A CSV attachment written while it is sent: fed by ``queryset.iterator(chunk_size=...)``,
    a worker's memory stays the same whatever the number of records."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
