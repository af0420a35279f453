"""Search that finds things (issue 17, point 2): accents, the names people use for a country,
ranking above shared passages, marked matches, "did you mean", and a bounded number of queries."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.postgres.search import SearchRank
from django.core.management import call_command
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from agreements.filters import AgreementFilter
from agreements.models import Agreement
from funding.filters import FundingFilter
from funding.models import FundingRecord
from migrationsupport import search
from migrationsupport.registry import registry
from migrationsupport.search import (
    fold,
    highlight,
    matching_ids,
    query_names,
    search_records,
    search_suggestion,
    text_query,
)
from regions.search import country_names
from tests.factories import AgreementFactory, CountryFactory, DocumentFactory, FundingRecordFactory
from tests.pages import assert_accessible_structure, text_of

pytestmark = pytest.mark.django_db

FIXTURES = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "fixtures").glob("*.json"))

#: The seed's Eastern Partnership paragraph, quoted as the description of every agreement it names.
EASTERN_PARTNERSHIP_PASSAGE = (
    "<p>Within the Eastern Partnership framework, the EU currently supports the implementation of "
    "agreements on visa facilitation (with Armenia, Azerbaijan and Belarus) and readmission (all "
    "partners), as well as continued cooperation on visa liberalisation and readmission with "
    "Georgia, Moldova and Ukraine, and the implementation of the Commission's recommendations on "
    "visa suspension.</p>"
)


def hits(query: str) -> dict[str, list[str]]:
    return {group.label: [hit.title for hit in group.hits] for group in search_records(query)}


@pytest.fixture
def turkiye():
    country = CountryFactory(name="Türkiye", iso_code="TR")
    FundingRecordFactory(
        title="Support to migration and border management in Türkiye",
        description="<p>To date the EU has allocated close to €900 million to support migration and "
        "border management in Türkiye.</p>",
        amount=Decimal(900_000_000),
        countries=[country],
    )
    # Linked to the country without naming it.
    FundingRecordFactory(title="Facility for refugees", countries=[country])
    # Naming it without being linked to it.
    FundingRecordFactory(title="A regional programme", description="<p>Greece and Türkiye.</p>")
    FundingRecordFactory(title="Programme elsewhere")
    return country


def test_search_ignores_accents(turkiye):
    found = hits("Turkiye")

    assert found["Countries"] == ["Türkiye"]
    assert "Support to migration and border management in Türkiye" in found["Funding"]
    assert hits("TÜRKIYE")["Countries"] == ["Türkiye"]


def test_search_ignores_accents_in_any_word():
    FundingRecordFactory(title="Programme Sécurité des frontières", description="<p>Réfugiés.</p>")

    assert hits("securite")["Funding"] == ["Programme Sécurité des frontières"]
    assert hits("refugies")["Funding"] == ["Programme Sécurité des frontières"]
    assert hits("Sécurité")["Funding"] == ["Programme Sécurité des frontières"]
    hit = search_records("securite")[0].hits[0]
    assert hit.title_html == "Programme <mark>Sécurité</mark> des frontières"


@pytest.mark.parametrize("query", ["Turkey", "turkey", "Türkiye", "TR", "tur", "Republic of Türkiye"])
def test_search_knows_a_country_by_its_common_and_official_names_and_iso_codes(turkiye, query):
    groups = search_records(query)
    found = {group.label: [hit.title for hit in group.hits] for group in groups}

    # The country page first, then the records linked to it (also one that does not name it).
    assert groups[0].label == "Countries"
    assert found["Countries"] == ["Türkiye"]
    assert set(found["Funding"][:2]) == {
        "Support to migration and border management in Türkiye",
        "Facility for refugees",
    }
    assert found["Funding"][2:] == ["A regional programme"]


def test_an_iso_code_is_not_a_word_prefix(turkiye):
    FundingRecordFactory(title="Trade and trafficking programme")

    assert "Trade and trafficking programme" not in hits("TR").get("Funding", [])
    assert hits("Traffick")["Funding"] == ["Trade and trafficking programme"]


def test_a_country_name_among_other_words_narrows_to_records_that_name_it(turkiye):
    assert hits("Turkey border")["Funding"] == ["Support to migration and border management in Türkiye"]


def test_country_names_come_from_pycountry_with_documented_aliases():
    assert [match.code for match in country_names("Turkey")] == ["TR"]
    assert "Türkiye" in country_names("TUR")[0].names
    assert [match.code for match in country_names("Syria")] == ["SY"]  # pycountry's common name
    assert [(match.code, match.rest) for match in country_names("refugees in Greece")] == [
        ("GR", "refugees in")
    ]
    # Two- and three-letter codes count only alone: "in" is India's, "and" Andorra's.
    assert country_names("aid and trade") == []
    assert fold("EU-Türkiye") == "eu turkiye"


def test_records_whose_own_title_matches_rank_above_those_sharing_only_a_passage():
    ukraine = CountryFactory(name="Ukraine", iso_code="UA")
    armenia = CountryFactory(name="Armenia", iso_code="AM")
    azerbaijan = CountryFactory(name="Azerbaijan", iso_code="AZ")
    for title, country in (
        ("EU-Armenia readmission agreement", armenia),
        ("EU-Azerbaijan visa facilitation agreement", azerbaijan),
        ("EU-Ukraine readmission agreement", ukraine),
        ("Cooperation on visa liberalisation with Ukraine", ukraine),
    ):
        AgreementFactory(title=title, parties=[country], description=EASTERN_PARTNERSHIP_PASSAGE)

    found = hits("Ukraine")["Agreements and arrangements"]

    assert sorted(found[:2]) == [
        "Cooperation on visa liberalisation with Ukraine",
        "EU-Ukraine readmission agreement",
    ]
    assert sorted(found[2:]) == [
        "EU-Armenia readmission agreement",
        "EU-Azerbaijan visa facilitation agreement",
    ]


def test_a_title_match_outranks_a_shared_passage_without_any_country_link():
    AgreementFactory(title="Armenia: readmission", description=EASTERN_PARTNERSHIP_PASSAGE)
    AgreementFactory(title="Cooperation on visa liberalisation", description=EASTERN_PARTNERSHIP_PASSAGE)

    assert hits("liberalisation")["Agreements and arrangements"] == [
        "Cooperation on visa liberalisation",
        "Armenia: readmission",
    ]


def test_a_title_match_outranks_more_mentions_in_a_shared_passage():
    # The passage says "visa" three times; the other record once, in its title.
    AgreementFactory(title="Armenia: readmission", description=EASTERN_PARTNERSHIP_PASSAGE)
    AgreementFactory(title="Visa waiver", description="")

    assert hits("visa")["Agreements and arrangements"] == ["Visa waiver", "Armenia: readmission"]


def test_matched_words_are_marked_and_everything_is_escaped(turkiye):
    hit = next(group for group in search_records("Turkey") if group.label == "Funding").hits[0]

    assert hit.title_html == "Support to migration and border management in <mark>Türkiye</mark>"
    assert "<mark>Türkiye</mark>" in hit.summary_html
    assert highlight("Fish & <b>chips</b> lt", ("chip", "lt", "b")) == (
        "Fish &amp; &lt;<mark>b</mark>&gt;<mark>chips</mark>&lt;/<mark>b</mark>&gt; <mark>lt</mark>"
    )
    assert highlight("a < b", ("lt",)) == "a &lt; b"


def test_search_page_marks_matches_and_escapes_html_in_query_and_text(client):
    FundingRecordFactory(
        title="Frontex <b>training</b>",
        description="<p>Frontex &lt;script&gt;alert(1)&lt;/script&gt; deploys.</p>",
    )

    response = client.get("/search/", {"q": "<script>frontex"})
    body = response.content.decode()

    assert response.status_code == 200
    assert "<mark>Frontex</mark> &lt;b&gt;training&lt;/b&gt;" in body
    assert "&lt;<mark>script</mark>&gt;alert(1)" in body
    assert "<script>alert" not in body and "<script>frontex" not in body
    assert_accessible_structure(response)


def test_did_you_mean_offers_the_nearest_title_word():
    CountryFactory(name="Morocco", iso_code="MA")
    CountryFactory(name="Tunisia", iso_code="TN")

    assert search_suggestion("Marocco") == "Morocco"
    assert search_suggestion("Tunesia") == "Tunisia"
    assert search_suggestion("Morocco") is None
    assert search_suggestion("zzzzqqq") is None


def test_search_page_links_the_suggestion_when_nothing_matches(client):
    CountryFactory(name="Morocco", iso_code="MA")

    response = client.get("/search/", {"q": "Marocco"})

    assert "Did you mean Morocco" in text_of(response)
    assert 'href="/search/?q=Morocco"' in response.content.decode()
    assert "Did you mean" not in text_of(client.get("/search/", {"q": "Morocco"}))


def test_search_page_says_how_many_records_match_beyond_those_shown(client):
    for number in range(22):
        FundingRecordFactory(title=f"Border management {number}")
    AgreementFactory(title="Border cooperation arrangement")

    text = text_of(client.get("/search/", {"q": "border"}))

    assert "23 records match “border”." in text
    assert "Funding (20 of 22)" in text
    assert "Agreements and arrangements (1)" in text
    assert "first" not in text  # every match was ranked


def test_a_word_many_records_hold_is_ranked_among_the_first_found(client, monkeypatch):
    """Past ``RANKED_MATCHES`` matches of a type, the page shows the best of the first ones found
    and says so, instead of ranking every one (a word every record holds ranked all 100 000 funding
    records at +100 000; docs/performance.md)."""
    monkeypatch.setattr(search, "RANKED_MATCHES", 4)
    for number in range(6):
        FundingRecordFactory(title=f"Border management {number}")
    AgreementFactory(title="Border cooperation arrangement")

    text = text_of(client.get("/search/", {"q": "border"}))
    found = {group.label: group for group in search_records("border")}

    assert "More than 5 records match “border”." in text
    assert "Funding (4 of more than 4)" in text
    assert "The most relevant of the first found. Add a word to narrow the search." in text
    assert "Agreements and arrangements (1)" in text
    funding, agreements = found["Funding"], found["Agreements and arrangements"]
    assert (funding.matched, funding.more, len(funding.hits)) == (4, True, 4)
    assert (agreements.matched, agreements.more) == (1, False)


def test_search_page_counts_no_match_when_a_country_is_named(turkiye, client):
    # The records linked to the country are found by their links, not counted.
    text = text_of(client.get("/search/", {"q": "Turkey"}))

    assert "results for “Turkey”." in text
    assert "match “Turkey”" not in text
    assert {group.matched for group in search_records("Turkey")} == {None}


def _result_links(response) -> list[str]:
    """The addresses of the results a search page lists, in order."""
    body = response.content.decode()
    lists = re.findall(r'<ul class="results">(.*?)</ul>', body, flags=re.S)
    return [address for found in lists for address in re.findall(r'<li><a href="([^"]+)">', found)]


def _follow_pages(client, params: dict) -> tuple[list[str], list]:
    """Every result of one type's pages, from the first to the last ``Next page``, and the pages."""
    found, pages = [], []
    response = client.get("/search/", params)
    while True:
        assert response.status_code == 200
        pages.append(response)
        found += _result_links(response)
        following = re.search(r'<a href="([^"]+)" rel="next">', response.content.decode())
        if following is None:
            return found, pages
        response = client.get("/search/" + html.unescape(following.group(1)))


