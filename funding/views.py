from __future__ import annotations

from migrationsupport.views import PublishedDetailView

from .models import FundingRecord, Instrument, PledgingConference


class InstrumentDetailView(PublishedDetailView):
    model = Instrument


class FundingRecordDetailView(PublishedDetailView):
    model = FundingRecord
    template_name = "funding/fundingrecord_detail.html"


class PledgingConferenceDetailView(PublishedDetailView):
    model = PledgingConference
