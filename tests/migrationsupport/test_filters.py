"""Filter pieces shared by the apps' FilterSets."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.filters import AgreementFilter, DocumentFilter
from agreements.models import Agreement, Document
from funding.filters import FundingFilter
from funding.models import FundingRecord
from regions.filters import PopulationFigureFilter, RouteFilter
from regions.models import PopulationFigure, Route
from tests.factories import (
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
)

pytestmark = pytest.mark.django_db


def test_country_filters_take_the_iso_code_in_either_case():
    """The site's own addresses use lower case (/countries/tr/): ?country=tr finds Türkiye too."""
    turkiye, other = CountryFactory(iso_code="TR"), CountryFactory(iso_code="MA")
    for country in (turkiye, other):
        FundingRecordFactory(countries=[country])
        AgreementFactory(parties=[country])
        DocumentFactory().countries.add(country)
        RouteFactory().countries.add(country)
    PopulationFigureFactory(country=turkiye).origins.add(other)
    PopulationFigureFactory(country=other)
    cases = [
        (FundingFilter, FundingRecord, "country"),
        (AgreementFilter, Agreement, "country"),
        (DocumentFilter, Document, "country"),
        (RouteFilter, Route, "country"),
        (PopulationFigureFilter, PopulationFigure, "country"),
        (PopulationFigureFilter, PopulationFigure, "origin"),
    ]
    for filterset_class, model, name in cases:
        expected = None
        for code in ("TR", "tr", "Tr") if name == "country" else ("MA", "ma"):
            filterset = filterset_class({name: code}, queryset=model.objects.published())
            assert filterset.is_valid(), (filterset_class, code, filterset.errors)
            found = set(filterset.qs.values_list("pk", flat=True))
            assert len(found) == 1, (filterset_class, code)
            expected = expected or found
            assert found == expected, (filterset_class, code)
        # The form's <select> shows the country chosen in lower case as selected.
        html = str(filterset_class({name: "tr"}, queryset=model.objects.published()).form[name])
        assert '<option value="TR" selected>' in html, filterset_class
    assert not FundingFilter({"country": "zz"}, queryset=FundingRecord.objects.published()).is_valid()


@pytest.mark.parametrize(
    "path", ["/funding/", "/agreements/", "/documents/", "/conferences/", "/instruments/"]
)
def test_a_list_s_filter_choices_are_read_in_one_query_each_not_through_a_server_side_cursor(client, path):
    """Django reads a model choice field's choices with ``QuerySet.iterator()``: on PostgreSQL a
    server-side cursor, three round trips per list of choices (``FilteredListView`` reads them in
    one query). The choices are still every published region, with "Any" first."""
    RegionFactory(name="Published region", slug="published-region")
    RegionFactory(name="Draft region", slug="draft-region", status="draft")
    with CaptureQueriesContext(connection) as queries:
        page = client.get(path).content.decode()
    assert not [query["sql"] for query in queries if "DECLARE" in query["sql"]]
    region_select = page[page.index('<select name="region"') :]
    region_select = region_select[: region_select.index("</select>")]
    assert '<option value="" selected>Any</option>' in region_select
    assert '<option value="published-region">Published region</option>' in region_select
    assert "draft-region" not in region_select