def test_a_type_with_more_results_than_shown_links_to_its_pages_of_every_result(client, monkeypatch):
    """Counted: the search page shows 20 of a type and links to all of them, page by page."""
    monkeypatch.setattr(search, "TYPE_PAGE_SIZE", 10)
    for number in range(22):
        FundingRecordFactory(title=f"Border management {number}")
    AgreementFactory(title="Border cooperation arrangement")
    every = _every_match_ranked(
        next(t for t in registry.search if t.label == "Funding"), "border", query_names("border")
    )

    page = client.get("/search/", {"q": "border"})
    assert "All 22 results in funding" in text_of(page)
    assert 'href="?q=border&amp;type=funding"' in page.content.decode()
    assert "type=agreements" not in page.content.decode()  # all of its one result is shown
    found, pages = _follow_pages(client, {"q": "border", "type": "funding"})

    assert found == [FundingRecord.objects.get(pk=pk).get_absolute_url() for pk in every]
    assert len(pages) == 3
    first, last = text_of(pages[0]), text_of(pages[-1])
    assert "22 records match “border” in funding." in first
    assert "Funding (1–10 of 22)" in first and "Page 1 of 3" in first
    assert "Funding (21–22 of 22)" in last and "Page 3 of 3" in last and "Previous page" in last
    # The first page has one address: Previous from page 2 leads to it without "page=1".
    assert 'href="?q=border&amp;type=funding" rel="prev"' in pages[1].content.decode()
    assert "Agreements and arrangements (" not in first  # one type only
    for response in pages:
        assert_accessible_structure(response)
    assert client.get("/search/", {"q": "border", "type": "funding", "page": 4}).status_code == 404


