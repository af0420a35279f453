"""The form renderer: Django's, with its most repeated widget templates written out in Python.

A filter form of the explorer renders 15 fields; Django's ``select.html`` includes
``select_option.html`` and ``attrs.html`` for each ``<option>``, and each of those includes
costs more than the option it writes (the explorer's and the timeline's forms took 10 to 13 ms
of CPU a page, at any data size). ``PageFormRenderer`` writes ``<select>``, its options and
``<input>`` in Python instead, byte for byte what those templates give (tested in
tests/migrationsupport/test_forms.py against Django's own templates); any other template, or a widget that
changed its option template, is rendered by Django as before.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.safestring import SafeData, mark_safe

from .markup import conditional_escape

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"
#: The input widgets whose template is ``input.html`` alone (each includes it).
INPUT_KINDS = ("text", "number", "email", "url", "password", "hidden", "date", "datetime", "time", "search")
INPUTS = {f"django/forms/widgets/{kind}.html" for kind in (*INPUT_KINDS, "tel", "color")}


def _stringformat(value) -> str:
    """``{{ value|stringformat:'s' }}``: ``"%s" % value`` ("" when that fails), safe if the value was."""
    if isinstance(value, tuple):
        value = str(value)  # as the filter does: "%s" % (1, 2) would take the tuple as arguments
    try:
        text = "%s" % value  # noqa: UP031 - the filter's own formatting
    except (ValueError, TypeError):
        return ""
    return mark_safe(text) if isinstance(value, SafeData) else text  # noqa: S308 - was safe already


def _attrs(attrs: dict) -> str | None:
    """``attrs.html``: `` name="value"`` for each attribute, `` name`` for True, nothing for
    False. None for an attribute name that is not a plain string (left to the template)."""
    parts = []
    for name, value in attrs.items():
        if not isinstance(name, str):
            return None
        if value is False:
            continue
        parts.append(f" {conditional_escape(name)}")
        if value is not True:
            parts.append(f'="{conditional_escape(_stringformat(value))}"')
    return "".join(parts)


def _text(value) -> str | None:
    """``{{ value }}`` for a string (a lazy one too); None for anything a template would
    localise first (a number, a date), left to the template."""
    if isinstance(value, str | Promise):
        return conditional_escape(str(value))  # a lazy string's text, escaped as the template does
    return None


def _select(widget: dict) -> str | None:
    """``select.html`` with its options, or None where the template must do it."""
    name = _text(widget["name"])
    attrs = _attrs(widget["attrs"])
    if name is None or attrs is None:
        return None
    parts = [f'<select name="{name}"{attrs}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:  # optgroups: never on these pages, left to the template
            return None
        for option in group_choices:
            if option["template_name"] != OPTION:
                return None
            label = _text(option["label"])
            option_attrs = _attrs(option["attrs"])
            if label is None or option_attrs is None:
                return None
            value = conditional_escape(_stringformat(option["value"]))
            # The include keeps the option template's final line break.
            parts.append(f'\n  <option value="{value}"{option_attrs}>{label}</option>\n')
    parts.append("\n</select>")
    return "".join(parts)


def _input(widget: dict) -> str | None:
    """``input.html``, or None where the template must do it."""
    input_type = _text(widget["type"])
    name = _text(widget["name"])
    attrs = _attrs(widget["attrs"])
    if input_type is None or name is None or attrs is None:
        return None
    value = widget["value"]
    shown = "" if value == None else f' value="{conditional_escape(_stringformat(value))}"'  # noqa: E711 - the template's !=
    return f'<input type="{input_type}" name="{name}"{shown}{attrs}>'


class PageFormRenderer(DjangoTemplates):
    """``FORM_RENDERER``: Django's templates, except ``<select>`` and ``<input>`` written here."""

    def render(self, template_name, context, request=None):
        written = None
        if template_name == SELECT:
            written = _select(context["widget"])
        elif template_name in INPUTS:
            written = _input(context["widget"])
        if written is not None:
            return written.strip()  # as BaseRenderer.render strips the template's output
        return super().render(template_name, context, request=request)
