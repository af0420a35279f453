"""Official references of EU acts: CELEX numbers and Official Journal citations.

A lifecycle step (signature, conclusion, entry into force, suspension) is usually published in
the Official Journal and indexed in EUR-Lex; officers record that reference next to the source.
Only the *format* is checked here (the reference is not looked up): a typo such as a missing
sector digit or a date that does not exist is refused with a message saying what is expected.

CELEX (https://eur-lex.europa.eu/content/tools/TableOfSectors/types_of_documents_in_eurlex.html):
    sector (one digit, or C/E), year (4 digits), type (1 or 2 capital letters), number (4 digits),
    then optionally a sequence in brackets ``(01)``, a corrigendum ``R(01)`` or, for a
    consolidated version (sector 0), a date ``-20200101``.
    e.g. ``32014D0252``, ``22014A0507(01)``, ``32019R1896R(02)``, ``02019R1896-20240101``.
Official Journal citations, the two forms EUR-Lex uses:
    until 30 September 2023: ``OJ L 128, 30.4.2014, p. 15`` (series L or C, issue number with an
    optional letter or roman suffix, date, first page, optionally a page range);
    since 1 October 2023 (act-by-act publication): ``OJ L, 2024/1234, 22.5.2024``.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CELEX_RE = re.compile(
    r"^(?P<sector>[0-9CE])(?P<year>(?:19|20)\d{2})(?P<type>[A-Z]{1,2})(?P<number>\d{4})"
    r"(?:\(\d{2}\))?(?:R\(\d{2}\))?(?:-(?P<consolidated>\d{8}))?$"
)
OJ_ISSUE_RE = re.compile(
    r"^OJ (?P<series>[LC]) (?P<issue>\d{1,3}[A-Z]?(?: ?I{1,3})?), "
    r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>(?:19|20)\d{2}), "
    r"p\. (?P<page>\d{1,4})(?:[-–]\d{1,4})?$"
)
OJ_ACT_RE = re.compile(
    r"^OJ (?P<series>[LC]), (?P<act_year>(?:19|20)\d{2})/(?P<number>\d{1,5}), "
    r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>(?:19|20)\d{2})$"
)

MESSAGE = _(
    "Give a CELEX number (e.g. 32014D0252) or an Official Journal citation "
    "(e.g. “OJ L 128, 30.4.2014, p. 15” or “OJ L, 2024/1234, 22.5.2024”)."
)


def _real_date(match: re.Match[str]) -> bool:
    try:
        datetime.date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return False
    return True


def reference_kind(value: str) -> str | None:
    """``"celex"`` or ``"oj"`` for a well-formed reference, None otherwise."""
    value = value.strip()
    match = CELEX_RE.match(value)
    if match:
        consolidated = match["consolidated"]
        if consolidated is not None:
            try:
                datetime.datetime.strptime(consolidated, "%Y%m%d")
            except ValueError:
                return None
        return "celex"
    for pattern in (OJ_ISSUE_RE, OJ_ACT_RE):
        match = pattern.match(value)
        if match and _real_date(match):
            return "oj"
    return None


def validate_official_reference(value: str) -> None:
    if value and reference_kind(value) is None:
        raise ValidationError(MESSAGE, code="invalid_reference")


def reference_url(value: str) -> str:
    """The EUR-Lex address of a CELEX number; "" for an OJ citation (its address is not derived
    from the citation alone) or anything else."""
    value = value.strip()
    if reference_kind(value) == "celex":
        return f"https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:{value}"
    return ""
