"""No 500 from a query string (issue 14): NUL bytes, numbers no column can hold, too many search
terms and malformed admin filters answer 400 (or the admin's own "?e=1"), on the pages, their
CSV and the API. Hypothesis then throws generated values at every filter of the public list
pages, search and the CSV export (tests/api/test_schemathesis.py does the same for the API)."""

from __future__ import annotations

from urllib.parse import quote, quote_from_bytes

import pytest
from django import forms
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agreements.filters import AgreementFilter, DocumentFilter
from agreements.models import Agreement, Document
from funding.filters import FundingFilter
from funding.models import FundingRecord, Instrument, PledgingConference
from migrationsupport.filters import MAX_SEARCH_TERM_LENGTH, MAX_SEARCH_TERMS
from regions.filters import CountryFilter
from regions.models import Route
from tests.factories import (
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

# Each public list page with its FilterSet, and the query parameters it reads besides the filters.
LIST_PAGES = {
    "/funding/": (FundingFilter, ("group", "page")),
    "/funding/export.csv": (FundingFilter, ()),
    "/funding/totals.csv": (FundingFilter, ("group",)),
    "/agreements/": (AgreementFilter, ("page",)),
    "/documents/": (DocumentFilter, ("page",)),
    "/countries/": (CountryFilter, ("page",)),
}
NUMBERS_NO_COLUMN_HOLDS = (
    "1e-999999",
    "1e999999",
    "-1e999999",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "0.001",  # amounts are in cents
    "12345678901234567",  # more digits than numeric(16, 2)
)
AMOUNT_ADDRESSES = (
    "/funding/",
    "/funding/export.csv",
    "/funding/totals.csv",
    "/api/v1/funding/",
    "/api/v1/funding/totals/",
)


@pytest.fixture
def records():
    region = RegionFactory(slug="south")
    country = CountryFactory(iso_code="TR", region=region)
    theme = ThemeFactory(slug="returns")
    instrument = InstrumentFactory(slug="ndici")
    parent = FundingRecordFactory(
        slug="package", title="Support package", regions=[region], countries=[country], themes=[theme]
    )
    FundingRecordFactory(slug="part", parent=parent, instrument=instrument, amount=1000)
    AgreementFactory(slug="agreement", parties=[country])
    DocumentFactory(slug="document")
    return region


# --- NUL bytes ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", sorted(LIST_PAGES))
def test_nul_in_any_filter_of_a_list_page_is_a_400(client, records, page):
    filterset, _others = LIST_PAGES[page]
    statuses = {name: client.get(page, {name: "a\x00b"}).status_code for name in filterset.base_filters}
    assert statuses == dict.fromkeys(statuses, 400)


def test_nul_in_a_search_is_a_400(client, records):
    assert client.get("/search/", {"q": "\x00"}).status_code == 400
    assert client.get("/search/", {"q": "support\x00"}).status_code == 400
    assert client.get("/api/v1/funding/", {"search": "\x00"}).status_code == 400


@pytest.mark.parametrize(
    "address", ["/api/v1/funding/", "/api/v1/funding/totals/", "/api/v1/agreements/", "/api/v1/documents/"]
)
def test_nul_in_any_api_filter_is_a_400(client, records, address):
    for name in ("region", "country", "year", "kind", "date_after", "theme", "amount_min", "parent"):
        assert client.get(address, {name: "\x00"}).status_code in (200, 400), name  # 200: no such filter
    assert client.get(address, {"region": "\x00"}).status_code == 400


# --- Numbers no column can hold -------------------------------------------------------------


@pytest.mark.parametrize("address", AMOUNT_ADDRESSES)
@pytest.mark.parametrize("value", NUMBERS_NO_COLUMN_HOLDS)
def test_amounts_no_column_can_hold_are_a_400(client, records, address, value):
    for name in ("amount_min", "amount_max"):
        response = client.get(address, {name: value})
        assert response.status_code == 400, (name, value, response.content[:300])
        assert name in response.content.decode()


@pytest.mark.parametrize("address", AMOUNT_ADDRESSES)
def test_amounts_the_column_holds_still_filter(client, records, address):
    assert client.get(address, {"amount_min": "999.99", "amount_max": "99999999999999.99"}).status_code == 200
    assert client.get(address, {"amount_min": "-5", "amount_max": "1e3"}).status_code == 200


def test_the_explorer_says_which_amount_it_cannot_use(client, records):
    response = client.get("/funding/", {"amount_min": "1e-999999"})
    assert response.status_code == 400
    assert "Some filters could not be used" in response.content.decode()


@pytest.mark.parametrize("value", ["1e-999999", "1e999999", "NaN", "Infinity", "0", "10000"])
def test_years_out_of_range_are_a_400(client, records, value):
    for address in (
        "/funding/?year=",
        "/documents/?year=",
        "/api/v1/sources/?year=",
        "/api/v1/conferences/?year=",
    ):
        assert client.get(address + quote(value)).status_code == 400, address


# --- Search terms ---------------------------------------------------------------------------


def test_api_search_takes_at_most_ten_terms_of_at_most_100_characters(client, records):
    url = "/api/v1/funding/"
    assert client.get(url, {"search": " ".join(["support"] * MAX_SEARCH_TERMS)}).status_code == 200
    too_many = client.get(url, {"search": " ".join(["support"] * (MAX_SEARCH_TERMS + 1))})
    assert too_many.status_code == 400
    assert "at most 10 words" in too_many.json()["search"][0]
    assert client.get(url, {"search": "x" * MAX_SEARCH_TERM_LENGTH}).status_code == 200
    too_long = client.get(url, {"search": "x" * (MAX_SEARCH_TERM_LENGTH + 1)})
    assert too_long.status_code == 400
    assert "100 characters" in too_long.json()["search"][0]
    # Commas separate terms too; a quoted phrase is one term.
    assert client.get(url, {"search": ",".join("abcdefghijk")}).status_code == 400
    assert client.get(url, {"search": '"' + " ".join("abcdefghijk") + '"'}).status_code == 200


def test_every_api_list_bounds_its_search(client, records):
    for address in ("/api/v1/funding/totals/", "/api/v1/agreements/", "/api/v1/themes/", "/api/v1/sources/"):
        assert client.get(address, {"search": "a " * 11}).status_code == 400, address


def test_search_page_runs_the_first_ten_words_and_shows_them(client, records):
    words = [f"word{n}" for n in range(1_900)]
    response = client.get("/search/", {"q": " ".join(words)})
    assert response.status_code == 200
    assert response.context["query"] == " ".join(words[:MAX_SEARCH_TERMS])
    long_word = client.get("/search/", {"q": "support " + "x" * 5000})
    assert long_word.context["query"] == "support " + "x" * MAX_SEARCH_TERM_LENGTH


# --- The admin's many-to-many filter --------------------------------------------------------


@pytest.mark.parametrize("model", [FundingRecord, Instrument, PledgingConference, Route, Agreement, Document])
def test_admin_many_to_many_filter_with_a_value_that_is_no_id_redirects_with_e1(admin_client, records, model):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    name = "regions" if any(f.name == "regions" for f in opts.many_to_many) else "themes"
    for value in ("abc", "\x00", "1.5", "99999999999999999999999", ""):
        response = admin_client.get(url, {f"{name}__id__exact": value})
        assert response.status_code in (200, 302), (value, response.status_code)
        if response.status_code == 302:
            assert response["Location"].endswith("?e=1")
    unknown = admin_client.get(url, {f"{name}__id__exact": "987654"})
    assert unknown.status_code == 200
    assert unknown.context["cl"].result_count == 0
    if name == "regions" and model is FundingRecord:
        matching = admin_client.get(url, {"regions__id__exact": str(records.pk)})
        assert matching.context["cl"].result_count == 1


# --- Generated input ------------------------------------------------------------------------

# Values a filter might choke on: text of any kind (NUL and other control characters, right-to-
# left marks, astral characters, lone surrogates sent as the bytes they would be), raw bytes that
# are not UTF-8, numbers in every notation and far out of range, and the slugs that exist.
_TEXT = st.one_of(
    st.text(max_size=40).map(lambda text: quote(text.encode("utf-8", "surrogatepass"))),
    st.binary(max_size=20).map(quote_from_bytes),
)
_NUMBERS = st.one_of(
    st.sampled_from(NUMBERS_NO_COLUMN_HOLDS),
    st.builds("{}e{}".format, st.integers(-(10**20), 10**20), st.integers(-(10**7), 10**7)),
    st.integers().map(str),
    st.decimals().map(str),
    st.floats().map(repr),
).map(quote)
_SLUGS = st.sampled_from(["south", "tr", "TR", "returns", "ndici", "package", "agreement", "document"])


def _values(field) -> st.SearchStrategy[str]:
    """Mostly what this form field expects, sometimes anything at all."""
    if isinstance(field, forms.DecimalField | forms.IntegerField):
        typed = _NUMBERS
    elif isinstance(field, forms.DateField):
        typed = st.one_of(st.dates().map(str), st.text("0123456789-", max_size=12))
    elif isinstance(field, forms.NullBooleanField):
        typed = st.sampled_from(["true", "false", "unknown", "1", "0", ""])
    elif isinstance(field, forms.ModelChoiceField):
        typed = _SLUGS
    elif isinstance(field, forms.ChoiceField):
        # The stubs type what ``choices`` gives as what it accepts; it gives (key, label) pairs.
        typed = st.sampled_from([str(key) for key, _label in field.choices] or [""])  # type: ignore[misc,union-attr]
    else:
        typed = _SLUGS
    return st.one_of(typed, typed, typed, _TEXT)


def _queries(filterset, others: tuple[str, ...]) -> st.SearchStrategy[str]:
    """One to three of the page's parameters: more at once and one bad value hides the others."""
    values = {name: _values(field) for name, field in filterset().form.fields.items()}
    values.update({name: st.one_of(_NUMBERS, st.sampled_from(["region", "last"]), _TEXT) for name in others})
    pairs = st.lists(st.sampled_from(sorted(values)), min_size=1, max_size=3, unique=True).flatmap(
        lambda names: st.tuples(*(st.tuples(st.just(name), values[name]) for name in names))
    )
    return pairs.map(lambda chosen: "&".join(f"{name}={value}" for name, value in chosen))


FUZZ_SETTINGS = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


@pytest.mark.parametrize("page", sorted(LIST_PAGES))
def test_generated_filters_never_give_a_server_error(records, page):
    filterset, others = LIST_PAGES[page]
    client = Client(raise_request_exception=False)

    @FUZZ_SETTINGS
    @given(query=_queries(filterset, others))
    def check(query):
        response = client.get(f"{page}?{query}")
        assert response.status_code in (200, 400, 404), (query, response.status_code)

    check()


def test_generated_searches_never_give_a_server_error(records):
    client = Client(raise_request_exception=False)

    @FUZZ_SETTINGS
    @given(query=st.lists(st.one_of(_TEXT, _SLUGS, _NUMBERS), max_size=30).map("+".join))
    def check(query):
        response = client.get(f"/search/?q={query}")
        assert response.status_code in (200, 400), (query, response.status_code)

    check()
