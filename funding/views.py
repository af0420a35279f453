from __future__ import annotations

from functools import cached_property, partial

from django import forms
from django.db.models import F, Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.generic import TemplateView

from migrationsupport.addresses import absolute_address
from migrationsupport.api.csv import csv_columns, csv_document
from migrationsupport.api_defaults import AnonymousExpensiveThrottle, AnonymousExportThrottle
from migrationsupport.charts import bar_chart
from migrationsupport.models import PublishableQuerySet, Source, published_or_none
from migrationsupport.spreadsheets import csv_download
from migrationsupport.throttling import throttle
from migrationsupport.views import (
    HOME,
    FilteredListView,
    FilterMixin,
    PageMixin,
    PublishedDetailView,
    first_of,
)
from regions.models import Country, Region

from . import rollup
from .exports import funding_csv_rows
from .filters import FundingFilter, InstrumentFilter, PledgingConferenceFilter
from .iati import iati_download
from .listings import SnapshotPaginator, fulfilment_links, funding_largest_first, funding_latest_first
from .models import Donor, FundingRecord, Instrument, Measure, PledgingConference
from .selectors import (
    FOLLOWED_MEASURES,
    FundingTotal,
    combined_total,
    conference_pledges,
    donor_pledges,
    follow_through,
    funding_totals,
    funding_totals_and_groups,
)
from .serializers import FundingTotalSerializer

EXPLORER = ("Funding explorer", "funding:explorer")
# How the explorer's chart and its table group the total: the `group` query parameter.
CHART_GROUPINGS = {"region": "region", "instrument": "instrument"}
# How many groups of each measure and donor the explorer's charts and table show one by one, the
# largest first; the others are one row, added up ("13 others together"), and the records without
# the grouping keep their own row. At +100 000 records there are 21 of each (315 rows); all of
# them are in the CSV linked below the table (``FundingTotalsExportView``).
GROUP_ROWS = 8


def _grouping(request) -> str:
    """The explorer's ``group`` parameter: region (the default) or instrument."""
    group = request.GET.get("group")
    return group if group in CHART_GROUPINGS else "region"


def _largest_groups(groups: list[FundingTotal]) -> list[FundingTotal]:
    """One measure and donor's groups (largest first, "not stated" last) as the page shows them:
    the first ``GROUP_ROWS`` stated ones and the other stated ones added up in one row, when that
    row would stand for two or more; the "not stated" row (records without the grouping, or whose
    region or instrument is a draft) always on its own, however large."""
    stated = [group for group in groups if group.key]
    if len(stated) <= GROUP_ROWS + 1:
        return groups
    others = stated[GROUP_ROWS:]
    combined = combined_total(others, label=f"{len(others)} others together")
    return [*stated[:GROUP_ROWS], combined, *(group for group in groups if not group.key)]


class FundingRecordsFilterMixin(FilterMixin):
    filterset_class = FundingFilter

    def get_base_queryset(self):
        return funding_latest_first()


class StoredCountPaginator(SnapshotPaginator):
    """Pages of funding records whose count is the stored size of a large set (``rollup.count``)."""

    @cached_property
    def count(self) -> int:
        records = self.object_list
        assert isinstance(records, QuerySet)
        return rollup.count(records)


