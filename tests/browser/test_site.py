"""The seed site in a real browser: navigation, the explorer's form, accessibility, screenshots."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from migrationsupport.charts import BAR_HEIGHT

# One page of every type, read by axe-core as a browser renders it.
PAGE_TYPES = [
    "/",
    "/regions/",
    "/regions/eastern-neighbourhood/",
    "/regions/turkiye-region/",
    "/countries/",
    "/countries/by/",
    "/countries/tr/",
    "/countries/mk/",
    "/routes/",
    "/routes/western-balkan-route/",
    "/routes/eastern-mediterranean-route/",
    "/instruments/",
    "/instruments/ipa-iii/",
    "/funding/",
    "/funding/?region=western-balkans&group=instrument",
    "/funding/?region=atlantis&year=soon",
    "/funding/western-balkans-package-2024/",
    "/conferences/",
    "/conferences/brussels-conference-viii-2024/",
    "/funding/syria-pledges-2024/",
    "/donors/",
    "/donors/eu_and_member_states/",
    "/funding-figures/",
    "/agreements/",
    "/agreements/timeline/",
    "/agreements/eu-belarus-visa-facilitation-agreement/",
    "/documents/",
    "/documents/pact-on-migration-and-asylum/",
    "/themes/",
    "/themes/border-management/",
    "/search/?q=frontex",
    "/search/?q=frontex&type=agreements-and-arrangements",
    "/no-such-page/",
]


def test_overview_leads_to_a_region_a_country_and_an_agreement(page, site):
    page.goto(site + "/")
    expect(page.locator("h1")).to_have_text(
        "EU support to partner countries on migration and forced displacement"
    )

    page.locator("#region-western-balkans-title a").click()
    expect(page.locator("h1")).to_have_text("Western Balkans")
    expect(page.locator("main")).to_contain_text("70% decrease of irregular border crossings")

    page.get_by_role("link", name="Serbia", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Serbia")
    # The seed never calls Serbia a candidate; it "concluded" a Frontex status agreement with it.
    expect(page.locator(".summary-list")).not_to_contain_text("Candidate")
    expect(page.locator("#agreements-table")).to_contain_text("Concluded")

    page.goto(site + "/")
    page.get_by_role("link", name="EU-Belarus visa facilitation agreement").first.click()
    expect(page.locator("h1")).to_have_text("EU-Belarus visa facilitation agreement")
    expect(page.locator(".timeline")).to_contain_text("9 November 2021")
    expect(page.locator(".summary-list")).to_contain_text("Partially suspended")


def test_timeline_draws_the_statuses_over_time_with_their_table(page, site):
    page.goto(site + "/agreements/timeline/")
    chart = page.get_by_role("img", name="Statuses over time")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 300
    lane = page.locator("#status-lanes-table tr", has_text="EU-Belarus visa facilitation agreement")
    expect(lane).to_contain_text("In force from 1 July 2020 until 9 November 2021")
    expect(lane).to_contain_text("Partially suspended from 9 November 2021 to date")
    expect(page.locator("#status-lanes-table")).to_contain_text("Signed from October 2022 until April 2023")

    page.goto(site + "/countries/mk/")
    expect(page.get_by_role("img", name="Their statuses over time")).to_be_visible()


def test_belarus_footnote_goes_to_the_note_and_back(page, site):
    page.goto(site + "/")
    page.locator("#region-eastern-neighbourhood a[href='#note-by']").first.click()
    expect(page).to_have_url(re.compile(r"#note-by$"))
    expect(page.locator("#note-by")).to_contain_text("Cooperation with Belarus has been suspended since 2020")

    page.locator("#note-by a[href='#ref-by-1']").click()
    expect(page).to_have_url(re.compile(r"#ref-by-1$"))


def test_explorer_filter_changes_the_rows_without_javascript(page_without_js, site):
    page = page_without_js
    page.goto(site + "/funding/")
    rows = page.locator("table.records tbody tr")
    everything = rows.count()

    page.get_by_label("Region", exact=True).select_option("western-balkans")
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(re.compile(r"region=western-balkans"))
    assert 0 < rows.count() < everything
    # The Western Balkans' one total: committed by the EU, a range (the €36 million may overlap).
    expect(page.locator(".total-figure")).to_have_text(
        re.compile(r"^more than €350\s+million; up to more than €386")
    )
    expect(page.locator("#by-group-caption")).to_contain_text("Totals by region")
    download = page.get_by_role("link", name=re.compile("as CSV"))
    assert "region=western-balkans" in download.get_attribute("href")


def test_explorer_bars_are_drawn_to_scale_on_their_track(page, site):
    page.goto(site + "/funding/")
    bars = page.locator(".chart-bars li svg")
    assert bars.count() > 1
    # The stylesheet's two colours as the browser resolves a fill (rgb(...)).
    colours = page.evaluate(
        """() => ['--blue-soft', '--blue'].map(name => {
            const probe = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
            probe.style.fill = getComputedStyle(document.documentElement).getPropertyValue(name);
            document.querySelector('svg').appendChild(probe);
            const fill = getComputedStyle(probe).fill;
            probe.remove();
            return fill;
        })"""
    )
    assert colours[0] != colours[1]
    for index in range(bars.count()):
        svg = bars.nth(index)
        box = svg.bounding_box()
        track, filled = svg.locator("rect").all()
        # The SVG as wide as its item, the track as wide as the SVG, the bar its percent of it.
        item = page.locator(".chart-bars li").nth(index).bounding_box()
        assert box["width"] == pytest.approx(item["width"], abs=1) and box["height"] == BAR_HEIGHT
        assert track.bounding_box()["width"] == pytest.approx(box["width"], abs=0.5)
        percent = float(filled.get_attribute("width").rstrip("%"))
        assert filled.bounding_box()["width"] == pytest.approx(box["width"] * percent / 100, abs=0.5)
        # The track in the stylesheet's soft blue, the bar in its blue (unstyled, both are black).
        assert [rect.evaluate("el => getComputedStyle(el).fill") for rect in (track, filled)] == colours
    first = bars.first.locator("rect").nth(1)
    assert first.get_attribute("width") == "100.00%"  # the largest fills its track


def test_skip_link_is_the_first_stop_and_focus_is_visible(page, site):
    page.goto(site + "/")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))


def test_no_serious_or_critical_accessibility_violations_on_any_page_type(page, site, axe_source):
    # One test for all page types: the seed is loaded once, and the report lists every page.
    problems = {}
    # The CSP forbids inline scripts; an init script is the browser's own and not subject to it.
    page.add_init_script(axe_source)
    for path in PAGE_TYPES:
        page.goto(site + path)
        results = page.evaluate(
            """async () => await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
                resultTypes: ["violations"],
            })"""
        )
        serious = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        if serious:
            problems[path] = [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in serious]

    assert not problems, problems


@pytest.mark.parametrize("width", [360, 1280])
def test_overview_screenshots_and_no_sideways_scrolling(page, site, artifacts, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(site + "/")

    page.screenshot(path=str(artifacts / f"overview-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
