"""A record's history in the admin (django-simple-history): the history page shows what each
version changed, the last entry of a page included, and reverts to any version through the
services (a revert is itself a new version, refused when the page was stale). Mixed into
``PublishableAdmin``, which gives the URLs (``revert_view``'s included) and ``_url``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from .. import services
from .forms import posted_version


class PublishableHistoryMixin:
    """History views of a ``PublishableAdmin``: diffs between versions, and revert."""

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
        expected = posted_version(request)
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
