"""The officers' admin site: Django's, plus the site-wide "recent changes" page.

``OfficerAdminConfig`` replaces ``django.contrib.admin`` in ``INSTALLED_APPS`` and makes
``OfficerAdminSite`` the default site, so ``admin.site`` everywhere is this one. This module is
imported while the app registry is still loading: it must not import models at the top.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OfficerAdminConfig(AdminConfig):
    default_site = "migrationsupport.admin_site.OfficerAdminSite"


class RecentChangesForm(forms.Form):
    user: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("Anyone"), label=_("By")
    )
    model = forms.ChoiceField(required=False, label=_("Record type"))
    since = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, models_by_label, with_usernames: bool, **kwargs):
        from .services import describe_user

        super().__init__(*args, **kwargs)
        officers = get_user_model()._default_manager.filter(is_staff=True)
        user_field, model_field = self.fields["user"], self.fields["model"]
        assert isinstance(user_field, forms.ModelChoiceField) and isinstance(model_field, forms.ChoiceField)
        user_field.queryset = officers.order_by("first_name", "last_name", "pk")
        # Django's documented way to relabel one field's choices; the stubs allow only a method.
        user_field.label_from_instance = lambda user: describe_user(  # type: ignore[method-assign,assignment]
            user, with_username=with_usernames
        )
        model_field.choices = [
            ("", _("Any")),
            *sorted(
                (
                    (label, str(model._meta.verbose_name_plural).capitalize())
                    for label, (model, _h) in models_by_label.items()
                ),
                key=lambda choice: choice[1],
            ),
        ]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date cannot be before the start date."))
        return cleaned


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class OfficerAdminSite(admin.AdminSite):
    site_header = _("Migration Support administration")
    site_title = _("Migration Support administration")
    index_title = _("Records")
    index_template = "admin/officer_index.html"
    recent_changes_per_page = 50

    def get_urls(self):
        return [
            path("recent-changes/", self.admin_view(self.recent_changes_view), name="recent-changes"),
            *super().get_urls(),
        ]

    def _history_url(self, model_label: str, object_id) -> str:
        return reverse(f"{self.name}:{model_label.replace('.', '_')}_history", args=[object_id])

    def recent_changes_view(self, request):
        """Every change to every record, newest first; filter by officer, record type and date."""
        from .history import describe_changes, history_models, recent_changes_queryset

        models_by_label = {
            label: pair
            for label, pair in history_models().items()
            if self.is_registered(pair[0]) and self._registry[pair[0]].has_view_permission(request)
        }
        # Login names are for whoever manages accounts (superusers); other officers see names only.
        with_usernames = request.user.is_superuser
        form = RecentChangesForm(
            request.GET or None, models_by_label=models_by_label, with_usernames=with_usernames
        )
        filters = {}
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            filters = {
                "model_label": data["model"] or None,
                "user_id": data["user"].pk if data["user"] else None,
                "since": _start_of(data["since"]) if data["since"] else None,
                "until": _start_of(data["until"] + datetime.timedelta(days=1)) if data["until"] else None,
            }
        rows = (
            recent_changes_queryset(**filters, model_labels=list(models_by_label)) if models_by_label else []
        )
        paginator = Paginator(rows, self.recent_changes_per_page)
        page = paginator.get_page(request.GET.get("p"))
        query = request.GET.copy()
        query.pop("p", None)
        context = {
            **self.each_context(request),
            "title": _("Recent changes"),
            "form": form,
            "page_obj": page,
            "changes": describe_changes(
                list(page.object_list), url_for=self._history_url, with_usernames=with_usernames
            ),
            "query": query.urlencode(),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/recent_changes.html", context)