@method_decorator(throttle(AnonymousExpensiveThrottle), name="dispatch")
class FundingExplorerView(FundingRecordsFilterMixin, FilteredListView):
    """Filter the funding records; total them without double counting; chart the total."""

    template_name = "funding/fundingrecord_list.html"
    paginator_class = StoredCountPaginator
    page_title = "Funding explorer"
    keep_query_params = ("group",)
    advanced_fields = (
        "kind",
        "qualifier",
        "year_min",
        "year_max",
        "amount_min",
        "amount_max",
        "parent",
        "conference",
        "top_level",
    )
    field_labels = {"theme": "Key area", "parent": "Part of", "top_level": "Top-level records only"}
    field_hints = {
        "region": "Includes its sub-regions.",
        "year": "Figures for this year alone, e.g. 2024: not those since an earlier year or over "
        "several years.",
        "year_min": "Periods that end in or after this year.",
        "year_max": "Periods that start in or before this year.",
        "top_level": "Yes: leave out the records that are part of another.",
    }

    def get_base_queryset(self):
        # The table shows each record's regions, not its countries or key areas (the CSV, which
        # has every column, keeps them all).
        records = funding_latest_first(relations=False)
        assert isinstance(records, PublishableQuerySet)
        return records.prefetch_published("regions")

    def prepare_form(self, form):
        # "Part of" is typed as a slug: a <select> of every published record would list
        # 100 000 options on every page load.
        form.fields["parent"].widget = forms.TextInput(attrs={"spellcheck": "false"})
        form.fields["conference"].widget = forms.TextInput(attrs={"spellcheck": "false"})
        super().prepare_form(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        group = _grouping(self.request)
        context["group"] = group
        if self.filters_valid:
            records = self.object_list
            totals, groups = funding_totals_and_groups(records=records, group_by=group)
            with_amount = sum(t.records + t.nested for t in totals)
            # Each total's groups (the same measure and donor), in their order: one pass over the
            # groups (their number times the totals' was 4 700 comparisons a page at +100 000).
            by_total: dict[tuple, list[FundingTotal]] = {(total.measure, total.donor): [] for total in totals}
            for g in groups:
                by_total[g.measure, g.donor].append(g)  # a group's records make its total
            shown = {key: _largest_groups(rows) for key, rows in by_total.items()}
            # The table's rows: each total's shown groups, in the totals' order (as groups).
            table = [row for rows in shown.values() for row in rows]
            context.update(
                totals=totals,
                counted=sum(t.records for t in totals),
                nested=sum(t.nested for t in totals),
                without_amount=context["result_count"] - with_amount,
                groups=table,
                group_count=len(groups),
                groups_cut=len(table) < len(groups),  # a cut makes one row of two or more
                groups_shown=GROUP_ROWS,
                # One chart per measure and donor: bars of different measures never share a scale.
                charts=[
                    {
                        "id": f"funding-chart-{number}",
                        "title": f"{total.heading}, by {group}",
                        "chart": bar_chart(
                            (g.label, g.upper, g.display) for g in shown[total.measure, total.donor]
                        ),
                    }
                    for number, total in enumerate(totals, start=1)
                ],
            )
        return context


@method_decorator(throttle(AnonymousExportThrottle), name="dispatch")
class FundingExportView(FundingRecordsFilterMixin, View):
    """The explorer's filtered records as CSV: the same filters, the same rows, every page."""

    def get(self, request, *args, **kwargs):
        if not self.filters_valid:
            errors = self.get_filterset().form.errors
            text = "\n".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
            return HttpResponse(text + "\n", status=400, content_type="text/plain; charset=utf-8")
        # Streamed in chunks of CSV_CHUNK records (funding_csv_rows): the whole table never
        # sits in a worker's memory.
        return csv_download(
            funding_csv_rows(self.get_queryset(), absolute_url=partial(absolute_address, request)),
            filename=f"funding-{timezone.localdate():%Y-%m-%d}.csv",
        )


class FundingTotalsExportView(FundingExportView):  # throttled as downloads by its parent's dispatch
    """Every row of the explorer's "Totals by …" as CSV (the page shows each measure and donor's
    largest groups): the same filters, grouping and published records as the page, in the
    columns of the API's grouped totals (``/api/v1/funding/totals/?group_by=…&format=csv``),
    each group keyed by its records' slugs."""

    def get(self, request, *args, **kwargs):
        if not self.filters_valid:
            return super().get(request, *args, **kwargs)  # the same 400
        _totals, groups = funding_totals_and_groups(
            records=self.get_queryset(), group_by=_grouping(request), identified=True
        )
        data = FundingTotalSerializer(groups, many=True).data
        # A few hundred rows, made in memory: not streamed, so the page cache keeps it.
        text = csv_document(data, csv_columns(FundingTotalSerializer()))
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="funding-totals-{timezone.localdate():%Y-%m-%d}.csv"'
        )
        return response


