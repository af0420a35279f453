"""PageFormRenderer writes <select> and <input> in Python: byte for byte Django's templates."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from migrationsupport.forms import SELECT, PageFormRenderer


class Odd:
    """A value whose ``"%s" %`` formatting fails: stringformat gives ""."""

    def __str__(self):
        raise TypeError("no text")


CHOICES = [("", "Any"), ("a&b", 'Tom & "Jerry" <x>'), ("1", gettext_lazy("Lazy")), (2, "Two")]

WIDGETS = [
    (forms.Select(choices=CHOICES), "a&b"),
    (forms.Select(choices=CHOICES, attrs={"aria-describedby": "id_x_helptext", "aria-invalid": "true"}), ""),
    (forms.Select(choices=CHOICES, attrs={"required": True, "disabled": False, "data-n": 3}), 2),
    (forms.Select(choices=[]), None),
    (forms.SelectMultiple(choices=CHOICES), ["a&b", "1"]),
    (forms.NullBooleanSelect(), True),
    (forms.NullBooleanSelect(attrs={"aria-describedby": "h"}), None),
    (forms.Select(choices=[("x", 5)]), "x"),  # a number as label: localised, left to the template
    (forms.Select(choices=[("Group", [("a", "A"), ("b", "B")]), ("c", "C")]), "b"),  # optgroups
    (forms.TextInput(attrs={"spellcheck": "false"}), 'a "quoted" <value> & more'),
    (forms.TextInput(), None),
    (forms.TextInput(), ""),
    (forms.TextInput(attrs={"autofocus": True, "hidden": False}), mark_safe("<b>safe</b>")),
    (forms.NumberInput(attrs={"inputmode": "numeric", "min": 1}), 2024),
    (forms.DateInput(), "2024-03-01"),
    (forms.EmailInput(attrs={"class": Odd()}), "a@b.example"),
    (forms.HiddenInput(), "h"),
    (forms.URLInput(), "https://example.org/?a=1&b=2"),
    (forms.PasswordInput(), "secret"),
    (forms.TimeInput(), "10:30"),
    (forms.DateTimeInput(), "2024-03-01 10:30"),
    (forms.CheckboxInput(), True),  # its own template: Django's as before
    (forms.TextInput(attrs={"data-pair": (1, 2), "data-one": ("a",)}), (3, 4)),  # tuples: str() first
]


@pytest.mark.parametrize(("widget", "value"), WIDGETS)
def test_same_markup_as_djangos_templates(widget, value):
    assert widget.render("field", value, attrs={"id": "id_field"}, renderer=PageFormRenderer()) == (
        widget.render("field", value, attrs={"id": "id_field"}, renderer=DjangoTemplates())
    )


def test_writes_select_and_input_itself(monkeypatch):
    """The templates are not rendered for a plain <select> or <input> (what makes it cheaper)."""
    rendered = []
    monkeypatch.setattr(DjangoTemplates, "render", lambda self, name, *args, **kwargs: rendered.append(name))
    renderer = PageFormRenderer()
    forms.Select(choices=CHOICES).render("s", "a&b", renderer=renderer)
    forms.TextInput().render("t", "v", renderer=renderer)
    forms.NumberInput().render("n", 1, renderer=renderer)
    forms.DateInput().render("d", "2024-01-01", renderer=renderer)
    forms.Select(choices=[("Group", [("a", "A")])]).render("g", "a", renderer=renderer)
    assert rendered == [SELECT]  # the optgroup only


def test_is_the_sites_form_renderer(settings):
    assert settings.FORM_RENDERER == "migrationsupport.forms.PageFormRenderer"
