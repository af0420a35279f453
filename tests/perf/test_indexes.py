"""Queries whose speed at 100 000 records rests on an index can use that index.

With sequential scans priced out (``enable_seqscan = off``) PostgreSQL picks an index whenever
one fits the query; the plan names it. The plan is read, never timed.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory

from funding.models import FundingRecord

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_admin_funding_search_uses_a_trigram_index_per_field():
    model_admin = admin.site._registry[FundingRecord]
    request = RequestFactory().get("/admin/funding/fundingrecord/", {"q": "border"})
    found, _ = model_admin.get_search_results(request, FundingRecord.objects.all(), "border")

    text = plan(found.order_by().values("pk"))

    for index in ("funding_title_trgm_idx", "funding_slug_trgm_idx", "funding_implementer_trgm_idx"):
        assert index in text, text
