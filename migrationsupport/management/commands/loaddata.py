"""``loaddata`` that keeps history idempotent.

django-simple-history skips raw saves but records every many-to-many change, so each load of
the seed would add history rows. Loading fixtures is not an officer's edit: history is off
during the load, then every loaded record that has no history yet gets one baseline entry
(with its many-to-many relations), recorded by the same post_save handler a save would run.
Running it twice therefore changes nothing, history included. simple-history's own
``populate_history --auto`` adds the baselines but cannot stop the many-to-many rows the load
itself records, hence this override of Django's command.
"""

from __future__ import annotations

from django.core.management.commands.loaddata import Command as LoadDataCommand
from django.db.models.signals import post_save
from django.test.utils import override_settings


class Command(LoadDataCommand):
    def loaddata(self, fixture_labels):
        with override_settings(SIMPLE_HISTORY_ENABLED=False):
            super().loaddata(fixture_labels)
        for model in self.models:
            if hasattr(model._meta, "simple_history_manager_attribute"):
                self._add_baseline_history(model)

    def _add_baseline_history(self, model) -> None:
        recorded = model.history.model.objects.using(self.using).values("id")
        for obj in model._default_manager.using(self.using).exclude(pk__in=recorded):
            obj._change_reason = "Loaded from fixtures"
            post_save.send(sender=model, instance=obj, created=True, raw=False, using=self.using)
