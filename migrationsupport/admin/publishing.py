"""``PublishableAdmin``, the base of the admin of every publishable record, drafts and published
alike, and the one place that knows the officers' workflow: Editors work on drafts and a published
record is read-only for them; Publishers publish and unpublish (changelist actions, change-form
buttons) and schedule (``publish_at``); every save goes through the services with the version the
form was loaded at; drafts can be previewed on their public page layout. History and revert are
in ``history.py``, the forms in ``forms.py``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from .. import services
from ..models import PublishableModel, Status
from ..preview import public_path, render_preview
from .columns import last_editor, names
from .filters import ManyToManyListFilter
from .forms import PublishableAdminForm, posted_version
from .history import PublishableHistoryMixin


class PublishableAdmin(PublishableHistoryMixin, SimpleHistoryAdmin):
    """Base of the admin of every ``PublishableModel``, drafts and published alike.

    It adds the status, last editor and last-change columns after the subclass's
    ``list_display``, puts the status filter first, and closes the subclass's ``fieldsets`` with
    a publishing fieldset.
    """

    # The filtered count only: "N of M" would count the whole table on every changelist load.
    show_full_result_count = False

    form = PublishableAdminForm
    change_form_template = "admin/publishing/change_form.html"
    object_history_template = "admin/publishing/object_history.html"
    object_history_list_template = "admin/publishing/object_history_list.html"
    publishing_columns: tuple[str, ...] = ("status_badge", "last_edited_by", "updated_at")
    publishing_fieldset = (
        _("Publishing"),
        {
            "fields": (
                "status",
                "publish_at",
                ("created_at", "updated_at"),
                "version",
                "expected_version",
                "public_change_note",
            )
        },
    )
    readonly_fields: tuple[str, ...] = ("status", "created_at", "updated_at", "version")
    # Officers paste addresses without a scheme; the sources are all served over HTTPS.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("publish_selected", "unpublish_selected")
    list_per_page = 50
    save_on_top = True

    class Media:
        css = {"all": ("admin/publishing.css",)}

    # Columns and queryset

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(last_edited_by=last_editor(self.model))

    def get_list_display(self, request):
        return (*super().get_list_display(request), *self.publishing_columns)

    def get_list_filter(self, request):
        return ("status", *super().get_list_filter(request))

    def lookup_allowed(self, lookup, value, request=None):
        """Django's rule, and the parameter of each ``ManyToManyListFilter`` of this list: since
        5.2.20 Django allows a lookup across a to-many relation only when a list filter is named
        after the relation (``regions``), which this filter's ``regions__id__exact`` is not."""
        filters = self.get_list_filter(request) if request is not None else self.list_filter
        if any(
            isinstance(item, type)
            and issubclass(item, ManyToManyListFilter)
            and item.parameter_name == lookup
            for item in filters
        ):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        scheduled = obj.status == Status.DRAFT and obj.publish_at
        label = _("Scheduled") if scheduled else obj.get_status_display()
        css = "scheduled" if scheduled else obj.status
        return format_html('<span class="status-badge status-{}">{}</span>', css, label)

    @admin.display(description=_("last edited by"), ordering="last_edited_by")
    def last_edited_by(self, obj):
        return getattr(obj, "last_edited_by", None) or "—"

    # Forms

    def get_fieldsets(self, request, obj=None):
        if not self.fieldsets:
            return super().get_fieldsets(request, obj)
        return [*self.fieldsets, self.publishing_fieldset]

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if not services.can_publish(request.user, self.model):
            fields += ("publish_at",)
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user_can_publish = services.can_publish(request.user, self.model)
        return form

    def save_model(self, request, obj, form, change):
        # Read by changes.record_history_entry for this save and its many-to-many changes.
        obj._public_change_note = form.cleaned_data.get("public_change_note") or ""
        if change:
            scheduled = obj.publish_at
            services.save_with_version_check(
                instance=obj, expected_version=form.cleaned_data.get("expected_version"), user=request.user
            )
            if scheduled and obj.publish_at is None:
                self.message_user(
                    request,
                    _("Its scheduled publication was cancelled: a Publisher must review the change."),
                    messages.WARNING,
                )
        else:
            services.create_record(instance=obj, user=request.user)

    def save_formset(self, request, form, formset, change):
        """Inline rows of publishable records are saved through the services, like the main form:
        each changed row is compared with the version its form was loaded at, and an Editor's
        change to a scheduled row cancels its schedule."""
        if not issubclass(formset.model, PublishableModel):
            return super().save_formset(request, form, formset, change)
        rows = formset.save(commit=False)
        versions = {id(row.instance): row.cleaned_data.get("expected_version") for row in formset.forms}
        for obj in formset.deleted_objects:
            obj.delete()
        cancelled = []
        for obj in rows:
            if obj.pk is None:
                services.create_record(instance=obj, user=request.user)
                continue
            scheduled = obj.publish_at
            services.save_with_version_check(
                instance=obj, expected_version=versions.get(id(obj)), user=request.user
            )
            if scheduled and obj.publish_at is None:
                cancelled.append(obj)
        formset.save_m2m()
        if cancelled:
            self.message_user(
                request,
                _("The scheduled publication of %(rows)s was cancelled: a Publisher must review the change.")
                % {"rows": names(cancelled)},
                messages.WARNING,
            )

    def view_on_site(self, obj):
        # A draft's public address is a 404: the change form offers its preview instead.
        return obj.get_absolute_url() if obj.is_published else None

    # Permissions: per record, from the services

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or services.can_change(request.user, obj)
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or services.can_delete(request.user, obj)
        )

    def has_publish_permission(self, request, obj=None):
        return services.can_publish(request.user, self.model)

    # Publishing

    @admin.action(description=_("Publish selected %(verbose_name_plural)s"), permissions=["publish"])
    def publish_selected(self, request, queryset):
        changed = services.set_status_of(queryset=queryset, status=Status.PUBLISHED, user=request.user)
        self.message_user(
            request,
            ngettext("Published %(n)d record.", "Published %(n)d records.", changed) % {"n": changed},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unpublish selected %(verbose_name_plural)s"), permissions=["publish"])
    def unpublish_selected(self, request, queryset):
        changed = services.set_status_of(queryset=queryset, status=Status.DRAFT, user=request.user)
        self.message_user(
            request,
            ngettext(
                "Unpublished %(n)d record: it is a draft again.",
                "Unpublished %(n)d records: they are drafts again.",
                changed,
            )
            % {"n": changed},
            messages.SUCCESS,
        )

    def _url(self, view: str, *args) -> str:
        opts = self.model._meta
        return reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{view}", args=args)

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/preview/", self.preview_view, name=f"{name}_preview"),
            path("<path:object_id>/publish/", wrap(self.publish_view), name=f"{name}_publish"),
            path("<path:object_id>/unpublish/", wrap(self.unpublish_view), name=f"{name}_unpublish"),
            path(
                "<path:object_id>/history/<int:history_id>/revert/",
                wrap(self.revert_view),
                name=f"{name}_revert",
            ),
            *super().get_urls(),
        ]

    def _status_view(self, request, object_id, *, publish: bool):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_publish_permission(request, obj):
            raise PermissionDenied
        change_url = self._url("change", obj.pk)
        expected = posted_version(request)
        if expected is None:
            self.message_user(request, _("Reload the page and try again."), messages.ERROR)
            return HttpResponseRedirect(change_url)
        action = services.publish if publish else services.unpublish
        try:
            changed = action(instance=obj, user=request.user, expected_version=expected)
        except services.StaleVersion as stale:
            self.message_user(
                request, f"{stale.message} {_('Check the current version, then try again.')}", messages.ERROR
            )
            return HttpResponseRedirect(change_url)
        if publish:
            text = _("“%(obj)s” is published.") if changed else _("“%(obj)s” was already published.")
        else:
            text = _("“%(obj)s” is a draft again.") if changed else _("“%(obj)s” was already a draft.")
        self.message_user(request, text % {"obj": obj}, messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def publish_view(self, request, object_id):
        return self._status_view(request, object_id, publish=True)

    def unpublish_view(self, request, object_id):
        return self._status_view(request, object_id, publish=False)

    def preview_view(self, request, object_id):
        """The public page of a record, drafts included, for staff only: anyone else gets a 404."""
        user = request.user
        if not (user.is_active and user.is_staff):
            raise Http404
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise Http404
        return render_preview(request, obj, admin_url=self._url("change", obj.pk))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if obj is not None:
            context.update(
                record=obj,
                can_publish=self.has_publish_permission(request, obj),
                preview_url=self._url("preview", obj.pk) if public_path(obj) else None,
                publish_url=self._url("publish", obj.pk),
                unpublish_url=self._url("unpublish", obj.pk),
            )
        return super().change_view(request, object_id, form_url, extra_context=context)