class FundingIatiExportView(FundingExportView):  # throttled as downloads by its parent's dispatch
    """The explorer's filtered records (all published ones without filters) as IATI 2.03
    activities, streamed like the CSV (funding/iati.py)."""

    def get(self, request, *args, **kwargs):
        if not self.filters_valid:
            return super().get(request, *args, **kwargs)  # the same 400
        return iati_download(self.get_queryset(), absolute_url=request.build_absolute_uri)


class FundingMethodView(PageMixin, TemplateView):
    """Method and sources: what each measure means, how totals are made (nesting, overlaps, shared
    figures, "more than"), the sources, and what the site covers, read from the published records
    so the list of what is covered never drifts from the data."""

    template_name = "funding/method.html"
    page_title = "Method and sources"

    def get_context_data(self, **kwargs):
        # Few by nature (the seed has 6 regions and 17 countries): listed whole, in 2 queries.
        regions = list(
            Region.objects.published().prefetch_related(
                Prefetch("countries", queryset=Country.objects.published(), to_attr="published_countries")
            )
        )
        known = {region.pk for region in regions}
        for region in regions:
            region.published_subregions = [sub for sub in regions if sub.parent_id == region.pk]
        sources, more_sources = first_of(Source.objects.published().order_by("title", "pk"))
        return super().get_context_data(
            page_title=self.page_title,
            donors=Donor.choices,
            measures=Measure.choices,
            regions=[region for region in regions if region.parent_id not in known],
            # Published countries no published region lists: none set, or a draft one.
            countries_without_region=list(
                Country.objects.published().exclude(region_id__in=known).order_by("name")
            ),
            sources=sources,
            more_sources=more_sources,
            **kwargs,
        )

    def get_breadcrumbs(self):
        return [HOME, (self.page_title, None)]


