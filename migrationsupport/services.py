"""Writes that are more than a ``save()``: publishing, reverting, saves that must not lose edits.

The admin, the API and the management commands all go through these functions, so the rules
live in one place:

- **Who may do what.** Editors (``add``/``change`` permissions) work on drafts; a published
  record, its status and its publishing schedule are a Publisher's (``<app>.publish_<model>``).
  ``can_change``/``can_publish``/``can_delete`` answer per record; the writes below check again.
- **No lost edits.** Every ``PublishableModel`` carries a ``version`` raised by each save. A write
  names the version it was based on; the row is locked (``select_for_update``) and compared, and a
  stale write raises ``StaleVersion`` carrying the current row and its last history entry, so the
  caller can say who changed it and when. Nothing is written in that case.
- **History says who and why.** Each write passes the acting user and a change reason to
  django-simple-history ("Published", "Unpublished", "Reverted to ...").
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .models import PublishableModel, Status

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser

    User = AbstractUser | AnonymousUser

REASON_PUBLISHED = "Published"
REASON_UNPUBLISHED = "Unpublished"
REASON_SCHEDULED = "Published (scheduled)"
SCHEDULE_CANCELLED = "scheduled publication cancelled"
REASON_SCHEDULE_CANCELLED = f"Changed by an Editor: {SCHEDULE_CANCELLED}"
#: Workflow fields: a revert restores a record's content, never its publication state.
WORKFLOW_FIELDS = frozenset({"status", "publish_at", "created_at", "updated_at", "version"})


def publishable_models() -> list[type[PublishableModel]]:
    """Every concrete record type officers publish, in a stable order (``INSTALLED_APPS``)."""
    return [model for model in apps.get_models() if issubclass(model, PublishableModel)]


# --- Permissions ---------------------------------------------------------------------------


def publish_permission(model: type[models.Model] | models.Model) -> str:
    """``<app>.publish_<model>``, the permission that publishes, unpublishes and schedules."""
    opts = model._meta
    return f"{opts.app_label}.publish_{opts.model_name}"


def _has(user: User | None, action: str, model: type[models.Model] | models.Model) -> bool:
    if user is None or not user.is_active:
        return False
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")


def can_publish(user: User | None, model: type[models.Model] | models.Model) -> bool:
    return user is not None and user.is_active and user.has_perm(publish_permission(model))


def can_change(user: User | None, instance: PublishableModel) -> bool:
    """Editors change drafts; only a Publisher changes what the public already sees."""
    if not _has(user, "change", instance):
        return False
    return not _stored_status_is_published(instance) or can_publish(user, instance)


def can_delete(user: User | None, instance: PublishableModel) -> bool:
    if not _has(user, "delete", instance):
        return False
    return not _stored_status_is_published(instance) or can_publish(user, instance)


def _stored_status_is_published(instance: PublishableModel) -> bool:
    """The status as stored, not as an unsaved form may have set it on the instance."""
    if instance.pk is None:
        return False
    stored = type(instance)._base_manager.filter(pk=instance.pk).values_list("status", flat=True).first()
    return stored == Status.PUBLISHED


# --- History -------------------------------------------------------------------------------


def last_change(instance: models.Model):
    """The newest history entry of a record (with its user), or None."""
    # django-simple-history adds the attribute to the options; the stubs do not know it.
    history = getattr(instance, instance._meta.simple_history_manager_attribute)  # type: ignore[attr-defined]
    return history.select_related("history_user").order_by("-history_date", "-history_id").first()


def describe_user(user, *, with_username: bool = True) -> str:
    """Who made a change. ``with_username=False`` for officers who do not manage accounts: a
    login name is half of what an attacker needs, so they see names only."""
    if user is None:
        return _("an automated task")
    fallback = user.get_username() if with_username else _("Officer %(id)s") % {"id": user.pk}
    return user.get_full_name() or fallback


def _stamp(instance: PublishableModel, user: User | None, reason: str | None) -> None:
    """Tell simple-history who acts and why for the next history entries of this instance."""
    if user is not None and user.is_authenticated:
        instance._history_user = user
    if reason:
        instance._change_reason = reason
    elif hasattr(instance, "_change_reason"):
        del instance._change_reason


# --- Optimistic concurrency ----------------------------------------------------------------


class StaleVersion(Exception):
    """A write was based on an older version of the record than the one stored.

    ``current`` is the stored row (locked while the transaction lasts), ``last_change`` its
    newest history entry: who saved it and when.
    """

    def __init__(self, *, current: PublishableModel, expected_version: int, last_change=None):
        self.current = current
        self.expected_version = expected_version
        self.last_change = last_change
        super().__init__(self.message)

    @property
    def changed_by(self) -> str:
        return describe_user(self.last_change.history_user if self.last_change else None)

    @property
    def changed_at(self) -> datetime.datetime | None:
        return self.last_change.history_date if self.last_change else self.current.updated_at

    @property
    def message(self) -> str:
        when = self.changed_at
        when_text = date_format(timezone.localtime(when), "j F Y, H:i") if when else _("recently")
        return _(
            "%(who)s saved this record on %(when)s while you were editing it (you started from "
            "version %(yours)s, it is now at version %(theirs)s). Nothing was saved."
        ) % {
            "who": self.changed_by,
            "when": when_text,
            "yours": self.expected_version,
            "theirs": self.current.version,
        }


def lock(instance: PublishableModel) -> PublishableModel:
    """The stored row of ``instance``, locked until the surrounding transaction ends."""
    return type(instance)._base_manager.select_for_update().get(pk=instance.pk)


def check_version(*, instance: PublishableModel, expected_version: int | None) -> PublishableModel:
    """Lock the stored row and refuse (``StaleVersion``) if it moved past ``expected_version``.

    Call it inside ``transaction.atomic()`` so the lock lasts until the write: the admin calls it
    while validating a form (the admin wraps validation and save in one transaction). Returns the
    locked row. ``expected_version=None`` means the caller gave none: no comparison is made.
    """
    with transaction.atomic():
        current = lock(instance)
        if expected_version is not None and current.version != int(expected_version):
            raise StaleVersion(
                current=current, expected_version=int(expected_version), last_change=last_change(current)
            )
    return current


def _check_workflow_fields(*, instance: PublishableModel, current: PublishableModel, user) -> None:
    if user is None:
        return
    if current.status == Status.PUBLISHED and not can_publish(user, instance):
        raise PermissionDenied(_("This record is published: only a Publisher can change it."))
    if instance.status != current.status and not can_publish(user, instance):
        raise PermissionDenied(_("Only a Publisher can publish or unpublish a record."))
    if instance.publish_at != current.publish_at and not can_publish(user, instance):
        raise PermissionDenied(_("Only a Publisher can schedule publication."))


def _back_to_review(
    instance: PublishableModel, *, scheduled, user: User | None, reason: str | None
) -> str | None:
    """Cancel the schedule of a record changed by someone who may not publish; returns the reason.

    What ``publish_due`` publishes must be what a Publisher saw, so every write by an Editor
    (form, inline row, revert, import, API) passes here: a scheduled draft they change waits for
    a Publisher again. ``scheduled`` is the stored ``publish_at``, not the instance's.
    """
    if user is None or scheduled is None or can_publish(user, instance):
        return reason
    instance.publish_at = None
    return f"{reason}; {SCHEDULE_CANCELLED}" if reason else REASON_SCHEDULE_CANCELLED


def save_with_version_check(
    *,
    instance: PublishableModel,
    expected_version: int | None,
    user: User | None = None,
    reason: str | None = None,
) -> PublishableModel:
    """Save an existing record unless someone saved it after ``expected_version``.

    Raises ``StaleVersion`` (nothing written) when the stored version differs, and
    ``PermissionDenied`` when ``user`` may not make this change (an Editor changing a published
    record, or its status or schedule). ``user=None`` is a system write: no permission check.
    An Editor's change to a draft a Publisher scheduled cancels the schedule: what is published
    automatically is what a Publisher saw. Many-to-many changes are the caller's, inside the same
    transaction (``form.save_m2m()``).
    """
    with transaction.atomic():
        current = check_version(instance=instance, expected_version=expected_version)
        _check_workflow_fields(instance=instance, current=current, user=user)
        reason = _back_to_review(instance, scheduled=current.publish_at, user=user, reason=reason)
        instance.version = current.version
        _stamp(instance, user, reason)
        instance.save()
    return instance


def create_record(*, instance: PublishableModel, user: User | None = None, reason: str | None = None):
    """Save a new record. Only a Publisher's new record may start published or scheduled."""
    if user is not None and not can_publish(user, instance):
        instance.status = Status.DRAFT
        instance.publish_at = None
    _stamp(instance, user, reason)
    instance.save()
    return instance