def test_a_type_whose_results_are_not_counted_never_says_it_has_only_those_shown(
    turkiye, client, monkeypatch
):
    """A country's name finds its linked records by their links, uncounted: the page says more
    follow (it read one more than it shows) instead of "Funding (20)", and its pages reach them all."""
    monkeypatch.setattr(search, "TYPE_PAGE_SIZE", 4)
    for number in range(22):
        FundingRecordFactory(title=f"Programme {number:02}", countries=[turkiye])
    every = _every_match_ranked(
        next(t for t in registry.search if t.label == "Funding"), "Turkey", query_names("Turkey")
    )

    text = text_of(client.get("/search/", {"q": "Turkey"}))
    found, pages = _follow_pages(client, {"q": "Turkey", "type": "funding"})

    assert "Funding (first 20)" in text and "More results in funding" in text
    shown = sum(len(group.hits) for group in search_records("Turkey"))
    assert f"More than {shown} results for “Turkey”." in text
    assert found == [FundingRecord.objects.get(pk=pk).get_absolute_url() for pk in every]
    assert len(every) == 25 and len(pages) == 7  # 24 linked, and one naming it
    assert "Results 1–4 in funding for “Turkey”; more follow." in text_of(pages[0])
    assert "Result 25 in funding for “Turkey”." in text_of(pages[-1])
    assert "Funding (result 25)" in text_of(pages[-1]) and "Page 7" in text_of(pages[-1])


