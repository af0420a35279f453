"""``{% dataset_json_ld %}``: the schema.org ``Dataset`` markup of the site's open data, for the
pages that present the dataset (the overview, /data/). No query: the description is constant."""

from __future__ import annotations

import json

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..catalogue import schema_org_dataset

register = template.Library()

# What must not appear raw inside a <script> element (as django.utils.html.json_script escapes).
_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@register.simple_tag(takes_context=True)
def dataset_json_ld(context) -> SafeString:
    request = context["request"]
    data = json.dumps(schema_org_dataset(absolute_url=request.build_absolute_uri), ensure_ascii=False)
    return mark_safe(f'<script type="application/ld+json">{data.translate(_ESCAPES)}</script>')  # noqa: S308
