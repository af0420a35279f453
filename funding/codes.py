"""The code lists funding records use, read from their publishers' files rather than typed by hand.

- ISO 4217 currencies: pycountry.
- OECD DAC 5-digit purpose codes and IATI organisation identifiers: the IATI non-embedded code
  lists ``Sector`` and ``IATIOrganisationIdentifier``, vendored in ``funding/standards/codelists/``
  (code, English name, status; funding/standards/README.md says where from and under which licence).
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import pycountry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

STANDARDS = Path(__file__).resolve().parent / "standards"
CODELISTS = STANDARDS / "codelists"

_EURO = pycountry.currencies.get(alpha_3="EUR")
assert _EURO is not None
#: Every amount is in euros: the ISO 4217 entry, from pycountry (alpha-3 "EUR", numeric "978").
CURRENCY = _EURO


@functools.cache
def _codelist(name: str) -> dict[str, dict[str, str]]:
    with (CODELISTS / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def dac_purposes() -> dict[str, dict[str, str]]:
    """OECD DAC 5-digit purpose codes (IATI ``Sector`` code list, vocabulary 1), by code."""
    return _codelist("Sector")


def iati_organisations() -> dict[str, dict[str, str]]:
    """IATI organisation identifiers of the code list (``XI-IATI-EC_NEAR`` for DG NEAR), by code."""
    return _codelist("IATIOrganisationIdentifier")


def dac_purpose_name(code: str) -> str | None:
    row = dac_purposes().get(code) if code else None
    return row["name"] if row else None


def validate_dac_purpose_code(value: str) -> None:
    row = dac_purposes().get(value)
    if row is None:
        raise ValidationError(
            _("“%(value)s” is not an OECD DAC 5-digit purpose code, e.g. 15190."), params={"value": value}
        )
    if row["status"] != "active":
        raise ValidationError(_("The DAC purpose code %(value)s is withdrawn."), params={"value": value})


def validate_iati_organisation(value: str) -> None:
    if value not in iati_organisations():
        raise ValidationError(
            _("“%(value)s” is not in the IATI organisation identifier list, e.g. XI-IATI-EC_NEAR."),
            params={"value": value},
        )
