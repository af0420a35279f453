"""Filter pieces shared by the apps' FilterSets."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from .models import Source

# Every search term is one more condition on each searched field of every row, so the terms are
# bounded: an address of a few kilobytes of one-letter terms otherwise holds a worker for seconds.
MAX_SEARCH_TERMS = 10
MAX_SEARCH_TERM_LENGTH = 100


def search_terms_error(terms: Sequence[str]) -> str | None:
    """Why these search terms are refused (too many, or one too long), or None."""
    if len(terms) > MAX_SEARCH_TERMS:
        return f"Search for at most {MAX_SEARCH_TERMS} words at a time, not {len(terms)}."
    if any(len(term) > MAX_SEARCH_TERM_LENGTH for term in terms):
        return f"A search word is at most {MAX_SEARCH_TERM_LENGTH} characters long."
    return None


def published_choices(model):
    """Filter choices are published records only: a draft's slug is as unknown as a typo."""
    return model.objects.published()


def related_pks(model, field_name: str, condition: Callable[[str], Q]) -> QuerySet:
    """The primary keys of the ``model`` records whose ``field_name`` relation meets
    ``condition(path)``, as a subquery for ``pk__in``.

    ``pk IN (SELECT ...)`` never repeats a row, so a list needs no DISTINCT over every column
    (which sorts the whole table before one page can be cut). Across a
    many-to-many relation the subquery reads the through table alone, not the list's own table
    a second time; ``condition`` gets the lookup path to use from there.
    """
    name, _, rest = field_name.partition("__")
    field = model._meta.get_field(name)
    if field.many_to_many and not field.auto_created:
        path = "__".join(filter(None, [field.m2m_reverse_field_name(), rest]))
        through = field.remote_field.through
        return through._base_manager.filter(condition(path)).values(field.m2m_field_name())
    return model._base_manager.filter(condition(field_name)).values("pk")


class SharedFormFilterSet(django_filters.FilterSet):
    """A FilterSet whose form class is built once per FilterSet class, not once per request.

    django-filter's ``get_form_class`` makes a new form class (a metaclass call) and every
    filter's form field (querysets, choices, validators) for each FilterSet: about 1.5 ms of
    CPU of an API list or explorer answer at +100 000 records. A form instance deep-copies its
    class's fields, so instances never share or change them. Only for FilterSets whose filters
    are their class's, with fixed querysets (no callable of the request) and labels that do not
    depend on the request (the site has one language): a form class built for other filters is
    not reused (their names are compared)."""

    _shared_form: tuple[tuple[str, ...], type] | None = None

    def get_form_class(self):
        names = tuple(self.filters)
        shared = type(self).__dict__.get("_shared_form")
        if shared is None or shared[0] != names:
            shared = (names, super().get_form_class())
            type(self)._shared_form = shared
        return shared[1]


class RelatedChoiceFilter(django_filters.ModelChoiceFilter):
    """A related record (often across a many-to-many relation) matched with a semi-join."""

    def condition(self, path: str, value) -> Q:
        return Q(**{path: value})

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(
            pk__in=related_pks(qs.model, self.field_name, lambda path: self.condition(path, value))
        )


class DecimalColumnFilter(django_filters.NumberFilter):
    """A number compared with a ``DecimalField`` column, refused (a form error, a 400 in the API)
    when the column could not hold it: more digits or decimal places than the column has, NaN,
    Infinity. PostgreSQL would fail on ``1e-999999`` ("value overflows numeric format": a 500)."""

    @property
    def field(self):
        if not hasattr(self, "_field"):
            column = self.model._meta.get_field(self.field_name)
            self.extra.setdefault("max_digits", column.max_digits)
            self.extra.setdefault("decimal_places", column.decimal_places)
        return super().field


#: The spellings of yes and no a filter accepts (case-insensitive): JSON's, HTML checkboxes' and
#: most of those DRF's ``BooleanField`` accepts in a body (not its one-letter t/f/y/n).
YES = frozenset({"true", "1", "yes", "on"})
NO = frozenset({"false", "0", "no", "off"})
#: Either: empty, or "unknown", which the explorer's form sent for "Any" until December 2026
#: (Django's ``NullBooleanSelect``): addresses people kept still work.
ANY = frozenset({"", "unknown"})


def yes_no(value) -> bool | None:
    """``value`` from an address as True or False, None for either (``ANY``); ValueError when
    it is none of these."""
    if value is None or isinstance(value, bool):
        return value
    folded = str(value).strip().lower()
    if folded in ANY:
        return None
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise ValueError(value)


class YesNoSelect(forms.Select):
    """Any, Yes or No; the option shown chosen is the one the address's spelling means."""

    def __init__(self, attrs=None):
        super().__init__(attrs, choices=(("", "Any"), ("true", "Yes"), ("false", "No")))

    def format_value(self, value):
        try:
            chosen = yes_no(value)
        except ValueError:
            return [""]
        return [""] if chosen is None else ["true" if chosen else "false"]


class YesNoField(forms.NullBooleanField):
    widget = YesNoSelect

    def to_python(self, value):
        try:
            return yes_no(value)
        except ValueError:
            raise ValidationError("Enter true or false.", code="invalid") from None


class YesNoFilter(django_filters.BooleanFilter):
    """A yes/no filter that reads true/false, 1/0, yes/no or on/off and refuses anything else (a
    form error, a 400 in the API). django-filter's ``BooleanFilter`` reads only true/false (and
    its select's 2/3) and takes any other value, ``1`` included, as "any": every record, answered
    as if the filter had been applied."""

    field_class = YesNoField


class SourceFilter(django_filters.FilterSet):
    publisher = django_filters.CharFilter(lookup_expr="iexact", help_text="Exact name of the publisher.")
    year = django_filters.NumberFilter(
        field_name="date", lookup_expr="year", min_value=1, max_value=9999, help_text="Year of the source."
    )

    class Meta:
        model = Source
        fields: list[str] = []


UPDATED_SINCE_HELP = (
    "Only records changed at or after this moment: an ISO 8601 date (2024-05-01, from the start "
    "of that day, Brussels time) or date and time (2024-05-01T12:00:00Z; without an offset, "
    "Brussels time)."
)


def parse_updated_since(raw: str) -> datetime.datetime:
    """``updated_since`` as an aware moment: a date is the start of its day in the site's time
    zone, a date and time without an offset is in the site's time zone. ``ValueError`` when it
    is neither."""
    raw = raw.strip()
    try:
        moment = parse_datetime(raw)
        day = None if moment is not None else parse_date(raw)
    except ValueError:  # well formed but impossible: 2024-02-30
        raise ValueError(raw) from None
    if moment is None:
        if day is None:
            raise ValueError(raw)
        moment = datetime.datetime.combine(day, datetime.time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def updated_since(queryset: QuerySet, raw: str) -> QuerySet:
    """The records of ``queryset`` changed at or after ``raw`` (``parse_updated_since``)."""
    return queryset.filter(updated_at__gte=parse_updated_since(raw))
