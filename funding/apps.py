from django.apps import AppConfig


class FundingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "funding"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from migrationsupport.models import Theme
        from migrationsupport.registry import registry
        from migrationsupport.sitemaps import published_sitemap
        from regions.models import Country, Region

        from . import api, rollup, search
        from .models import (
            Fulfilment,
            FundingFollowThroughStored,
            FundingRangeTotalsRow,
            FundingRecord,
            FundingTotalsAnswer,
            FundingTotalsChange,
            FundingTotalsRow,
            FundingTotalsSet,
            FundingTotalsState,
            Instrument,
            PledgingConference,
        )

        registry.search.extend(search.RECORD_TYPES)
        registry.list_pages.extend(
            ["funding:explorer", "funding:instrument-list", "funding:conference-list", "funding:donor-list"]
        )
        registry.sitemaps.update(
            instruments=published_sitemap(Instrument),
            conferences=published_sitemap(PledgingConference),
            # Counted from the stored totals' count of the published records (counting 100 000
            # rows was a scan), the last change from the (status, updated_at) index.
            funding=published_sitemap(FundingRecord, count_items=rollup.count),
        )
        registry.api("instruments", api.InstrumentViewSet, "instrument")
        registry.api("funding", api.FundingRecordViewSet, "funding")
        # The rebuild stores the API's grouped totals as the API writes them (funding.rollup).
        rollup.register_answer_writer(api.STORED_ANSWER)
        registry.api("conferences", api.PledgingConferenceViewSet, "conference")

        # An as_of snapshot stores the totals of the records as they stood (migrationsupport.asof),
        # of every published record; its filtered sets and range filters' sets are computed per
        # request (its own range table stays empty).
        registry.as_of_rebuilds.append(
            (
                (
                    FundingTotalsRow,
                    FundingTotalsSet,
                    FundingTotalsChange,
                    FundingTotalsState,
                    FundingFollowThroughStored,
                    FundingRangeTotalsRow,
                    FundingTotalsAnswer,
                ),
                lambda: rollup.rebuild(force=True, filtered=False),
            )
        )

        # Keep the stored totals current (funding.rollup): after a write to funding records, their
        # links, or regions (the region filter's sets read the region tree), fulfilment links or
        # conferences (the stored follow-through reads them).
        for sender in (FundingRecord, Region, Fulfilment, PledgingConference):
            name = sender._meta.model_name
            post_save.connect(
                rollup.rebuild_after_commit, sender=sender, dispatch_uid=f"funding-totals-save-{name}"
            )
            post_delete.connect(
                rollup.rebuild_after_commit, sender=sender, dispatch_uid=f"funding-totals-delete-{name}"
            )
        # The stored API answers name countries, key areas and instruments, which no trigger
        # watches (their rows do not change the totals): their writes store the answers again.
        for named in (Country, Theme, Instrument):
            name = named._meta.model_name
            post_save.connect(
                rollup.answers_after_commit, sender=named, dispatch_uid=f"funding-answers-save-{name}"
            )
            post_delete.connect(
                rollup.answers_after_commit, sender=named, dispatch_uid=f"funding-answers-delete-{name}"
            )
        for field in ("regions", "countries", "themes", "may_overlap"):
            m2m_changed.connect(
                rollup.rebuild_after_commit,
                sender=getattr(FundingRecord, field).through,
                dispatch_uid=f"funding-totals-{field}",
            )
