"""``get_<field>_display()`` of every record type: Django's labels, from choices read once."""

from __future__ import annotations

from django.apps import apps
from django.db import models

from migrationsupport.models import PublishableModel


def test_every_label_is_djangos():
    checked = 0
    for model in apps.get_models():
        if not issubclass(model, PublishableModel):
            continue
        for field in model._meta.concrete_fields:
            if not field.choices:
                continue
            for value in [*(key for key, _label in field.flatchoices), "not-a-choice", None]:
                record = model(**{field.attname: value})
                display = getattr(record, f"get_{field.name}_display")
                assert display() == models.Model._get_FIELD_display(record, field), (model, field, value)
                assert display() == models.Model._get_FIELD_display(record, field)  # read from the dict
                checked += 1
    assert checked > 50  # status on every record type, kinds, measures, donors...
