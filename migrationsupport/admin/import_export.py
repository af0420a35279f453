"""``PublishableImportExportMixin``: CSV and XLSX import and export (django-import-export) for a
``PublishableAdmin``; exports follow the changelist's filters, imports are all or nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX


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
