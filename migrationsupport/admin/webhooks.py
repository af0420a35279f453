"""The webhooks' admin: subscriptions (each officer sees and edits their own; superusers all) and
the read-only delivery log, with "send a test event", "resume" and "send again".

Who may do what follows Django's model permissions: ``add/change/view_subscription`` to keep
subscriptions, ``view_delivery`` to read their log. Nobody edits a delivery.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..webhooks import delivery as webhook_delivery
from ..webhooks import records
from ..webhooks.events import send_test_event
from ..webhooks.models import Delivery, DeliveryStatus, EventType, Subscription
from ..webhooks.targets import TargetRefused, check_target

RECORD_EVENTS = [(value, label) for value, label in EventType.choices if value != EventType.TEST]


class SubscriptionForm(forms.ModelForm):
    target_url = forms.URLField(
        label=_("Target URL"),
        max_length=500,
        assume_scheme="https",
        help_text=Subscription._meta.get_field("target_url").help_text,
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=RECORD_EVENTS, widget=forms.CheckboxSelectMultiple
    )
    record_types = forms.MultipleChoiceField(
        label=_("Record types"), choices=(), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Subscription
        fields = ("name", "target_url", "events", "record_types", "filters")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        record_types = self.fields["record_types"]
        assert isinstance(record_types, forms.MultipleChoiceField)
        record_types.choices = [(name, name) for name in sorted(records.record_types())]

    def clean_target_url(self) -> str:
        url = self.cleaned_data["target_url"]
        try:
            check_target(url)
        except TargetRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url

    def clean(self):
        cleaned = super().clean()
        problem = records.filters_error(cleaned.get("record_types") or [], cleaned.get("filters", ""))
        if problem:
            self.add_error("filters", problem)
        return cleaned


def _own(request: HttpRequest, queryset: QuerySet, owner_path: str) -> QuerySet:
    user = request.user
    return queryset if user.is_superuser else queryset.filter(**{owner_path: user})


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("name", "target_url", "owner", "is_active", "pause_reason", "consecutive_failures")
    list_filter = ("is_active",)
    list_select_related = ("owner",)
    search_fields = ("name", "target_url")
    readonly_fields = (
        "owner",
        "secret",
        "is_active",
        "paused_at",
        "pause_reason",
        "consecutive_failures",
        "failing_since",
        "created_at",
    )
    actions = ("send_test", "resume")

    def get_queryset(self, request):
        return _own(request, super().get_queryset(request), "owner")

    def get_fieldsets(self, request, obj=None):
        main = (None, {"fields": ("name", "target_url", "events", "record_types", "filters")})
        if obj is None:
            return (main,)
        state = (
            _("Signing and state"),
            {
                "fields": (
                    "owner",
                    "secret",
                    "is_active",
                    "paused_at",
                    "pause_reason",
                    "consecutive_failures",
                    "failing_since",
                    "created_at",
                ),
                "description": _(
                    "Receivers verify each request with this secret (Standard Webhooks; docs/api.md)."
                ),
            },
        )
        return (main, state)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test(self, request, queryset):
        for subscription in queryset:
            send_test_event(subscription)
        self.message_user(
            request,
            ngettext(
                "A test event is on its way.", "%(count)d test events are on their way.", queryset.count()
            )
            % {"count": queryset.count()},
        )

    @admin.action(description=_("Resume (after a pause)"), permissions=["change"])
    def resume(self, request, queryset):
        paused = list(queryset.filter(is_active=False))
        for subscription in paused:
            webhook_delivery.resume(subscription)
        self.message_user(request, _("%(count)d resumed.") % {"count": len(paused)}, messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "subscription",
        "event_type",
        "record_type",
        "record_id",
        "status",
        "attempts",
        "last_status_code",
        "last_attempt_at",
    )
    # Only the subscriptions whose deliveries this officer sees, not everyone's names.
    list_filter = ("status", "event_type", "record_type", ("subscription", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("subscription",)
    search_fields = ("record_id", "message_id", "event_id")
    date_hierarchy = "created_at"
    actions = ("send_again",)

    def get_queryset(self, request):
        return _own(request, super().get_queryset(request), "subscription__owner")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("migrationsupport.change_subscription")

    @admin.action(description=_("Send again (same webhook-id)"), permissions=["resend"])
    def send_again(self, request, queryset):
        # Not one still being retried (it has a job queued) nor one delivered.
        chosen = list(
            queryset.filter(
                status__in=(DeliveryStatus.FAILED, DeliveryStatus.CANCELLED), subscription__is_active=True
            )
        )
        for delivery in chosen:
            Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING, attempts=0)
            webhook_delivery.enqueue(delivery)
        self.message_user(request, _("%(count)d queued again.") % {"count": len(chosen)})