# --- Publishing ----------------------------------------------------------------------------


def _set_status(*, instance, status, user, expected_version, reason) -> bool:
    if user is not None and not can_publish(user, instance):
        raise PermissionDenied(_("Only a Publisher can publish or unpublish a record."))
    with transaction.atomic():
        current = check_version(instance=instance, expected_version=expected_version)
        changed = current.status != status or current.publish_at is not None
        if changed:
            # The stored row is published, not unsaved edits an instance may carry.
            current.status = status
            current.publish_at = None  # a schedule is used up; unpublishing cancels it
            _stamp(current, user, reason)
            current.save()
    for name in ("status", "publish_at", "version", "updated_at"):
        setattr(instance, name, getattr(current, name))
    return changed


def publish(*, instance: PublishableModel, user: User | None, expected_version: int | None = None) -> bool:
    """Publish one record (as stored). Returns False when it was already published."""
    return _set_status(
        instance=instance,
        status=Status.PUBLISHED,
        user=user,
        expected_version=expected_version,
        reason=REASON_PUBLISHED,
    )


def unpublish(*, instance: PublishableModel, user: User | None, expected_version: int | None = None) -> bool:
    """Turn a published record back into a draft. Returns False when it was a draft already."""
    return _set_status(
        instance=instance,
        status=Status.DRAFT,
        user=user,
        expected_version=expected_version,
        reason=REASON_UNPUBLISHED,
    )