def test_a_types_pages_end_at_the_results_it_ranks(turkiye, client, monkeypatch):
    """Past ``TYPE_RESULTS`` results of a type, its pages stop and say so; a page past them, or
    anything but a page number, is a 404; an unknown type is every type."""
    monkeypatch.setattr(search, "TYPE_RESULTS", 6)
    monkeypatch.setattr(search, "TYPE_PAGE_SIZE", 4)
    for number in range(9):
        FundingRecordFactory(title=f"Programme {number:02}", countries=[turkiye])

    found, pages = _follow_pages(client, {"q": "Turkey", "type": "funding"})

    assert len(found) == 6 and len(pages) == 2
    assert "The pages end at the first 6 results. Add a word to narrow the search." in text_of(pages[-1])
    assert "The pages end" not in text_of(pages[0])
    for page in ("3", "0", "-1", "x", "²", "1" * 30):
        assert client.get("/search/", {"q": "Turkey", "type": "funding", "page": page}).status_code == 404, (
            page
        )
    every_type = text_of(client.get("/search/", {"q": "Turkey", "type": "nope", "page": "x"}))
    assert "Countries (1)" in every_type and "Funding (first 6)" in every_type
    # Counted: the pages say how many there are, those they reach.
    for number in range(9):
        FundingRecordFactory(title=f"Border programme {number}")
    counted, pages = _follow_pages(client, {"q": "border", "type": "funding"})
    assert len(counted) == 6 and len(pages) == 2
    assert "Funding (5–6 of 10)" in text_of(pages[-1]) and "Page 2 of 2" in text_of(pages[-1])
    assert "The pages end at the first 6 results." in text_of(pages[-1])


def test_a_country_whose_results_go_on_links_to_the_list_of_every_record_linked_to_it(
    turkiye, client, monkeypatch
):
    """A country's name: past what a page shows, the page links to the list that holds every
    record linked to the country (the type's pages end at ``TYPE_RESULTS``, the list does not)."""
    monkeypatch.setattr(search, "TYPE_PAGE_SIZE", 4)
    monkeypatch.setattr(search, "TYPE_RESULTS", 8)
    for number in range(22):
        FundingRecordFactory(title=f"Programme {number:02} in Türkiye", countries=[turkiye])
    for number in range(21):
        AgreementFactory(title=f"Arrangement {number:02}", parties=[turkiye])
    FundingRecordFactory(title="Draft programme", countries=[turkiye], status="draft")
    linked = set(FundingRecord.objects.published().filter(countries=turkiye).values_list("pk", flat=True))

    page = client.get("/search/", {"q": "Turkey"})
    last = _follow_pages(client, {"q": "Turkey", "type": "funding"})[1][-1]

    for response in (page, last):
        body = response.content.decode()
        assert "Funding linked to Türkiye: every one in the funding explorer." in text_of(response)
        assert '<a href="/funding/?country=tr">the funding explorer</a>' in body
    assert "The pages end at the first 8 results." in text_of(last)
    assert '<a href="/agreements/?country=tr">the list of agreements</a>' in page.content.decode()
    explorer = client.get("/funding/", {"country": "tr"})
    assert explorer.status_code == 200
    listed = FundingFilter(data={"country": "tr"}, queryset=FundingRecord.objects.published()).qs
    assert set(listed.values_list("pk", flat=True)) == linked and len(linked) == 24
    assert f"{len(linked)} records match the filters" in text_of(explorer)
    # Not for a query with other words, whose results go on too (nor where every linked record
    # is shown: the next tests).
    narrowed = text_of(client.get("/search/", {"q": "Turkey programme"}))
    assert "Funding (8 of 23)" in narrowed and "linked to Türkiye: every one" not in narrowed
    # The list of agreements filters by the same links.
    listed = AgreementFilter(data={"country": "tr"}, queryset=Agreement.objects.published()).qs
    assert set(listed) == set(Agreement.objects.published().filter(parties=turkiye)) and len(listed) == 21


