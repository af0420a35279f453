"""Admin for officers: the shared base of every publishable record, sources, themes, page text.

``PublishableAdmin`` is the one place that knows the officers' workflow, so the per-model admins
only say what is particular to their model:

- Editors work on drafts; a published record is read-only for them. The status is never a form
  field: Publishers publish and unpublish with the actions (changelist) or the buttons on the
  change form; the schedule (``publish_at``) is theirs too.
- Each change form carries the version it was loaded at; a stale save is refused, naming who
  saved in between and showing their values beside yours (``migrationsupport.services``).
- The history page shows what changed between versions and reverts to any of them.
- Drafts can be previewed on their public page layout.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .filters import related_pks
from .models import PageSection, PublishableModel, Source, Status, Theme
from .preview import public_path, render_preview


def names(objects: Iterable[object]) -> str:
    """A comma-separated column for a to-many relation; give it a prefetched ``.all()``."""
    return ", ".join(str(obj) for obj in objects)


class TopLevelListFilter(admin.SimpleListFilter):
    """Top-level records versus parts of a larger one, for models with a ``parent``."""

    title = _("level")
    parameter_name = "level"

    def lookups(self, request, model_admin):
        return (("top", _("Top level")), ("part", _("Part of a larger one")))

    def queryset(self, request, queryset):
        if self.value() == "top":
            return queryset.filter(parent__isnull=True)
        if self.value() == "part":
            return queryset.filter(parent__isnull=False)
        return queryset


class ManyToManyListFilter(admin.SimpleListFilter):
    """Filter by one related record across a many-to-many relation, without DISTINCT.

    Django's own filter on a many-to-many field joins the relation and makes the changelist
    ``SELECT DISTINCT`` over every column to drop the repeats, which at 100 000 funding records
    sorts the table three times per page (page, count, date range): 425 ms. This one is a
    semi-join on the through table (``migrationsupport.filters.related_pks``), with the same
    address (``?regions__id__exact=6``). Use ``ManyToManyListFilter.of("regions")``.
    """

    field_name = ""

    @classmethod
    def of(cls, field_name: str) -> type[ManyToManyListFilter]:
        return type(f"{field_name.title()}ListFilter", (cls,), {"field_name": field_name})

    def __init__(self, request, params, model, model_admin):
        self.field = model._meta.get_field(self.field_name)
        self.title = self.field.verbose_name
        self.parameter_name = f"{self.field_name}__id__exact"
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [(str(obj.pk), str(obj)) for obj in self.field.related_model._default_manager.all()]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        # A value that is no primary key at all (``abc``, out of range) is the admin's "?e=1"
        # redirect, as for its own filters; the database would refuse it with a 500.
        pk_field = self.field.related_model._meta.pk
        try:
            pk = pk_field.to_python(self.value())
            pk_field.run_validators(pk)
        except ValidationError as exc:
            raise admin.options.IncorrectLookupParameters(exc) from exc
        matching = related_pks(queryset.model, self.field_name, lambda path: models.Q(**{path: pk}))
        return queryset.filter(pk__in=matching)


# --- Forms: the version a form was loaded at, and what to show when it is stale -------------


def _display(model_field, value) -> str:
    if value is None or value == "":
        return "—"
    if model_field.many_to_many:
        return names(value) or "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def conflict_rows(form: forms.ModelForm, current: models.Model) -> list[tuple[str, str, str]]:
    """(label, their value, your value) for every field the stale form would have overwritten."""
    rows = []
    for name, field in form.fields.items():
        if name == "expected_version" or name not in form.cleaned_data:
            continue
        try:
            model_field = current._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        theirs = getattr(current, name).all() if model_field.many_to_many else getattr(current, name)
        theirs, yours = _display(model_field, theirs), _display(model_field, form.cleaned_data[name])
        if theirs != yours:
            rows.append((str(field.label or name), theirs, yours))
    return rows


class PublishableAdminForm(forms.ModelForm):
    """A record's form, carrying the version it was loaded at.

    ``clean()`` locks the stored row and compares versions (the admin validates and saves in one
    transaction, so the lock lasts until the save). A stale form is invalid: ``conflict`` then
    lists their values beside yours. The admin sets ``user_can_publish`` per request.
    """

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    #: The main form is saved even when unchanged (its inlines may have changed); inline forms
    #: are saved only when changed, so only then can they overwrite someone's edit.
    always_check_version = True
    user_can_publish = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.conflict: list[tuple[str, str, str]] = []
        self.stale: services.StaleVersion | None = None
        if self.instance.pk is not None:
            self.fields["expected_version"].initial = self.instance.version
            self.fields["expected_version"].required = True

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk is None or not (self.always_check_version or self.has_changed()):
            return cleaned
        if instance.status == Status.PUBLISHED and not self.user_can_publish:
            raise ValidationError(
                _("“%(record)s” is published: only a Publisher can change it.") % {"record": instance},
                code="published",
            )
        try:
            services.check_version(instance=instance, expected_version=cleaned.get("expected_version"))
        except services.StaleVersion as stale:
            self.stale = stale
            self.conflict = conflict_rows(self, stale.current)
            raise ValidationError(stale.message, code="stale") from None
        return cleaned


class PublishableInlineForm(PublishableAdminForm):
    always_check_version = False


# --- The shared admin base ---------------------------------------------------------------


def _last_editor(model: type[models.Model]) -> Subquery:
    """The name of whoever made the newest history entry: one correlated subquery, no query per row."""
    history = model.history.model
    name = Coalesce(
        NullIf(Trim(Concat("history_user__first_name", Value(" "), "history_user__last_name")), Value("")),
        "history_user__username",
    )
    newest = (
        history.objects.filter(**{model._meta.pk.attname: OuterRef("pk")})
        .order_by("-history_date", "-history_id")
        .annotate(editor=name)
        .values("editor")[:1]
    )
    return Subquery(newest, output_field=models.CharField())


def _posted_version(request) -> int | None:
    try:
        return int(request.POST["expected_version"])
    except (KeyError, ValueError):
        return None


class PublishableAdmin(SimpleHistoryAdmin):
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
        {"fields": ("status", "publish_at", ("created_at", "updated_at"), "version", "expected_version")},
    )
    readonly_fields = ("status", "created_at", "updated_at", "version")
    # Officers paste addresses without a scheme; the sources are all served over HTTPS.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ("publish_selected", "unpublish_selected")
    list_per_page = 50
    save_on_top = True

    class Media:
        css = {"all": ("admin/publishing.css",)}

    # Columns and queryset

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(last_edited_by=_last_editor(self.model))

    def get_list_display(self, request):
        return (*super().get_list_display(request), *self.publishing_columns)

    def get_list_filter(self, request):
        return ("status", *super().get_list_filter(request))

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
        expected = _posted_version(request)
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

    # History: diffs between versions, revert

    def history_view(self, request, object_id, extra_context=None):
        try:
            self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError:
            raise Http404 from None  # simple-history would fail on an id that is not one
        obj = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if obj is not None:
            context.update(
                record=obj,
                can_revert=self.has_change_permission(request, obj),
                revert_url_name=f"{self.admin_site.name}:{self.model._meta.app_label}_"
                f"{self.model._meta.model_name}_revert",
            )
        return super().history_view(request, object_id, extra_context=context)

    def history_view_title(self, request, obj):
        return _("History of %(record)s") % {"record": obj}

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Diff each entry against the one before it, the last one on a page included."""
        records = list(historical_records)
        if getattr(historical_records, "has_next", lambda: False)():
            following = historical_records.paginator.page(historical_records.next_page_number())
            records.append(following.object_list[0])
        super().set_history_delta_changes(request, records, foreign_keys_are_objs)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # A version's own page would show today's many-to-many relations beside that version's
        # fields; the history page shows what each version changed and reverts to it instead.
        return HttpResponseRedirect(self._url("history", unquote(object_id)))

    def revert_disabled(self, request, obj=None):
        return True  # simple-history's own revert form; ours is revert_view

    def revert_view(self, request, object_id, history_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        history_model = self.model.history.model
        record = get_object_or_404(
            history_model, **{self.model._meta.pk.attname: obj.pk}, history_id=history_id
        )
        history_url = self._url("history", obj.pk)
        expected = _posted_version(request)
        if expected is None:
            self.message_user(request, _("Reload the page and try again."), messages.ERROR)
            return HttpResponseRedirect(history_url)
        try:
            services.revert(instance=obj, record=record, user=request.user, expected_version=expected)
        except services.StaleVersion as stale:
            self.message_user(request, f"{stale.message} {_('Nothing was reverted.')}", messages.ERROR)
            return HttpResponseRedirect(history_url)
        except ValidationError as error:
            problems = "; ".join(services.validation_messages(error))
            self.message_user(
                request,
                _("That version cannot be restored as it is: %(p)s") % {"p": problems},
                messages.ERROR,
            )
            return HttpResponseRedirect(history_url)
        self.message_user(request, _("Reverted. The revert is itself a new version in the history."))
        return HttpResponseRedirect(self._url("change", obj.pk))


class PublishableInline(admin.TabularInline):
    """An inline of publishable records (the parts of a figure, an agreement's events).

    Their status is shown, not edited (publish them from their own admin); each row carries its
    version like a change form; an Editor cannot change a published row or a published parent.
    """

    form = PublishableInlineForm
    readonly_fields = ("status",)

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return fields if "expected_version" in fields else [*fields, "expected_version"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.user_can_publish = services.can_publish(request.user, self.model)
        return formset

    def _parent_editable(self, request, obj) -> bool:
        return obj is None or services.can_change(request.user, obj)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._parent_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._parent_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._parent_editable(request, obj)


class PublishableImportExportMixin(ImportExportMixin):
    """CSV and XLSX import/export for a ``PublishableAdmin`` (put this mixin first).

    Export follows the changelist's current filters and search. Import previews every row (new,
    update, skipped, rejected with the reason) and applies the file in one transaction: a single
    rejected row rolls the whole file back. What each row may do depends on the importer (see
    ``migrationsupport.resources.PublishableResource``).
    """

    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]
    import_error_display = ("message", "row")
    export_select_related: tuple[str, ...] = ()
    export_prefetch_related: tuple[str, ...] = ()

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_queryset(self, request):
        return (
            super()
            .get_export_queryset(request)
            .select_related(*self.export_select_related)
            .prefetch_related(*self.export_prefetch_related)
        )

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs.pop("request", None)
        # All or nothing: a row that fails validation rolls back the rows before it too.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            self.message_user(
                request,
                _("Nothing was imported: the file has rows that cannot be imported. Check it and try again."),
                messages.ERROR,
            )
            return HttpResponseRedirect(self._url("import"))
        return super().process_result(result, request)


