"""migrationsupport.markup escapes as Django's escape and conditional_escape do."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import html as django_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from migrationsupport import markup


class Html:
    def __html__(self):
        return "<b>already markup</b>"

    def __str__(self):
        return "<b>as text</b>"


VALUES = [
    "",
    "plain",
    "Tom & \"Jerry\" <x> 'y'",
    "&amp; already an entity",
    mark_safe("<i>safe</i> & sound"),
    gettext_lazy("Lazy <text>"),
    3,
    Decimal("12.50"),
    None,
    Html(),
    "non-ASCII: é – €\u00a0",
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_same_text_as_django_s_escaping(value):
    assert markup.escape(value) == str(django_html.escape(value))
    assert markup.conditional_escape(value) == str(django_html.conditional_escape(value))
