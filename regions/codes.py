"""Standard codes for countries, computed from the libraries rather than typed by hand.

ISO 3166-1 (alpha-2, alpha-3, numeric) comes from pycountry (the Debian iso-codes data). The
UN M49 regions are not in pycountry: they are read from ``regions/data/un-m49.csv``, the M49
columns of the Open Knowledge "country-codes" data package (ODC-PDDL), which takes them from
the UN Statistics Division (regions/data/README.md). A test checks that both sources agree on
every country's numeric code and that every country in the seed is in both.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import pycountry

M49_TABLE = Path(__file__).resolve().parent / "data" / "un-m49.csv"


@dataclass(frozen=True)
class M49Area:
    code: str  # three digits, as M49 writes them: "002", "145"
    name: str


@dataclass(frozen=True)
class CountryCodes:
    """A country's codes; a code the libraries do not know (e.g. a user-assigned ISO code) is None."""

    alpha_2: str
    alpha_3: str | None = None
    numeric: str | None = None
    m49_region: M49Area | None = None
    m49_subregion: M49Area | None = None
    m49_intermediate_region: M49Area | None = None


def _area(code: str, name: str) -> M49Area | None:
    return M49Area(code.zfill(3), name) if code and name else None


@functools.cache
def m49_table() -> dict[str, dict[str, str]]:
    """The vendored M49 rows, by ISO 3166-1 alpha-2 code."""
    with M49_TABLE.open(encoding="utf-8", newline="") as handle:
        return {row["ISO3166-1-Alpha-2"]: row for row in csv.DictReader(handle) if row["ISO3166-1-Alpha-2"]}


@functools.cache
def country_codes(alpha_2: str) -> CountryCodes:
    alpha_2 = alpha_2.upper()
    country = pycountry.countries.get(alpha_2=alpha_2)
    row = m49_table().get(alpha_2)
    return CountryCodes(
        alpha_2=alpha_2,
        alpha_3=country.alpha_3 if country else None,
        numeric=country.numeric if country else None,
        m49_region=_area(row["Region Code"], row["Region Name"]) if row else None,
        m49_subregion=_area(row["Sub-region Code"], row["Sub-region Name"]) if row else None,
        m49_intermediate_region=(
            _area(row["Intermediate Region Code"], row["Intermediate Region Name"]) if row else None
        ),
    )


def to_alpha_2(code: str) -> str:
    """The alpha-2 code for an ISO 3166-1 alpha-2, alpha-3 or numeric code in any case ("TUR",
    "tur", "792" and "tr" all give "TR"); anything else is returned upper-cased, so that a
    lookup by it finds nothing rather than something else."""
    code = code.strip().upper()
    country = None
    if len(code) == 3 and code.isdigit():
        country = pycountry.countries.get(numeric=code)
    elif len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
    return country.alpha_2 if country else code
