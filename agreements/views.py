from __future__ import annotations

from django.db.models import Prefetch
from django.urls import reverse

from migrationsupport.views import FilteredListView, PublishedDetailView

from .filters import AgreementFilter, DocumentFilter
from .lifecycle import FAMILIES, in_order
from .models import Agreement, AgreementEvent, Document
from .selectors import agreement_lanes, agreements_with_timeline, documents_latest_first


class AgreementListView(FilteredListView):
    filterset_class = AgreementFilter
    template_name = "agreements/agreement_list.html"
    page_title = "Agreements and arrangements"
    field_labels = {
        "kind": "Kind",
        "status": "Current status",
        "country": "Partner country",
        "agency": "EU agency",
        "theme": "Key area",
        "date_after": "A step on or after",
        "date_before": "A step on or before",
    }
    field_hints = {"region": "Agreements with a country of this region or its sub-regions."}

    def get_base_queryset(self):
        return agreements_with_timeline().order_by("title", "pk")


class AgreementTimelineView(AgreementListView):
    """The same filtered agreements as dated steps in time order, grouped by year."""

    template_name = "agreements/agreement_timeline.html"
    page_title = "Timeline of agreements and arrangements"
    # The list's paging (``paginate_by``, inherited: 50 a page, page 2 here is page 2 there), so
    # a page stays the same size however many there are; 100 a page made 185 kB and ~54 ms of
    # CPU at +100 000 records (docs/performance.md).

    def get_breadcrumbs(self):
        listing = (AgreementListView.page_title, reverse("agreements:agreement-list"))
        return [*super().get_breadcrumbs()[:-1], listing, (self.page_title, None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        after = before = None
        if self.filters_valid:
            data = self.get_filterset().form.cleaned_data
            after, before = data.get("date_after"), data.get("date_before")
        agreements = list(context["object_list"])
        events = [
            event
            for agreement in agreements
            for event in agreement.published_events
            if (after is None or event.date >= after) and (before is None or event.date <= before)
        ]
        events = in_order(events)
        context.update(
            events=events,
            undated=[a for a in agreements if not a.published_events],
            lanes=agreement_lanes(agreements),
            families=FAMILIES,
        )
        return context


class AgreementDetailView(PublishedDetailView):
    model = Agreement
    parent_page = ("Agreements and arrangements", "agreements:agreement-list")

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .prefetch_published("themes")
            .prefetch_related(
                Prefetch(
                    "events",
                    queryset=AgreementEvent.objects.for_public().in_lifecycle_order(),
                    to_attr="published_events",
                ),
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["region"] = self.object.region
        return context


class DocumentListView(FilteredListView):
    filterset_class = DocumentFilter
    template_name = "agreements/document_list.html"
    page_title = "Key documents"
    field_labels = {"kind": "Kind of document", "theme": "Key area", "country": "Country"}
    field_hints = {"region": "Includes its sub-regions.", "year": "The year it was adopted, e.g. 2023."}

    def get_base_queryset(self):
        return documents_latest_first()


class DocumentDetailView(PublishedDetailView):
    model = Document
    parent_page = ("Key documents", "agreements:document-list")

    def get_queryset(self):
        return super().get_queryset().prefetch_published("themes")
