"""Agreements on a time axis: the lane chart and its table on the timeline and country pages."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.template import engines
from django.urls import reverse
from django.utils import translation

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


REMOVED = Path(__file__).resolve().parent.parent / "removed_templates"
#: The two loops of includes/lane_chart.html before 6 December 2026 (fifth session), written
#: with localize off as the chart's template writes them.
LANE_CHART_MARKS = (
    "{% load l10n %}{% localize off %}"
    + (REMOVED / "lane_chart_marks.html").read_text().removesuffix("\n")
    + "{% endlocalize %}"
)
#: The rows' loop of includes/agreement_lanes.html before 6 December 2026 (fifth session).
LANE_ROWS = (REMOVED / "agreement_lanes_rows.html").read_text().removesuffix("\n")


def _tie_and_escapes():
    """Lanes with what every branch of the chart and its table writes: a month-only start,
    a step the lifecycle does not expect (its note), two steps on one day (a tie), markup in a
    title and a note, an undated stated status and none."""
    agreement = AgreementFactory(title='The "A & B" <arrangement>')
    event(agreement, "signed", D(2019, 5, 1), "month")
    event(agreement, "entered_into_force", D(2019, 5, 1), "month")
    event(agreement, "suspended", D(2021, 2, 3), transition_note="Suspended <at once> & without notice")
    event(agreement, "terminated", D(2024, 7, 9))
    short = AgreementFactory(title="Short")
    event(short, "signed", D(2024, 12, 20))
    AgreementFactory(title="Stated", stated_status="concluded")
    AgreementFactory(title="Unstated", stated_status="")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_lane_chart_marks_write_what_the_chart_s_loops_wrote(language):
    _tie_and_escapes()
    lanes = agreement_lanes(agreements_with_timeline().order_by("pk"), today=D(2025, 1, 1))
    assert lanes.chart is not None
    django = engines["django"]
    context = {"chart": lanes.chart, "chart_id": 'lanes-"x"'}
    with translation.override(language):  # coordinates never localised, in any language
        written = django.from_string("{% load charts %}{% lane_chart_marks chart chart_id %}").render(context)
        expected = django.from_string(LANE_CHART_MARKS).render(context)
    assert written == expected
    assert 'class="lane-uncertain"' in written and 'class="lane-note"' in written
    assert "lane-span-label" in written  # a status written in its lane
    assert "&lt;arrangement&gt;" in written and "lanes-&quot;x&quot;-" in written
    assert written.count('<g class="lane">') == 4


def test_lane_row_writes_what_the_table_s_loop_wrote():
    _tie_and_escapes()
    lanes = agreement_lanes(agreements_with_timeline().order_by("pk"), today=D(2025, 1, 1))
    django = engines["django"]
    written, expected = (
        django.from_string(template).render({"lanes": lanes})
        for template in (
            "{% load agreement_rows %}{% for lane in lanes.lanes %}{% lane_row lane %}{% endfor %}",
            LANE_ROWS,
        )
    )
    assert written == expected
    assert written.count("<tr>") == 4
    assert "shown in lifecycle order" in written  # the tie
    assert "(skips a step: Suspended &lt;at once&gt; &amp; without notice)" in written
    assert "Concluded, as the source states, with no date" in written
    assert "Status not stated" in written
    assert written.count("Not stated before") == 2