def set_status_of(*, queryset: models.QuerySet, status: str, user: User | None) -> int:
    """Publish (or unpublish) every record of ``queryset`` in one transaction; returns how many
    changed. Rows are locked in primary-key order so two bulk actions cannot deadlock."""
    model = queryset.model
    if user is not None and not can_publish(user, model):
        raise PermissionDenied(_("Only a Publisher can publish or unpublish a record."))
    reason = REASON_PUBLISHED if status == Status.PUBLISHED else REASON_UNPUBLISHED
    pks = list(queryset.order_by().values_list("pk", flat=True))
    changed = 0
    with transaction.atomic():
        for record in model._base_manager.select_for_update().filter(pk__in=pks).order_by("pk"):
            if record.status == status and record.publish_at is None:
                continue
            record.status = status
            record.publish_at = None
            _stamp(record, user, reason)
            record.save()
            changed += 1
    return changed


def publish_due(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Publish every draft whose ``publish_at`` has come; returns the count per model label.

    Safe to run from cron as often as wanted, in several processes at once: each model is done
    in its own transaction, rows another run holds are skipped (``skip_locked``) rather than
    waited for, and a published record's schedule is cleared, so nothing is published twice.
    """
    now = now or timezone.now()
    published: dict[str, int] = {}
    for model in publishable_models():
        with transaction.atomic():
            due = model.objects.due_for_publication(now).select_for_update(skip_locked=True).order_by("pk")
            count = 0
            for record in due:
                record.status = Status.PUBLISHED
                record.publish_at = None
                _stamp(record, None, REASON_SCHEDULED)
                record.save()
                count += 1
        if count:
            published[model._meta.label] = count
    return published


# --- Revert --------------------------------------------------------------------------------


def _m2m_ids(record, field: models.ManyToManyField) -> list[Any]:
    """The related ids a historical record stored for a many-to-many field."""
    through_rows = getattr(record, field.name)
    return list(through_rows.values_list(f"{field.m2m_reverse_field_name()}_id", flat=True))


def revert(
    *,
    instance: PublishableModel,
    record,
    user: User | None,
    expected_version: int | None = None,
) -> PublishableModel:
    """Restore the content of ``instance`` as it was in the history entry ``record``.

    The revert is a new save (a new version and history entry, with all restored many-to-many
    relations in that one entry), so it can itself be reverted. It restores content only: the
    status and publishing schedule stay as they are, so a revert never publishes or unpublishes
    (an Editor may revert a draft; a published record needs a Publisher, like any change). The
    restored record is validated like any edit (``full_clean``) and ``ValidationError`` is
    raised if it no longer fits, e.g. its slug has since been taken. An Editor's revert of a
    scheduled draft cancels the schedule, like any change of theirs: the restored text was not
    the one a Publisher scheduled.
    """
    model = type(instance)
    if record.instance_type is not model or getattr(record, model._meta.pk.attname) != instance.pk:
        raise ValueError("The history entry belongs to another record.")
    if user is not None and not _has(user, "change", instance):
        raise PermissionDenied(_("You may not change this record."))
    history_field_names = {f.name for f in record._meta.fields}
    m2m_fields = list(record._history_m2m_fields)
    when = date_format(timezone.localtime(record.history_date), "j F Y, H:i")
    with transaction.atomic():
        current = check_version(instance=instance, expected_version=expected_version)
        if user is not None and not can_change(user, current):
            raise PermissionDenied(_("This record is published: only a Publisher can change it."))
        for field in model._meta.concrete_fields:
            if field.primary_key or field.name in WORKFLOW_FIELDS or field.name not in history_field_names:
                continue
            setattr(current, field.attname, getattr(record, field.attname))
        current.full_clean()
        related_ids = {}
        for field in m2m_fields:
            wanted = _m2m_ids(record, field)
            # A related record deleted since then cannot come back; the rest is restored.
            related_ids[field.name] = list(
                field.related_model._base_manager.filter(pk__in=wanted).values_list("pk", flat=True)
            )
        # Relations first without history, then one save records the whole reverted state.
        current.skip_history_when_saving = True
        try:
            for name, ids in related_ids.items():
                getattr(current, name).set(ids)
        finally:
            del current.skip_history_when_saving
        reason = _("Reverted to the version of %(when)s") % {"when": when}
        _stamp(
            current, user, _back_to_review(current, scheduled=current.publish_at, user=user, reason=reason)
        )
        current.save()
    return current


def validation_messages(error: ValidationError) -> list[str]:
    """Plain messages of a ValidationError, field names in front of field errors."""
    if hasattr(error, "error_dict"):
        return [
            f"{name}: {message}" if name != "__all__" else message
            for name, messages in error.message_dict.items()
            for message in messages
        ]
    return list(error.messages)


def users_named(ids: Iterable[int], *, with_usernames: bool = True) -> dict[int, str]:
    """Display names of users by id, in one query."""
    from django.contrib.auth import get_user_model

    return {
        user.pk: describe_user(user, with_username=with_usernames)
        for user in get_user_model()._default_manager.filter(pk__in=set(ids))
    }
