"""Admin for money: instruments, pledging conferences and funding records with their parts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from migrationsupport.admin import (
    ManyToManyListFilter,
    PublishableAdmin,
    PublishableAdminForm,
    PublishableImportExportMixin,
    PublishableInline,
    TopLevelListFilter,
    names,
)

if TYPE_CHECKING:
    from migrationsupport.models import Message

from .models import Fulfilment, FundingRecord, Instrument, Measure, PledgingConference
from .resources import FundingRecordResource
from .selectors import funding_overlap_candidates


@admin.register(Instrument)
class InstrumentAdmin(PublishableAdmin):
    list_display = ("name", "short_name", "region_list", "source")
    list_select_related = ("source",)
    list_filter = (ManyToManyListFilter.of("regions"),)
    search_fields = ("name", "short_name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("regions", "source")
    fieldsets = (
        (None, {"fields": ("name", "short_name", "slug", "description")}),
        (_("Where"), {"fields": ("regions",)}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description=_("regions"))
    def region_list(self, obj: Instrument) -> str:
        return names(obj.regions.all())


@admin.register(PledgingConference)
class PledgingConferenceAdmin(PublishableAdmin):
    list_display = ("name", "edition", "date_display", "place", "host", "region_list")
    list_filter = (ManyToManyListFilter.of("regions"),)
    search_fields = ("name", "slug", "place", "host")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("regions", "source")
    date_hierarchy = "date"
    fieldsets = (
        (None, {"fields": ("name", "slug", "edition")}),
        (_("When and where"), {"fields": (("date", "date_precision"), ("place", "host"), "regions")}),
        (_("Provenance"), {"fields": ("source",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description=_("date"), ordering="date")
    def date_display(self, obj: PledgingConference):
        return obj.date_display

    @admin.display(description=_("regions"))
    def region_list(self, obj: PledgingConference) -> str:
        return names(obj.regions.all())


class ChildFundingInline(PublishableInline):
    """The parts of a figure, e.g. the programmes inside a package; open one for every field."""

    model = FundingRecord
    fk_name = "parent"
    verbose_name = _("part")
    verbose_name_plural = _("parts of this figure")
    fields = ("title", "slug", "kind", "amount", "qualifier", "measure", "source", "status")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("source",)
    show_change_link = True
    extra = 0


class FollowUpListFilter(admin.SimpleListFilter):
    """What an officer must chase: pledges with no follow-up a year on, links without a source."""

    title = _("follow-up")
    parameter_name = "follow_up"

    def lookups(self, request, model_admin):
        return (
            ("overdue", _("Pledge without follow-up after 12 months")),
            ("undated", _("Pledge without a date")),
            ("reported", _("With follow-up")),
            ("unsourced", _("Fulfilment link missing a source")),
        )

    def queryset(self, request, queryset):
        value = self.value()
        if value == "overdue":
            return queryset.pledges_without_follow_up(today=timezone.localdate())
        if value == "undated":
            return queryset.filter(
                measure=Measure.PLEDGED, period_start__isnull=True, conference__isnull=True
            )
        if value == "reported":
            return queryset.with_follow_up()
        if value == "unsourced":
            missing = Fulfilment.objects.filter(source__isnull=True)
            return queryset.filter(
                Q(pk__in=missing.values("fulfilled")) | Q(pk__in=missing.values("fulfilling"))
            )
        return queryset


class SourceMissingListFilter(admin.SimpleListFilter):
    title = _("source")
    parameter_name = "source_missing"

    def lookups(self, request, model_admin):
        return (("yes", _("Missing a source")), ("no", _("With a source")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(source__isnull=self.value() == "yes")
        return queryset


@admin.register(Fulfilment)
class FulfilmentAdmin(PublishableAdmin):
    """Links between a pledge and the commitments and payments that fulfil it."""

    list_display = ("fulfilling", "fulfilling_measure", "fulfilled", "fulfilled_measure", "source")
    list_select_related = ("fulfilling", "fulfilled", "source")
    list_filter = (SourceMissingListFilter, "fulfilled__measure", "fulfilling__measure")
    search_fields = ("fulfilling__title", "fulfilled__title", "fulfilling__slug", "fulfilled__slug")
    autocomplete_fields = ("fulfilled", "fulfilling", "source")
    fieldsets = (
        (None, {"fields": ("fulfilled", "fulfilling")}),
        (_("Provenance"), {"fields": ("source", "source_passage")}),
    )

    @admin.display(description=_("measure"), ordering="fulfilling__measure")
    def fulfilling_measure(self, obj: Fulfilment) -> str:
        return obj.fulfilling.get_measure_display()

    @admin.display(description=_("fulfils a figure that is"), ordering="fulfilled__measure")
    def fulfilled_measure(self, obj: Fulfilment) -> str:
        return obj.fulfilled.get_measure_display()


class FundingRecordAdminForm(PublishableAdminForm):
    def _post_clean(self):
        """After the model's own checks (the instance now holds the posted measure and donor): the
        figures it may overlap must be of the same measure and donor, and neither itself nor its
        whole or parts. Refused beside the field; nothing is saved."""
        super()._post_clean()
        if (
            "may_overlap" in self.cleaned_data
            and not self.has_error("measure")
            and not self.has_error("donor")
        ):
            try:
                self.instance.clean_may_overlap(self.cleaned_data["may_overlap"])
            except ValidationError as error:
                self.add_error(None, error)


@admin.register(FundingRecord)
class FundingRecordAdmin(PublishableImportExportMixin, PublishableAdmin):
    form = FundingRecordAdminForm
    resource_classes = [FundingRecordResource]
    export_select_related = ("instrument", "conference", "parent", "source")
    export_prefetch_related = ("regions", "countries", "themes", "may_overlap")
    list_display = (
        "title",
        "amount_display",
        "period_display",
        "measure",
        "donor",
        "instrument",
        "region_list",
        "parent",
    )
    list_select_related = ("instrument", "parent")
    # The explorer's order, which funding_latest_first_idx serves (the model's "-period_start"
    # puts undated records first and would sort 100 000 rows for each page); "id" last keeps it
    # total, so the changelist adds no "-pk" the index does not have.
    ordering = (
        F("period_start").desc(nulls_last=True),
        F("amount").desc(nulls_last=True),
        "title",
        "id",
    )
    list_filter = (
        "measure",
        "kind",
        "donor",
        "instrument",
        ManyToManyListFilter.of("regions"),
        "qualifier",
        TopLevelListFilter,
        FollowUpListFilter,
        # Not RelatedOnlyFieldListFilter: it reads the conference of every record (100 000 rows)
        # to list the few conferences; conferences are few, so list them all.
        "conference",
        ManyToManyListFilter.of("themes"),
    )
    search_fields = ("title", "slug", "implementer")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = (
        "instrument",
        "conference",
        "regions",
        "countries",
        "themes",
        "parent",
        "may_overlap",
        "source",
    )
    readonly_fields = (*PublishableAdmin.readonly_fields, "overlap_candidates", "follow_up_missing")
    date_hierarchy = "period_start"
    inlines = (ChildFundingInline,)
    fieldsets = (
        (None, {"fields": ("title", "slug", "kind", "description")}),
        (_("Amount"), {"fields": (("amount", "qualifier", "wording"), "measure")}),
        (
            _("Period"),
            {"fields": (("period_start", "period_start_precision"), ("period_end", "period_end_precision"))},
        ),
        (_("Who"), {"fields": ("donor", "implementer", "instrument", "conference")}),
        (_("Where and what"), {"fields": ("regions", "countries", "themes")}),
        (_("Part of"), {"fields": ("parent",)}),
        (_("Follow-through"), {"fields": ("follow_up_missing",)}),
        (_("Figures it may overlap"), {"fields": ("may_overlap", "overlap_candidates")}),
        (_("Provenance"), {"fields": ("source", "source_passage")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("regions")

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: FundingRecord):
        return obj.amount_display

    @admin.display(description=_("period"), ordering="period_start")
    def period_display(self, obj: FundingRecord) -> str | None:
        return obj.period_display or None

    @admin.display(description=_("regions"))
    def region_list(self, obj: FundingRecord) -> str:
        return names(obj.regions.all())

    @admin.display(description=_("candidates to check"))
    def overlap_candidates(self, obj: FundingRecord):
        """Figures whose scope overlaps this one's and that are not marked yet: an officer reads
        the sources and marks those they do not say are separate."""
        if obj is None or obj.pk is None or obj.amount is None:
            return _("Saved figures with an amount get suggestions here.")
        candidates = funding_overlap_candidates(record=obj)
        if not candidates:
            return _("None: no other figure of the same measure and donor overlaps its regions and period.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a> ({})</li>',
                (
                    (reverse("admin:funding_fundingrecord_change", args=[c.pk]), c.title, c.amount_display)
                    for c in candidates
                ),
            ),
        )

    @admin.display(description=_("what is missing"))
    def follow_up_missing(self, obj: FundingRecord):
        """What an officer should add for this figure to be followed through (pledges and
        commitments), or what its links lack."""
        if obj is None or obj.pk is None:
            return _("Saved figures are checked here.")
        problems: list[Message] = []
        links = list(Fulfilment.objects.filter(Q(fulfilled=obj) | Q(fulfilling=obj)).select_related("source"))
        unsourced = [link for link in links if link.source_id is None]
        if unsourced:
            problems.append(
                _("%(n)s fulfilment link(s) without a source: cite where the link is stated.")
                % {"n": len(unsourced)}
            )
        if obj.measure == Measure.PLEDGED:
            overdue = FundingRecord.objects.filter(pk=obj.pk).pledges_without_follow_up(
                today=timezone.localdate()
            )
            if overdue.exists():
                problems.append(_("No published follow-up, more than 12 months after the pledge."))
            elif obj.conference_id is None and obj.period_start is None:
                problems.append(_("No date: neither a conference nor a period says when it was pledged."))
        links_url = reverse("admin:funding_fulfilment_changelist")
        problems.append(
            format_html(
                '<a href="{}?fulfilled__id__exact={}">Follow-up reported against it</a> ({}); '
                '<a href="{}?fulfilling__id__exact={}">what it fulfils</a> ({}).',
                links_url,
                obj.pk,
                sum(1 for link in links if link.fulfilled_id == obj.pk),
                links_url,
                obj.pk,
                sum(1 for link in links if link.fulfilling_id == obj.pk),
            )
        )
        if len(problems) > 1:
            return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p,) for p in problems)))
        return problems[0]