def test_a_country_nothing_on_the_next_page_links_to_gets_no_link_to_a_list(client):
    """Results go on past the page, but none of them linked to the country (every linked one is
    shown, or there is none): the list would hold no more than the page, or nothing."""
    syria = CountryFactory(name="Syria", iso_code="SY")
    lebanon = CountryFactory(name="Lebanon", iso_code="LB")
    FundingRecordFactory(title="Programme for Syria", countries=[syria])
    for number in range(25):
        FundingRecordFactory(title=f"Programme {number:02}", description="<p>Syria and Lebanon.</p>")

    for query in ("Syria", "Lebanon"):
        text = text_of(client.get("/search/", {"q": query}))
        assert "Funding (first 20)" in text and "More results in funding" in text, query
        assert "linked to" not in text, query
    assert search.linked_country_ids(
        next(t for t in registry.search if t.label == "Funding"), query_names("Lebanon")
    ) == (lebanon.pk,)


@pytest.mark.parametrize("results", [20, 21])
def test_an_uncounted_group_links_to_more_only_when_more_follow(turkiye, client, results):
    # The turkiye fixture's funding: two records linked to the country and one naming it; the
    # search page shows 20 of a type.
    for number in range(results - 3):
        FundingRecordFactory(title=f"Programme {number:02}", countries=[turkiye])

    text = text_of(client.get("/search/", {"q": "Turkey"}))

    if results == 20:
        assert "Funding (20)" in text and "results in funding" not in text
    else:
        assert "Funding (first 20)" in text and "More results in funding" in text
    # Every linked record is on the page (the 21st result only names the country): no link.
    assert "Funding linked to Türkiye" not in text


def test_a_group_that_shows_every_match_links_nowhere(client, monkeypatch):
    for number in range(20):
        FundingRecordFactory(title=f"Border management {number}")

    text = text_of(client.get("/search/", {"q": "border"}))
    found = {group.label: group for group in search_records("border")}

    assert "Funding (20)" in text and "results in funding" not in text
    assert (found["Funding"].has_next, found["Funding"].cut) == (False, False)
    FundingRecordFactory(title="Border management 20")
    text = text_of(client.get("/search/", {"q": "border"}))
    assert "Funding (20 of 21)" in text and "All 21 results in funding" in text
    FundingRecordFactory(title="Border management 21")
    monkeypatch.setattr(search, "TYPE_RESULTS", 21)  # more match (22) than the pages reach
    assert "The first 21 results in funding" in text_of(client.get("/search/", {"q": "border"}))


def test_some_groups_counted_and_one_with_more_say_more_match(turkiye, client):
    """A country's name: funding is found by its links (not counted, all 3 shown here) and key
    documents by their text (counted, 20 of 21): the line says more match than it shows."""
    for number in range(21):
        DocumentFactory(title=f"Report on Türkiye {number}")

    text = text_of(client.get("/search/", {"q": "Turkey"}))
    shown = sum(len(group.hits) for group in search_records("Turkey"))

    assert "Key documents (20 of 21)" in text
    assert f"More than {shown} results for “Turkey”." in text


def test_a_types_single_page_says_how_many_it_lists(turkiye, client):
    text = text_of(client.get("/search/", {"q": "Turkey", "type": "funding"}))
    assert "3 results in funding for “Turkey”." in text and "Funding (1–3)" in text
    text = text_of(client.get("/search/", {"q": "Turkey", "type": "countries"}))
    assert "1 result in countries for “Turkey”." in text and "Countries (1)" in text


def test_a_type_with_exactly_the_results_its_pages_reach_says_nothing_more(client, monkeypatch):
    monkeypatch.setattr(search, "TYPE_RESULTS", 6)
    monkeypatch.setattr(search, "TYPE_PAGE_SIZE", 3)
    for number in range(6):
        FundingRecordFactory(title=f"Border management {number}")

    found, pages = _follow_pages(client, {"q": "border", "type": "funding"})

    assert len(found) == 6 and len(pages) == 2
    last = text_of(pages[-1])
    assert "Funding (4–6 of 6)" in last and "Page 2 of 2" in last
    assert "The pages end" not in last and "Next page" not in last


