"""The base of every import/export resource (django-import-export) of a publishable record.

Rows are matched on a stable identifier (a slug or an ISO code), related records are named by
theirs, and every row is validated like an officer's edit (``full_clean``), with a plain reason
per rejected row. What a row may do depends on who imports it, as in the admin:

- an Editor's new rows are drafts, whatever the file says; a Publisher's keep the file's status;
- an Editor cannot change a published record, nor any record's status (unchanged rows are fine);
- a file that names the ``version`` it was exported at cannot overwrite a later edit: the row is
  rejected, naming who changed the record since.

The admin runs the import in one transaction and rolls it all back if any row is rejected.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from . import services
from .models import Status
from .spreadsheets import LIST_SEPARATOR, safe_cell, unescape_cell

IMPORT_REASON = "Imported from a file"
OLD_LIST_SEPARATOR = "|"


class SlugForeignKeyWidget(widgets.ForeignKeyWidget):
    """A related record named by a unique field; an unknown name is a plain row error."""

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(
                _("There is no %(model)s with %(field)s “%(value)s”.")
                % {"model": self.model._meta.verbose_name, "field": self.field, "value": value}
            ) from None


class SlugManyToManyWidget(widgets.ManyToManyWidget):
    """Related records named by a unique field, separated by ``LIST_SEPARATOR`` as in every CSV of
    the site ("|", written by exports before, is read too); unknown names are refused."""

    def __init__(self, model, field="slug", upper=False, **kwargs):
        self.upper = upper
        super().__init__(model, separator=LIST_SEPARATOR, field=field, **kwargs)

    def clean(self, value, row=None, **kwargs):
        if not value:
            return self.model.objects.none()
        items = str(value).replace(OLD_LIST_SEPARATOR, LIST_SEPARATOR).split(LIST_SEPARATOR)
        wanted = [item.strip() for item in items if item.strip()]
        if self.upper:
            wanted = [item.upper() for item in wanted]
        found = self.model.objects.filter(**{f"{self.field}__in": wanted})
        unknown = sorted(set(wanted) - {str(getattr(obj, self.field)) for obj in found})
        if unknown:
            raise ValueError(
                _("Unknown %(model)s: %(names)s.")
                % {"model": self.model._meta.verbose_name_plural, "names": ", ".join(unknown)}
            )
        return found


def related(attribute: str, model, field: str = "slug") -> fields.Field:
    return fields.Field(attribute=attribute, column_name=attribute, widget=SlugForeignKeyWidget(model, field))


def related_many(attribute: str, model, field: str = "slug", **kwargs) -> fields.Field:
    return fields.Field(
        attribute=attribute, column_name=attribute, widget=SlugManyToManyWidget(model, field=field, **kwargs)
    )


class PublishableResource(resources.ModelResource):
    version = fields.Field(attribute="version", column_name="version", readonly=True)

    class Meta:
        use_transactions = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def before_import(self, dataset, **kwargs):
        self.importer = kwargs.get("user")
        super().before_import(dataset, **kwargs)

    def export_field(self, field, instance, **kwargs):
        # Officers open these files in Excel: a title starting "=" must stay a title.
        return safe_cell(super().export_field(field, instance, **kwargs))

    def before_import_row(self, row, **kwargs):
        for name, value in row.items():
            row[name] = unescape_cell(value)
        super().before_import_row(row, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        instance._stored_status = instance.status if instance.pk else None
        instance._expected_version = row.get("version")
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        # Many-to-many values are only set after the save; check them now so a bad name is a
        # reason beside the row, not an error halfway through the file.
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget) and field.column_name in row:
                try:
                    field.clean(row)
                except ValueError as error:
                    errors[field.attribute] = [str(error)]
        if instance.pk is None and not services.can_publish(self.importer, instance):
            instance.status = Status.DRAFT
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """Reached only by rows that change something (unchanged rows are skipped before)."""
        errors = dict(import_validation_errors or {})
        stored_status = getattr(instance, "_stored_status", None)
        if stored_status is not None and not services.can_publish(self.importer, instance):
            if stored_status == Status.PUBLISHED:
                errors[NON_FIELD_ERRORS] = [
                    _("“%(record)s” is published: only a Publisher can change it.") % {"record": instance}
                ]
            elif instance.status != stored_status:
                errors["status"] = [_("Only a Publisher can publish or unpublish a record.")]
        stale = self._stale_version(instance)
        if stale:
            errors["version"] = [stale]
        super().validate_instance(instance, errors, validate_unique)

    def _stale_version(self, instance) -> str | None:
        expected = getattr(instance, "_expected_version", None)
        if instance.pk is None or expected in (None, ""):
            return None
        try:
            expected = int(expected)
        except (TypeError, ValueError):
            return _("The version must be a whole number, as exported.")
        if expected == instance.version:
            return None
        change = services.last_change(instance)
        who = services.describe_user(change.history_user if change else None)
        when = date_format(timezone.localtime(change.history_date), "j F Y, H:i") if change else "?"
        return _(
            "%(who)s changed this record on %(when)s, after this file was exported (version "
            "%(yours)s, now %(theirs)s). Export again and re-apply your changes."
        ) % {"who": who, "when": when, "yours": expected, "theirs": instance.version}

    def do_instance_save(self, instance, is_create):
        """Through the services, like every other write: who and why go into the history, and an
        Editor's change to a scheduled draft cancels the schedule (what is published on schedule
        is what a Publisher saw)."""
        if is_create:
            services.create_record(instance=instance, user=self.importer, reason=IMPORT_REASON)
        else:
            # The version was checked in validate_instance; again here, under the row lock, so an
            # edit saved in between is not overwritten.
            expected = getattr(instance, "_expected_version", None)
            services.save_with_version_check(
                instance=instance, expected_version=expected or None, user=self.importer, reason=IMPORT_REASON
            )
