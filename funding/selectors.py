"""Reads over funding records: totals that never count money twice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear

from migrationsupport.models import Theme
from migrationsupport.values import Amount, Qualifier
from regions.models import Country, Region

from .models import MAX_NESTING_DEPTH, FundingRecord, Instrument

GROUPINGS = ("region", "country", "theme", "instrument", "year")

# For a grouping over a many-to-many relation: the through table and its column names.
_M2M = {
    "region": (FundingRecord.regions.through, "region_id", Region),
    "country": (FundingRecord.countries.through, "country_id", Country),
    "theme": (FundingRecord.themes.through, "theme_id", Theme),
}


@dataclass(frozen=True)
class FundingTotal:
    """A total of counted records, qualified as a person would write it."""

    amount: Decimal
    qualifier: str
    records: int
    key: int | None = None
    label: str = ""

    @property
    def amount_display(self) -> Amount:
        return Amount(self.amount, self.qualifier)


def _total_qualifier(*, more_than: int, almost: int, about: int) -> str:
    """The qualifier of a sum: exact only if every part is exact; "more than" if every
    approximate part is a lower bound; "almost" if every one is an upper bound; "about" else."""
    if more_than and not (almost or about):
        return Qualifier.MORE_THAN
    if almost and not (more_than or about):
        return Qualifier.ALMOST
    if more_than or almost or about:
        return Qualifier.ABOUT
    return Qualifier.EXACT


def _aggregates(prefix: str = "") -> dict:
    field = f"{prefix}amount"
    qualifier = f"{prefix}qualifier"
    with_amount = Q(**{f"{field}__isnull": False})
    return {
        "total": Coalesce(Sum(field), Value(Decimal(0))),
        "records": Count(field),
        "more_than": Count(field, filter=with_amount & Q(**{qualifier: Qualifier.MORE_THAN})),
        "almost": Count(field, filter=with_amount & Q(**{qualifier: Qualifier.ALMOST})),
        "about": Count(field, filter=with_amount & Q(**{qualifier: Qualifier.ABOUT})),
    }


def _to_total(row: dict, **extra) -> FundingTotal:
    qualifier = _total_qualifier(more_than=row["more_than"], almost=row["almost"], about=row["about"])
    return FundingTotal(amount=row["total"], qualifier=qualifier, records=row["records"], **extra)


def _ancestor_paths(record_path: str) -> list[str]:
    prefix = f"{record_path}__" if record_path else ""
    return [prefix + "__".join(["parent"] * depth) for depth in range(1, MAX_NESTING_DEPTH + 1)]


def funding_totals(*, records: QuerySet[FundingRecord], group_by: str | None = None):
    """Total the amounts of ``records`` without ever counting a child inside its parent twice.

    A record is left out of a total when one of its ancestors (parent, grandparent...) is in the
    same set, because the ancestor's amount already contains it: the €47 million programme is
    not added to the €60 million package it belongs to. The set is first reduced to distinct
    ids, so filters that join many-to-many relations (a record linked to several regions) never
    repeat a row.

    With ``group_by`` ("region", "country", "theme", "instrument" or "year") it returns one
    ``FundingTotal`` per group, largest first; the same rule applies inside each group (a child
    is left out only when an ancestor is in the set *and* in the same group). A record linked to
    two regions counts once in each region's total, and once in the overall total. Each form is
    one SQL query, plus one for the group labels.
    """
    ids = records.values("pk")
    base = FundingRecord.objects.filter(pk__in=ids)
    if group_by is None:
        counted = base
        for path in _ancestor_paths(""):
            counted = counted.exclude(**{f"{path}__in": ids})
        return _to_total(counted.aggregate(**_aggregates()))

    if group_by in _M2M:
        through, key_column, label_model = _M2M[group_by]
        pairs = through.objects.filter(fundingrecord_id__in=ids).annotate(group_key=Coalesce(key_column, 0))
        record_path, prefix = "fundingrecord", "fundingrecord__"
    elif group_by in ("instrument", "year"):
        key = ExtractYear("period_start") if group_by == "year" else "instrument_id"
        pairs = base.annotate(group_key=Coalesce(key, Value(0), output_field=IntegerField()))
        record_path, prefix, label_model = "", "", Instrument if group_by == "instrument" else None
    else:
        raise ValueError(f"group_by must be one of {', '.join(GROUPINGS)}, not {group_by!r}")

    counted = pairs
    for path in _ancestor_paths(record_path):
        ancestor_in_group = pairs.filter(
            **{record_path or "pk": OuterRef(path), "group_key": OuterRef("group_key")}
        )
        counted = counted.exclude(Exists(ancestor_in_group))
    rows = list(counted.values("group_key").annotate(**_aggregates(prefix)).order_by("-total", "group_key"))

    labels: dict[int, str] = {}
    if label_model is not None:
        labels = {
            obj.pk: str(obj) for obj in label_model.objects.filter(pk__in=[r["group_key"] for r in rows])
        }
    return [
        _to_total(row, key=row["group_key"] or None, label=_label(group_by, row["group_key"], labels))
        for row in rows
    ]


def _label(group_by: str, key: int, labels: dict[int, str]) -> str:
    if not key:
        return "No instrument" if group_by == "instrument" else "Not stated"
    return str(key) if group_by == "year" else labels.get(key, "")