def test_a_type_without_a_query_is_the_empty_search_page(client):
    FundingRecordFactory(title="Border management")

    for page in ("1", "2"):
        response = client.get("/search/", {"q": "", "type": "funding", "page": page})
        assert response.status_code == 200
        assert 'href="/search/?q="' not in response.content.decode()  # no trail to an empty search


def test_search_makes_one_query_per_record_type_however_many_records_match(
    turkiye, django_assert_num_queries
):
    for number in range(30):
        FundingRecordFactory(title=f"Türkiye programme {number}", countries=[turkiye])
    AgreementFactory(title="EU-Turkey readmission agreement", parties=[turkiye])

    # One per registered record type, and the named country's id (once for the three types
    # linked to countries: funding, agreements, countries); none per hit or name.
    with django_assert_num_queries(12):
        groups = search_records("Turkey")

    assert len(next(group for group in groups if group.label == "Funding").hits) == 20  # bounded


def _matches(record_type, query, names, *, limit, offset=0):
    """``search._matches`` for the countries the query names, as the search page asks it: the
    ``limit`` results from the ``offset``-th, and the next one if there is one."""
    country_ids = search.linked_country_ids(record_type, names)
    return search._matches(record_type, query, names, limit=limit, country_ids=country_ids, offset=offset)


def _every_match_ranked(record_type, query, names):
    """What the search showed before it ranked only the first of each part: every match, text or
    linked, ranked and ordered in one query (PostgreSQL only)."""
    model = record_type.queryset().model
    codes = {match.code for match in names if not match.rest}
    country = record_type.country_code_field.rpartition("__")[0]
    linked_ids = model.objects.filter(
        **{f"{record_type.country_code_field}__in": codes, f"{country}__status": "published"}
    ).values("pk")
    search_query = text_query(query, names)
    return [
        record.pk
        for record in record_type.queryset()
        .filter(Q(pk__in=matching_ids(record_type, search_query)) | Q(pk__in=linked_ids))
        .annotate(
            linked=Exists(linked_ids.filter(pk=OuterRef("pk"))),
            rank=SearchRank(search._vector(record_type), search_query),
        )
        .order_by("-linked", "-rank", "title", "pk")
    ]


@pytest.mark.parametrize("query", ["Turkey", "border", "Türkiye border", "programme"])
@pytest.mark.parametrize(
    ("limit", "offset"), [(1, 0), (2, 0), (3, 0), (5, 0), (20, 0), (1, 4), (3, 2), (5, 9)]
)
def test_the_first_results_are_those_of_every_match_ranked(turkiye, query, limit, offset):
    # Each part (text matches, linked records) is ranked and cut on its own: the ``limit`` from
    # the ``offset``-th, and the next one, must still be exactly those of every match ranked
    # together, linked ones first (a type's later pages: ``search_records(only=...)``).
    for number in range(4):
        FundingRecordFactory(title=f"Border programme {number}", description="<p>Border border.</p>")
        FundingRecordFactory(title=f"Programme {number}", countries=[turkiye])
        FundingRecordFactory(title=f"Türkiye border programme {number}", countries=[turkiye])
    record_type = next(record_type for record_type in registry.search if record_type.label == "Funding")
    names = query_names(query)

    shown = [record.pk for record in _matches(record_type, query, names, limit=limit, offset=offset)]

    assert shown == _every_match_ranked(record_type, query, names)[offset : offset + limit + 1]


@pytest.mark.parametrize(
    ("query", "by_title"),
    [
        ("-border", True),
        ("-facility", True),
        ("-2024", True),
        ("-türkiye", True),
        # Several: a record whose document holds no word ranks below every other.
        ("-border -programme", False),
        ("-türkiye -2024", False),
        # A phrase excluded (hyphenated words are one): a record holding one of its words ranks
        # above one holding none.
        ('-"border programme"', False),
        ("-border-programme", False),
    ],
)
@pytest.mark.parametrize("limit", [1, 3, 20])
def test_a_query_that_only_excludes_words_lists_its_matches_as_ranked(turkiye, query, by_title, limit):
    for number in range(4):
        FundingRecordFactory(title=f"Border programme {number}", description="<p>Border border.</p>")
        FundingRecordFactory(title=f"Zeta {number}", description="<p>Facility, facility.</p>")
        FundingRecordFactory(title=f"Programme {number}", description="<p>Border 2024.</p>")
    # A document of no word at all (a stop word, no description): first by title.
    FundingRecordFactory(title="Other", description="")
    record_type = next(record_type for record_type in registry.search if record_type.label == "Funding")
    # Read by title (its index), not ranked: every match holds none of the query's words.
    assert search._one_word_left_out(query) is by_title
    shown = [record.pk for record in _matches(record_type, query, [], limit=limit)]
    ranked = _every_match_ranked(record_type, query, [])
    assert ranked, query
    assert shown == ranked[: limit + 1]


