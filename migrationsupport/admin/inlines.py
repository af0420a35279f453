"""``PublishableInline``: an inline of publishable records inside their parent's change form (the
parts of a figure, an agreement's events), whose rows carry their versions like a change form and
which an Editor cannot change when the parent is published.
"""

from __future__ import annotations

from django.contrib import admin

from .. import services
from .forms import PublishableInlineForm


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
