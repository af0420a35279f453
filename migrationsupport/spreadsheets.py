"""Cells that a spreadsheet opens as text, never as a formula (CSV injection).

Every file the site writes for spreadsheets passes its cells through ``safe_cell``: the API's CSV,
the explorer's download and the officers' CSV and XLSX exports. A text starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return (what Excel, LibreOffice and Google Sheets may evaluate)
gets a leading apostrophe, as OWASP's "CSV Injection" guidance advises; numbers such as "-12.5"
are left alone. ``unescape_cell`` takes the apostrophe off again when an officer imports a file
the site exported, so a round trip changes nothing.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
