"""History entries written by data migrations, where simple_history's signals do not run.

Data migrations that correct records (issue 13: measures, statuses the sources do not state) keep
the change visible and revertible in the admin history like an officer's edit: one entry per
changed record, with its many-to-many fields as they now are, and the reason.
"""

from __future__ import annotations

from django.utils import timezone


def remember(apps, record, *, reason: str, m2m_fields: tuple[str, ...] = ()) -> None:
    """Add a history entry ("~", changed) for ``record`` as it now is, by the historical models
    of the migration state ``apps``."""
    opts = record._meta
    historical = apps.get_model(opts.app_label, f"Historical{opts.object_name}")
    values = {
        field.attname: getattr(record, field.attname)
        for field in historical._meta.fields
        if not field.attname.startswith("history_") and hasattr(record, field.attname)
    }
    entry = historical.objects.create(
        **values,
        history_date=timezone.now(),
        history_type="~",
        history_change_reason=reason,
        history_user_id=None,
    )
    for name in m2m_fields:
        manager = getattr(record, name)
        m2m_history = apps.get_model(opts.app_label, f"Historical{opts.object_name}_{name}")
        rows = manager.through.objects.filter(**{f"{manager.source_field_name}_id": record.pk})
        m2m_history.objects.bulk_create(
            m2m_history(
                history=entry, **{f.attname: getattr(row, f.attname) for f in manager.through._meta.fields}
            )
            for row in rows
        )
