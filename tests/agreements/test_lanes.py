"""Agreements on a time axis: the lane chart and its table on the timeline and country pages."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse

from agreements.selectors import agreement_lanes, agreements_with_timeline
from migrationsupport.charts import LANE_WIDTH
from tests.factories import AgreementEventFactory, AgreementFactory, CountryFactory, RegionFactory
from tests.pages import assert_accessible_structure, assert_constant_queries, text_of

pytestmark = pytest.mark.django_db

D = datetime.date


def event(agreement, kind, date, precision="day", **kwargs):
    return AgreementEventFactory(
        agreement=agreement, kind=kind, date=date, date_precision=precision, **kwargs
    )


@pytest.fixture
def macedonia():
    country = CountryFactory(name="North Macedonia", iso_code="MK", region=RegionFactory())
    agreement = AgreementFactory(title="Frontex status agreement with North Macedonia", parties=[country])
    event(agreement, "signed", D(2022, 10, 1), "month")
    event(
        agreement,
        "operations_launched",
        D(2023, 4, 1),
        "month",
        transition_note="No date of entry into force.",
    )
    AgreementFactory(title="Concluded one", stated_status="concluded", parties=[country])
    AgreementFactory(title="Unknown one", stated_status="", parties=[country])
    return country


def test_lanes_start_at_the_first_step_and_hatch_a_month_only_start():
    agreement = AgreementFactory(title="A")
    event(agreement, "signed", D(2022, 10, 1), "month")
    event(agreement, "entered_into_force", D(2023, 4, 18), "day")
    lanes = agreement_lanes(agreements_with_timeline(), today=D(2025, 1, 1))
    chart = lanes.chart
    assert chart is not None and [t[1] for t in chart.ticks] == ["2022", "2023", "2024", "2025"]
    signed, in_force = chart.lanes[0].spans
    # Nothing is drawn before the first recorded step (January to September 2022).
    assert signed.x == pytest.approx(
        (D(2022, 10, 1) - D(2022, 1, 1)).days / (D(2025, 1, 1) - D(2022, 1, 1)).days * LANE_WIDTH, abs=0.1
    )
    # "October 2022": some day in October, so the whole month is hatched; a known day is not.
    assert signed.uncertain_width == pytest.approx(31 / 1096 * LANE_WIDTH, abs=0.2)
    assert in_force.uncertain_width == 0
    assert signed.x + signed.width == pytest.approx(in_force.x, abs=0.2)
    assert in_force.x + in_force.width == LANE_WIDTH  # to date
    assert (signed.style, in_force.style) == ("agreed", "applied")


def test_no_chart_when_no_agreement_has_a_dated_step():
    AgreementFactory(stated_status="concluded")
    assert agreement_lanes(agreements_with_timeline()).chart is None


def test_the_timeline_draws_an_accessible_chart_with_its_table(client, macedonia):
    response = client.get(reverse("agreements:agreement-timeline"))
    assert response.status_code == 200
    body = response.content.decode()
    svg = re.search(r"<svg class=\"lane-chart\"[^>]*>", body).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="status-lanes-title status-lanes-desc"' in svg
    assert '<title id="status-lanes-title">Statuses over time</title>' in body
    assert 'class="lane-uncertain"' in body  # the month-only start
    assert 'fill="url(#status-lanes-agreed)"' in body  # a pattern besides the colour
    assert ">Signed</text>" in body  # and the status written in the lane
    assert "Concluded, as the source states, with no date" in body  # undated: no bar
    text = text_of(response)
    assert (
        "Frontex status agreement with North Macedonia Not stated before October 2022; then Signed from "
        "October 2022 until April 2023 Operations launched from April 2023 to date "
        "(skips a step: No date of entry into force.)"
    ) in text
    assert "Unknown one Status not stated" in text
    assert_accessible_structure(response)


def test_the_timeline_chart_follows_the_filters(client, macedonia):
    other = AgreementFactory(title="Other agreement")
    event(other, "entered_into_force", D(2015, 5, 1))
    response = client.get(reverse("agreements:agreement-timeline"), {"country": "MK"})
    body = response.content.decode()
    assert "Frontex status agreement with North Macedonia</text>" in body
    assert "Other agreement" not in body


def test_a_country_page_shows_its_agreements_lanes(client, macedonia):
    response = client.get(f"/countries/{macedonia.iso_code}/")
    body = response.content.decode()
    assert 'aria-labelledby="country-lanes-title country-lanes-desc"' in body
    assert "Frontex status agreement with North Macedonia</text>" in body
    assert "Their statuses over time: the statuses as a table" in text_of(response)
    assert_accessible_structure(response)


def test_the_lanes_cost_no_query_per_agreement(client):
    country = CountryFactory(iso_code="MK", region=RegionFactory())

    def make(n):
        for _ in range(n):
            agreement = AgreementFactory(parties=[country])
            event(agreement, "signed", D(2020, 3, 1), "month")
            event(agreement, "entered_into_force", D(2021, 1, 1), "year")

    assert_constant_queries(client, "/agreements/timeline/", make)
    assert_constant_queries(client, "/countries/MK/", make)
