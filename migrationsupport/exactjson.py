"""JSON whose numbers are the stored decimals, digit for digit.

Python's ``json`` writes a ``Decimal`` only through a float (DRF's encoder: ``float(value)``),
which holds 15 significant digits for certain: an amount column holds 16 (€99 999 999 999 999.99)
and a total more, so the last cent of such a figure would be another number in JSON than on the
page and in the CSV. Here a ``Decimal`` is written as its own digits (``60000000.00``, never an
exponent), a JSON number that clients reading numbers as decimals get exactly (and others as the
nearest double, as before); reading keeps every digit too (``parse_float=Decimal``). orjson
(Apache-2.0 or MIT) writes the rest, and a ``Decimal`` as an ``orjson.Fragment`` of its text;
every type it does not write itself (dates, times, lazy strings...) goes to DRF's encoder, so
those read as they always did (``tests/api/test_exact_numbers.py`` compares both renderers).
What orjson writes otherwise than DRF's renderer, none of which an API answer holds: a float NaN
or infinity as ``null`` (DRF refused them), an integer beyond 64 bits (refused), a plain ``Enum``
(by its value; DRF refused it), a dict subclass by its own storage (a ``QueryDict``'s lists).
docs/api.md, "Amounts".
"""

from __future__ import annotations

import decimal
import json
from typing import Any

import orjson
from rest_framework.utils.encoders import JSONEncoder as _DRFEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
_drf_default = _DRFEncoder().default


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():  # NaN and infinities are no JSON number
            raise ValueError(f"JSON can't represent {value}.")
        return orjson.Fragment(format(value, "f"))  # its digits, as DRF's coerce_to_string writes them
    return _drf_default(value)


def dumps(value: Any, *, sort_keys: bool = False, indent: bool = False) -> bytes:
    """``value`` as compact UTF-8 JSON (two-space indents with ``indent``), decimals exact."""
    options = _OPTIONS | (orjson.OPT_SORT_KEYS if sort_keys else 0) | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(value, default=_default, option=options)


def loads(text: str | bytes, *, keep_scale: bool = True) -> Any:
    """JSON text as Python values, its non-integer numbers as ``Decimal`` (every digit kept).
    ``NaN`` and ``Infinity``, which Python's ``json`` reads by default, are refused: no JSON.
    Without ``keep_scale`` a number's trailing fractional zeros are dropped (``1.100`` is 1.1):
    the value sent, not its number of decimals, which a field's own limit would refuse."""
    return json.loads(text, cls=DecimalJSONDecoder, parse_float=None if keep_scale else _value)


def _value(text: str) -> decimal.Decimal:
    if "." in text and not ("e" in text or "E" in text):
        text = text.rstrip("0").rstrip(".")
    return decimal.Decimal(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class DecimalJSONEncoder(json.JSONEncoder):
    """``dumps`` for ``JSONField(encoder=...)`` (Django calls ``encode``; its form field asks for
    sorted keys to compare two values)."""

    def encode(self, o: Any) -> str:
        return dumps(o, sort_keys=self.sort_keys).decode()


class DecimalJSONDecoder(json.JSONDecoder):
    """``loads`` for ``JSONField(decoder=...)``: decimals kept, NaN and infinities refused."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["parse_float"] = kwargs.get("parse_float") or decimal.Decimal
        kwargs.setdefault("parse_constant", _no_constant)
        super().__init__(**kwargs)