# --- Site-wide records --------------------------------------------------------------------


@admin.register(Source)
class SourceAdmin(PublishableAdmin):
    list_display = ("title", "publisher", "date_display", "url")
    list_filter = ("publisher", "date_precision")
    search_fields = ("title", "publisher", "url", "slug")
    prepopulated_fields = {"slug": ("title",)}
    date_hierarchy = "date"
    fieldsets = (
        (None, {"fields": ("title", "slug", "publisher", "url")}),
        (_("Date"), {"fields": (("date", "date_precision"),)}),
    )

    @admin.display(description=_("date"), ordering="date")
    def date_display(self, obj: Source):
        return obj.date_display


@admin.register(Theme)
class ThemeAdmin(PublishableAdmin):
    list_display = ("name", "order", "source")
    list_select_related = ("source",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("source",)
    fieldsets = ((None, {"fields": ("name", "slug", "description", "order", "source")}),)


@admin.register(PageSection)
class PageSectionAdmin(PublishableAdmin):
    list_display = ("__str__", "slug", "order", "source")
    list_select_related = ("source",)
    search_fields = ("slug", "title", "body")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("source",)
    fieldsets = ((None, {"fields": ("title", "slug", "body", "order", "source")}),)


# --- Users and groups: superusers only --------------------------------------------------------


class SuperuserOnlyMixin:
    """Only superusers see or change accounts and roles, whatever permissions a user was given."""

    def _is_superuser(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._is_superuser(request)

    def has_view_permission(self, request, obj=None):
        return self._is_superuser(request)

    def has_add_permission(self, request):
        return self._is_superuser(request)

    def has_change_permission(self, request, obj=None):
        return self._is_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_superuser(request)


for _model, _admin_class in ((User, UserAdmin), (Group, GroupAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(
        _model, type(f"Officer{_admin_class.__name__}", (SuperuserOnlyMixin, _admin_class), {})
    )