@pytest.mark.parametrize("label", ["Funding", "Agreements and arrangements"])
@pytest.mark.parametrize("limit", [1, 3, 20])
def test_a_linked_record_holding_one_word_of_the_names_ranks_above_the_other_linked_ones(
    turkiye, label, limit
):
    # "Republic" is a word of "Republic of Türkiye": a linked record holding it alone does not
    # match the query, yet ranks above 0, so above every linked record holding no word of it,
    # however many of those come first by title.
    record_type = next(record_type for record_type in registry.search if record_type.label == label)
    factory = FundingRecordFactory if label == "Funding" else AgreementFactory
    links = "countries" if label == "Funding" else "parties"
    for number in range(25):
        factory(title=f"Aardvark fund {number:02}", **{links: [turkiye]})
    factory(title="Zebra fund of the republic", **{links: [turkiye]})
    factory(title="Zebra fund", description="<p>For the Republic.</p>", **{links: [turkiye]})
    factory(title="Zebra fund elsewhere", description="<p>For the Republic.</p>")
    names = query_names("Turkey")

    shown = [record.title for record in _matches(record_type, "Turkey", names, limit=limit)]

    expected = _every_match_ranked(record_type, "Turkey", names)[: limit + 1]
    assert shown == [record_type.queryset().get(pk=pk).title for pk in expected]
    if limit == 20:
        assert {"Zebra fund of the republic", "Zebra fund"} <= set(shown)
        assert "Zebra fund elsewhere" not in shown


def test_a_country_nothing_links_to_is_searched_by_its_names_alone(turkiye):
    CountryFactory(name="Afghanistan", iso_code="AF")
    FundingRecordFactory(title="Support in Afghanistan")
    record_type = next(record_type for record_type in registry.search if record_type.label == "Funding")
    names = query_names("Afghanistan")

    shown = [record.title for record in _matches(record_type, "Afghanistan", names, limit=20)]

    assert shown == ["Support in Afghanistan"]
    assert search._linked_ids(record_type, search.linked_country_ids(record_type, names)).count() == 0


@pytest.mark.parametrize(("query", "parts"), [("border", 1), ("Turkey", 3)])
def test_each_part_is_ranked_and_cut_where_its_rows_are_found(turkiye, query, parts):
    # Not every match joined back to the table (at +100 000 funding records that read the whole
    # table for "migration", 5 matches): the text matches alone are cut at ``RANKED_MATCHES`` + 1
    # before they are joined back, and each part (text, linked) is cut before the page's rows are
    # read.
    record_type = next(record_type for record_type in registry.search if record_type.label == "Funding")
    sql = str(_matches(record_type, query, query_names(query), limit=20).query)

    # One LIMIT for the text matches alone; for a country's name one for each part (text matches,
    # linked records holding a word of the query, the other linked ones by title) and the page's:
    # the 20 shown and one more, which tells whether results follow.
    assert sql.count("LIMIT 21") == (1 if parts == 1 else 4)
    # The linked records' parts by their ids, each looked up by its primary key (``_AnyOf``): as
    # ``id IN (…)`` PostgreSQL read the whole table for a few hundred (docs/performance.md).
    assert ('"funding_fundingrecord"."id" = ANY(ARRAY(' in sql) is (parts == 3)
    if parts == 1:
        matches = sql.split(" IN (SELECT ", 1)[1]
        assert "@@" in matches and matches.index("@@") < matches.index(f"LIMIT {search.RANKED_MATCHES + 1})")


