"""The seed site on a phone (390 px wide): every page kind shows its answer without sideways
scrolling, with nothing pushed off the right edge, no status cut short, the results before the
filters; a full-page screenshot of each goes to test-artifacts/. And printing gives clean paper."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}

# One page of every kind, with a name for its screenshot.
PAGE_KINDS = {
    "overview": "/",
    "regions": "/regions/",
    "region": "/regions/eastern-neighbourhood/",
    "countries": "/countries/",
    "country": "/countries/tr/",
    "routes": "/routes/",
    "route": "/routes/eastern-mediterranean-route/",
    "funding-explorer": "/funding/",
    "funding-record": "/funding/western-balkans-package-2024/",
    "instruments": "/instruments/",
    "instrument": "/instruments/ipa-iii/",
    "conferences": "/conferences/",
    "conference": "/conferences/brussels-conference-viii-2024/",
    "agreements": "/agreements/",
    "agreement": "/agreements/eu-belarus-visa-facilitation-agreement/",
    "timeline": "/agreements/timeline/",
    "documents": "/documents/",
    "document": "/documents/pact-on-migration-and-asylum/",
    "key-areas": "/themes/",
    "key-area": "/themes/border-management/",
    "search": "/search/?q=frontex",
    "funding-method": "/funding-figures/",
}

# Every element that reaches past the viewport's right edge, and every table cell or status that
# is cut short. Exempt: visually hidden text for screen readers (a 1 px clipped box), and content
# inside a scroll container that says it scrolls (a named, focusable region right after a visible
# "scroll sideways" hint).
HIDDEN_CONTENT = """() => {
  const width = document.documentElement.clientWidth;
  const describe = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.getAttribute("class") ? "." + el.getAttribute("class").trim().split(/\\s+/).join(".") : "")
    + " «" + (el.textContent || "").trim().slice(0, 40) + "»";
  const visuallyHidden = el => {
    for (let node = el; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node), box = node.getBoundingClientRect();
      const clipped = style.position === "absolute" && style.overflow === "hidden";
      if (clipped && box.width <= 1 && box.height <= 1) return true;
    }
    return false;
  };
  const scroller = el => {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      const overflow = getComputedStyle(node).overflowX;
      if ((overflow === "auto" || overflow === "scroll") && node.scrollWidth > node.clientWidth) return node;
    }
    return null;
  };
  const announced = node => {
    const hint = node.previousElementSibling;
    return node.getAttribute("role") === "region" && node.getAttribute("tabindex") === "0"
      && (node.hasAttribute("aria-labelledby") || node.hasAttribute("aria-label"))
      && hint !== null && hint.classList.contains("scroll-hint") && hint.getBoundingClientRect().height > 0;
  };
  const offscreen = [], truncated = [], unannounced = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (getComputedStyle(el).visibility === "hidden" || visuallyHidden(el)) continue;
    const container = scroller(el);
    if (container && !announced(container)) unannounced.push(describe(container));
    if (!container && box.right > width + 0.5) {
      offscreen.push(describe(el) + " right=" + Math.round(box.right));
    }
    if (el.matches("td, th, .status")) {
      const style = getComputedStyle(el);
      const clipped = style.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1;
      const ellipsis = style.textOverflow === "ellipsis" && el.scrollWidth > el.clientWidth;
      if (clipped || ellipsis) truncated.push(describe(el));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width,
          offscreen, truncated, unannounced: [...new Set(unannounced)]};
}"""


WHOLE_INSIDE_EVERY_CLIPPING_BOX = """el => {
  const box = el.getBoundingClientRect();
  for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
    if (getComputedStyle(node).overflowX === "visible") continue;
    const clip = node.getBoundingClientRect();
    if (box.left < clip.left - 0.5 || box.right > clip.right + 0.5) return false;
  }
  return el.scrollWidth <= el.clientWidth;
}"""


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_every_page_kind_fits_a_phone_with_nothing_hidden_off_screen(phone, site, artifacts, axe_source):
    # One test for all page kinds: the seed is loaded once, and the report lists every page.
    problems = {}
    phone.add_init_script(axe_source)
    for name, path in PAGE_KINDS.items():
        response = phone.goto(site + path)
        assert response is not None and response.status == 200, path
        found = phone.evaluate(HIDDEN_CONTENT)
        # The phone layout (stacked rows, folded filters) as accessible as the wide one.
        axe = phone.evaluate(
            """async () => await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
                resultTypes: ["violations"],
            })"""
        )
        found["accessibility"] = [
            (v["id"], [n["target"] for n in v["nodes"][:3]])
            for v in axe["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        phone.screenshot(path=str(artifacts / f"phone-390-{name}.png"), full_page=True)
        page_problems = {
            key: found[key][:5]
            for key in ("offscreen", "truncated", "unannounced", "accessibility")
            if found[key]
        }
        if found["scrollWidth"] > found["width"]:
            page_problems["scroll width"] = found["scrollWidth"]
        if page_problems:
            problems[path] = page_problems

    assert not problems, problems


def test_agreements_show_their_current_status_and_latest_step_on_a_phone(phone, site):
    phone.goto(site + "/agreements/")
    row = phone.locator("#agreements-table tbody tr", has_text="EU-Belarus visa facilitation agreement")

    for label, text in (("Current status", "Partially suspended"), ("Latest step", "9 November 2021")):
        cell = row.locator(f'td[data-label="{label}"]')
        expect(cell).to_contain_text(text)
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (label, box)
        # The column's name is written beside the value, since the header row is not shown.
        shown = cell.evaluate("el => getComputedStyle(el, '::before').content")
        assert label in shown, shown


def test_country_statuses_are_whole_on_a_phone(phone, site):
    phone.goto(site + "/countries/tr/")
    statuses = phone.locator("#agreements-table .status")
    assert statuses.count() > 0
    for status in statuses.all():
        box = status.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], status.text_content()
        # Not cut by a box that clips or scrolls it ("Ong…" was a status behind a scroll box's edge).
        assert status.evaluate(WHOLE_INSIDE_EVERY_CLIPPING_BOX), status.text_content()


def test_funding_explorer_shows_the_total_first_and_folds_the_filters_on_a_phone(phone, site, artifacts):
    phone.goto(site + "/funding/")
    region = phone.get_by_label("Region", exact=True)
    total = phone.locator(".total-figure").first

    # The form waits behind "Filter"; the total is on the first screen.
    expect(region).to_be_hidden()
    box = total.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    assert phone.locator("table.records tbody tr").count() > 0

    phone.locator("summary.filter-toggle").click()
    expect(region).to_be_visible()
    region.select_option("western-balkans")
    phone.get_by_role("button", name="Apply filters").click()

    expect(phone).to_have_url(re.compile(r"region=western-balkans"))
    expect(phone.locator("summary.filter-toggle")).to_contain_text("filters applied")
    expect(phone.locator(".total-figure").first).to_contain_text("more than €350")


def test_filters_with_an_error_stay_unfolded_on_a_phone(phone, site):
    phone.goto(site + "/funding/?region=atlantis")

    expect(phone.locator("details.filter-panel")).to_have_attribute("open", "")
    expect(phone.get_by_label("Region", exact=True)).to_be_visible()


def test_desktop_keeps_the_filter_form_unfolded(page, site):
    page.goto(site + "/funding/")

    expect(page.locator("summary.filter-toggle")).to_be_hidden()
    expect(page.get_by_label("Region", exact=True)).to_be_visible()
    expect(page.locator("#filters-title")).to_be_visible()


def test_long_pages_have_contents_and_a_way_back_to_the_top(phone, site):
    phone.goto(site + "/")
    contents = phone.locator("nav.toc a")
    assert contents.count() >= 5
    for link in contents.all():
        target = link.get_attribute("href")
        assert target.startswith("#") and phone.locator(target).count() == 1, target

    phone.locator("nav.toc a", has_text="Key documents").click()
    assert phone.evaluate("scrollY") > 2 * PHONE["height"]
    phone.get_by_role("link", name="Back to the contents").last.click()
    expect(phone.locator("#toc-title")).to_be_in_viewport()

    phone.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    phone.get_by_role("link", name="Back to top").click()
    phone.wait_for_function("scrollY === 0")

    for path in ("/funding/", "/countries/tr/", "/regions/eastern-neighbourhood/", "/agreements/timeline/"):
        phone.goto(site + path)
        links = phone.locator("nav.toc a")
        assert links.count() >= 2, path
        for link in links.all():
            assert phone.locator(link.get_attribute("href")).count() == 1, (path, link.get_attribute("href"))


def test_printing_leaves_out_navigation_and_forms_and_keeps_rows_whole(page, site, artifacts):
    # About an A4 page's width: on screen the explorer's wide table would scroll at this width.
    page.set_viewport_size({"width": 700, "height": 900})
    page.goto(site + "/funding/?region=western-balkans")
    page.emulate_media(media="print")

    for selector in (
        ".site-nav",
        ".site-search",
        ".filter-panel",
        ".skip-link",
        ".footer-links",
        ".back-to-top",
    ):
        assert page.locator(selector).evaluate("el => getComputedStyle(el).display") == "none", selector
    row = page.locator("table.records tbody tr").first
    assert row.evaluate("el => getComputedStyle(el).breakInside") == "avoid"
    external = page.locator("main a[href^='http']").first
    assert "http" in external.evaluate("el => getComputedStyle(el, '::after').content")
    # The whole records table fits the paper: no column is cut off by its scroll box.
    wrap = page.locator("table.records").locator("xpath=..")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth")

    page.pdf(path=str(artifacts / "print-funding.pdf"), format="A4")
