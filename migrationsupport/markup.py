"""Escaping for the markup written in Python (the row writers, the form renderer, the charts).

Django's ``escape`` and ``conditional_escape`` give the same characters (``html.escape``: & < > " '),
but each call also checks its argument for a lazy string (``keep_lazy``) and makes a
``SafeString`` of the result, which cost as much as the escaping itself: a region's page escapes
some 1 700 values, the explorer some 3 000. ``escape`` gives a plain ``str`` (and
``conditional_escape`` safe markup as it is): the writer marks the whole markup safe once
(``mark_safe``), as it did with Django's.
"""

from __future__ import annotations

import html


def escape(value) -> str:
    """``django.utils.html.escape(value)`` as a plain ``str``."""
    return html.escape(str(value))


def conditional_escape(value) -> str:
    """``django.utils.html.conditional_escape(value)``: markup already safe (``__html__``) as it
    is, anything else escaped."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
