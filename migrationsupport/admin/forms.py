"""The forms of publishable records: each carries the version it was loaded at
(``expected_version``), refuses an Editor's change to a published record, and when stale lists
the other officer's values beside yours (``conflict_rows``). ``posted_version`` reads that version
from the POST of the publish, unpublish and revert buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from ..models import Message

from .. import services
from ..models import Status
from .columns import names


def _display(model_field, value) -> Message:
    if value is None or value == "":
        return "—"
    if model_field.many_to_many:
        return names(value) or "—"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def conflict_rows(form: forms.ModelForm, current: models.Model) -> list[tuple[str, Message, Message]]:
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


def posted_version(request) -> int | None:
    """The ``expected_version`` a button's POST carries, or None if it carries none."""
    try:
        return int(request.POST["expected_version"])
    except (KeyError, ValueError):
        return None


class PublishableAdminForm(forms.ModelForm):
    """A record's form, carrying the version it was loaded at.

    ``clean()`` locks the stored row and compares versions (the admin validates and saves in one
    transaction, so the lock lasts until the save). A stale form is invalid: ``conflict`` then
    lists their values beside yours. The admin sets ``user_can_publish`` per request.
    """

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    public_change_note = forms.CharField(
        label=_("Public change note"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Optional. Shown to the public with this change on the record's page, the “What "
            "changed” page and the feeds, e.g. “Corrected the amount to match the source”. "
            "Write nothing internal: the history's own reasons are never shown."
        ),
    )

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
    public_change_note = None  # type: ignore[assignment]  # one note per save, on the main form
    always_check_version = False