class InstrumentListView(FilteredListView):
    """The financing instruments by name, a page at a time, each with the funding recorded under
    it; ``?region=`` the ones of a region (a region's page links here when it shows the first
    ones only)."""

    filterset_class = InstrumentFilter
    template_name = "funding/instrument_list.html"
    page_title = "Financing instruments"
    field_hints = {"region": "Includes its sub-regions."}

    def get_base_queryset(self):
        return Instrument.objects.for_public().order_by("name", "pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        totals: dict[str, list] = {}
        for total in funding_totals(records=FundingRecord.objects.published(), group_by="instrument"):
            totals.setdefault(total.key, []).append(total)
        for instrument in context["object_list"]:
            instrument.totals = totals.get(str(instrument.pk), [])
        return context


class InstrumentDetailView(PublishedDetailView):
    model = Instrument
    parent_page = ("Financing instruments", "funding:instrument-list")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        records = funding_latest_first(relations=False).filter(instrument=self.object)
        funding, more = first_of(records)  # the totals count them all
        context.update(funding=funding, more_funding=more, totals=funding_totals(records=records))
        return context


class FundingRecordDetailView(PublishedDetailView):
    model = FundingRecord
    template_name = "funding/fundingrecord_detail.html"
    parent_page = EXPLORER

    def get_queryset(self):
        return super().get_queryset().prefetch_published("may_overlap")

    def get_trail_to(self, obj):
        ancestors = []
        for ancestor in obj.ancestors():
            if published_or_none(ancestor) is None:
                break
            ancestors.append((ancestor.title, ancestor.get_absolute_url()))
        return ancestors[::-1]

    def get_page_label(self, obj):
        return obj.title

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        record = self.object
        children = funding_largest_first(relations=False).filter(parent=record)
        followed = record.measure in FOLLOWED_MEASURES
        # What this figure fulfils (a commitment's pledge, a payment's commitment) and, for a
        # figure that is followed, the first ones reported against it: one query.
        fulfils, fulfilled_by, more_fulfilled_by = fulfilment_links(record, against=followed)
        context.update(
            parent=record.parent,
            children=children,
            # One query, empty when there are no parts: the template shows it only with parts.
            children_totals=funding_totals(records=children),
            fulfils=fulfils,
        )
        if followed:
            context.update(
                follow=follow_through(records=FundingRecord.objects.published().filter(pk=record.pk)),
                fulfilled_by=fulfilled_by,
                more_fulfilled_by=more_fulfilled_by,
            )
        return context


class PledgingConferenceListView(FilteredListView):
    """The pledging conferences, latest first, a page at a time; ``?region=`` and ``?year=``
    filter them (a region's page links here when it shows the latest ones only)."""

    filterset_class = PledgingConferenceFilter
    template_name = "funding/pledgingconference_list.html"
    page_title = "Pledging conferences"
    field_hints = {"region": "Includes its sub-regions.", "year": "The year it was held, e.g. 2024."}

    def get_base_queryset(self):
        return PledgingConference.objects.for_public().order_by(F("date").desc(), "name", "pk")


class PledgingConferenceDetailView(PublishedDetailView):
    model = PledgingConference
    parent_page = ("Pledging conferences", "funding:conference-list")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        records = funding_latest_first(relations=False).filter(conference=self.object)
        pledges, more = first_of(records)  # the totals count them all
        context.update(
            pledges=pledges,
            more_pledges=more,
            totals=funding_totals(records=records),
            follow=follow_through(records=conference_pledges(self.object)),  # the stored set
        )
        return context


DONORS = ("Donors", reverse_lazy("funding:donor-list"))


class DonorListView(PageMixin, TemplateView):
    """The donor scopes the figures name, narrowest first, each with its totals per measure."""

    template_name = "funding/donor_list.html"

    def get_context_data(self, **kwargs):
        totals: dict[str, list] = {}
        within: dict[str, list] = {}
        # One total per measure and donor over every published record (stored: one query). A
        # narrower donor's figure inside a wider one's is a part of that total ("of which"), not
        # a total of its own: listed as such under the narrower donor, never added to its totals.
        for total in funding_totals(records=FundingRecord.objects.published()):
            totals.setdefault(total.donor, []).append(total)
            for part in total.parts:
                within.setdefault(part.donor, []).append((total, part))
        donors = [
            {"slug": value, "name": label, "totals": totals.get(value, []), "within": within.get(value, [])}
            for value, label in Donor.choices
        ]
        return super().get_context_data(donors=donors, **kwargs)

    def get_breadcrumbs(self):
        return [HOME, (DONORS[0], None)]


@method_decorator(throttle(AnonymousExpensiveThrottle), name="dispatch")
class DonorDetailView(PageMixin, TemplateView):
    """A donor scope: what it mobilised, pledged, committed and paid (one total per measure, never
    one sum across them), and how its pledges were followed through. Computed per request (about
    2 s for a donor's 6 700 pledges in 100 000 records), hence throttled as the explorer is."""

    template_name = "funding/donor_detail.html"

    def get_context_data(self, **kwargs):
        donor = kwargs.pop("donor")
        if donor not in Donor.values:
            raise Http404("No such donor.")
        records = FundingRecord.objects.published().filter(donor=donor)
        pledges = donor_pledges(donor)  # the set whose follow-through is stored when large
        largest, more = first_of(
            funding_largest_first(relations=False).filter(donor=donor, measure=Measure.PLEDGED)
        )
        return super().get_context_data(
            donor=donor,
            donor_name=Donor(donor).label,
            totals=funding_totals(records=records),
            follow=follow_through(records=pledges),
            pledges=largest,
            more_pledges=more,
            **kwargs,
        )

    def get_breadcrumbs(self):
        return [HOME, DONORS, (str(Donor(self.kwargs["donor"]).label), None)]
