"""Admin for officers: the shared base of every publishable record, sources, themes, page text.

``PublishableAdmin`` (``publishing``) is the one place that knows the officers' workflow, so the
per-model admins only say what is particular to their model:

- Editors work on drafts; a published record is read-only for them. The status is never a form
  field: Publishers publish and unpublish with the actions (changelist) or the buttons on the
  change form; the schedule (``publish_at``) is theirs too.
- Each change form carries the version it was loaded at; a stale save is refused, naming who
  saved in between and showing their values beside yours (``forms``, ``migrationsupport.services``).
- The history page shows what changed between versions and reverts to any of them (``history``).
- Drafts can be previewed on their public page layout.

The other modules: ``filters`` (changelist filters), ``columns`` (column values), ``inlines``,
``import_export`` (CSV/XLSX), ``site_records`` (sources, themes, page sections) and ``accounts``
(users and groups, superusers only). Django's autodiscovery imports this package; importing
``site_records`` and ``accounts`` here registers their admins. The apps import their bases from
here (``from migrationsupport.admin import PublishableAdmin, ...``).
"""

from . import (
    site_records,  # registers the site-wide records
    webhooks,  # registers the webhook subscriptions and their delivery log
)

# isort: split
from . import accounts  # then replaces the User and Group admins, keeping the registry's order
from .columns import names
from .filters import ManyToManyListFilter, TopLevelListFilter
from .forms import PublishableAdminForm, PublishableInlineForm
from .import_export import PublishableImportExportMixin
from .inlines import PublishableInline
from .publishing import PublishableAdmin

__all__ = [
    "ManyToManyListFilter",
    "PublishableAdmin",
    "PublishableAdminForm",
    "PublishableImportExportMixin",
    "PublishableInline",
    "PublishableInlineForm",
    "TopLevelListFilter",
    "accounts",
    "names",
    "site_records",
    "webhooks",
]
