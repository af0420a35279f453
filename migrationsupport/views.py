"""Site-wide pages: the overview and the shared detail-view base."""

from __future__ import annotations

from django.views.generic import DetailView, TemplateView

from agreements.models import Agreement, Document
from funding.models import FundingRecord, Instrument, PledgingConference
from regions.models import Country, Region

from .models import PageSection, Source, Theme


class PublishedDetailView(DetailView):
    """A detail page that only ever shows published records: a draft is a 404 like a typo."""

    def get_queryset(self):
        return self.model.objects.published()


class HomeView(TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        published_regions = Region.objects.published()
        context.update(
            sections=PageSection.objects.published(),
            themes=Theme.objects.published(),
            regions=published_regions.top_level().prefetch_related("subregions"),
            instruments=Instrument.objects.published(),
            funding=FundingRecord.objects.published().for_listing().order_by("pk"),
            conferences=PledgingConference.objects.published(),
            agreements=Agreement.objects.published().for_listing(),
            documents=Document.objects.published().for_listing(),
            footnoted_countries=Country.objects.published().exclude(cooperation_note=""),
        )
        return context


class ThemeDetailView(PublishedDetailView):
    model = Theme
    template_name = "migrationsupport/theme_detail.html"


class SourceDetailView(PublishedDetailView):
    model = Source