def test_sqlite_fallback_finds_other_names_too(turkiye, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")

    assert hits("Turkey")["Countries"] == ["Türkiye"]
    assert search_suggestion("Marocco") is None


@pytest.mark.parametrize(
    ("label", "index"),
    [
        ("Funding", "funding_search_idx"),
        ("Agreements and arrangements", "agreement_search_idx"),
        ("Key documents", "document_search_idx"),
    ],
)
def test_the_text_match_can_use_its_index(label, index):
    # With sequential scans priced out PostgreSQL picks an index whenever one fits: the expression
    # searched and the indexed one must be the same (config, fields, weights).
    record_type = next(record_type for record_type in registry.search if record_type.label == label)
    matches = matching_ids(record_type, text_query("border", []))
    sql, params = matches.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert index in plan, plan


def test_the_issue_reports_on_the_seed_are_answered():
    # Issue 17: "Turkiye" and "Turkey" found neither the Türkiye page nor its €900 million;
    # "Ukraine" listed Armenian and Azerbaijani agreements (one shared passage) among its own.
    call_command("loaddata", *FIXTURES, verbosity=0)

    for query in ("Turkiye", "Turkey"):
        groups = search_records(query)
        assert groups[0].label == "Countries" and [hit.title for hit in groups[0].hits] == ["Türkiye"]
        funding = next(group for group in groups if group.label == "Funding").hits
        assert funding[0].title == "Support to migration and border management in Türkiye"
        assert "€900\xa0million" in funding[0].summary

    agreements = hits("Ukraine")["Agreements and arrangements"]
    assert sorted(agreements[:2]) == [
        "Cooperation on visa liberalisation with Ukraine",
        "EU-Ukraine readmission agreement",
    ]
    assert all("Ukraine" not in title for title in agreements[2:])


def _stored_and_built(record_type) -> list[tuple[str, str]]:
    model = record_type.queryset().model
    return list(
        model._base_manager.annotate(built=search.text_vector(record_type))
        .order_by("pk")
        .values_list(record_type.document_column, "built")
    )


STORED = [record_type for record_type in registry.search if record_type.document_column]


def test_funding_agreements_and_documents_store_their_documents():
    assert sorted(record_type.label for record_type in STORED) == [
        "Agreements and arrangements",
        "Funding",
        "Key documents",
    ]


@pytest.mark.parametrize("record_type", STORED, ids=lambda record_type: record_type.label)
def test_the_stored_document_is_the_one_built_from_the_text_after_every_write(record_type):
    """The trigger's SQL (written out in the migration that added the column) and the
    record type's fields (title A, own text B, shared text D) must give the same document, or the
    search would rank by other weights than it says and miss what a record's text now says."""
    model = record_type.queryset().model
    factory = {"Funding": FundingRecordFactory, "Agreements and arrangements": AgreementFactory}.get(
        record_type.label, DocumentFactory
    )
    text = {name: f"<p>Été {name} Türkiye returns</p>" for name in record_type.text_fields}
    shared = {name: f"<p>Shared {name} passage, Ukraine</p>" for name in record_type.shared_text_fields}
    first = factory(title="Border management in Türkiye", **text, **shared)
    factory(title="")  # empty text is '' to both, not NULL

    pairs = _stored_and_built(record_type)
    assert all(stored == built for stored, built in pairs), pairs
    assert "'turkiy':4A" in pairs[0][0]  # accents folded, stemmed, weighted as the title

    # A save from the admin or a service, and an update of many rows at once.
    first.title = "Readmission cooperation"
    first.save()
    pairs = _stored_and_built(record_type)
    assert all(stored == built for stored, built in pairs), pairs
    assert "readmiss" in pairs[0][0]
    model._base_manager.filter(pk=first.pk).update(title="Visa facilitation")
    pairs = _stored_and_built(record_type)
    assert all(stored == built for stored, built in pairs), pairs
    assert "'visa':1A" in pairs[0][0] and "readmiss" not in pairs[0][0]


@pytest.mark.parametrize("record_type", STORED, ids=lambda record_type: record_type.label)
def test_the_stored_document_is_not_kept_in_the_history(record_type):
    # A history row is written from the instance, whose copy of the document is not the one the
    # trigger wrote; an as-of snapshot writes it from the text of then (test_asof).
    model = record_type.queryset().model
    assert record_type.document_column not in {field.name for field in model.history.model._meta.fields}


@pytest.mark.parametrize("query", ["Turkey", "border", "Türkiye border", '"visa" -armenia', "TR"])
def test_the_query_compiled_once_is_the_same_sql_as_the_expression(turkiye, query):
    names = query_names(query)
    for record_type in registry.search:
        built = matching_ids(record_type, text_query(query, names)).query.sql_with_params()
        compiled = matching_ids(record_type, search.compiled_text_query(query, tuple(names))).query
        assert compiled.sql_with_params() == built
