"""JSON whose numbers are the stored decimals, digit for digit.

Python's ``json`` writes a ``Decimal`` only through a float (DRF's encoder: ``float(value)``),
which holds 15 significant digits for certain: an amount column holds 16 (€99 999 999 999 999.99)
and a total more, so the last cent of such a figure would be another number in JSON than on the
page and in the CSV. Here a ``Decimal`` is written as its own text (``60000000.00``), a JSON
number that clients reading numbers as decimals get exactly (and others as the nearest double,
as before); reading keeps every digit too (``parse_float=Decimal``). orjson (Apache-2.0 or MIT)
writes the rest, and a ``Decimal`` as an ``orjson.Fragment`` of its text; every other type it
does not write itself (dates, times, lazy strings...) goes to DRF's encoder, so those read as
they always did. docs/api.md, "Amounts".
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
        return orjson.Fragment(str(value))
    return _drf_default(value)


def dumps(value: Any, *, sort_keys: bool = False, indent: bool = False) -> bytes:
    """``value`` as compact UTF-8 JSON (two-space indents with ``indent``), decimals exact."""
    options = _OPTIONS | (orjson.OPT_SORT_KEYS if sort_keys else 0) | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(value, default=_default, option=options)


def loads(text: str | bytes) -> Any:
    """JSON text as Python values, its non-integer numbers as ``Decimal`` (every digit kept).
    ``NaN`` and ``Infinity``, which Python's ``json`` reads by default, are refused: no JSON."""
    return json.loads(text, parse_float=decimal.Decimal, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class DecimalJSONEncoder(json.JSONEncoder):
    """``dumps`` for ``JSONField(encoder=...)`` (Django calls ``encode``)."""

    def encode(self, o: Any) -> str:
        return dumps(o).decode()


class DecimalJSONDecoder(json.JSONDecoder):
    """``loads`` for ``JSONField(decoder=...)``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("parse_float", decimal.Decimal)
        super().__init__(**kwargs)
