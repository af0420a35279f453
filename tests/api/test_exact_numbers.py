"""Amounts in JSON are the stored decimals, digit for digit (migrationsupport/exactjson.py): in
answers, in totals, in what a writer sends, and in webhook bodies. Each figure here has more
significant digits than a double holds (``float`` would make the first ``…999.98``)."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail, ParseError
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from funding.models import FundingRecord
from migrationsupport import exactjson
from migrationsupport.api_defaults import DecimalJSONParser, DecimalJSONRenderer
from migrationsupport.models import Status
from migrationsupport.webhooks.delivery import body_of
from migrationsupport.webhooks.models import Delivery, Subscription
from tests.api.support import API
from tests.factories import FundingRecordFactory, SourceFactory

pytestmark = pytest.mark.django_db

LARGEST = Decimal("99999999999999.99")  # max_digits=16, decimal_places=2


def test_an_amount_is_written_as_stored(api):
    FundingRecordFactory(slug="largest", amount=LARGEST)
    FundingRecordFactory(slug="round", amount=Decimal("60000000.00"))

    largest = api.get(f"{API}/funding/largest/")
    assert b'"amount":99999999999999.99,' in largest.content
    assert exactjson.loads(largest.content)["amount"] == LARGEST
    # The stored scale too: two decimals, not float's "60000000.0".
    assert b'"amount":60000000.00,' in api.get(f"{API}/funding/round/").content
    listed = api.get(f"{API}/funding/", {"ordering": "-amount"})
    assert exactjson.loads(listed.content)["results"][0]["amount"] == LARGEST


def test_a_total_beyond_a_doubles_digits_is_exact(api):
    FundingRecordFactory(amount=LARGEST, measure="committed")
    FundingRecordFactory(amount=Decimal("0.02"), measure="committed")

    answer = exactjson.loads(api.get(f"{API}/funding/totals/").content)

    (total,) = answer["totals"]
    assert total["lower"] == total["upper"] == Decimal("100000000000000.01")  # float: …000.02


def test_an_amount_sent_as_a_json_number_is_stored_exactly(staff_client):
    body = {
        "slug": "sent",
        "title": "Sent as a number",
        "kind": "package",
        "qualifier": "exact",
        "measure": "committed",
        "source_passage": "€99 999 999 999 999.99",
        "source": SourceFactory().slug,
    }
    # Raw JSON: the test client writes with DRF's renderer, which would send the nearest double.
    raw = json.dumps(body)[:-1] + ', "amount": 99999999999999.99}'
    response = staff_client("funding.add_fundingrecord").post(
        f"{API}/funding/", raw, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    assert FundingRecord.objects.get(slug="sent").amount == LARGEST
    assert b'"amount":99999999999999.99,' in response.content


def test_trailing_zeros_sent_are_no_extra_decimals(staff_client):
    record = FundingRecordFactory(slug="edited", amount=Decimal("5.00"), status=Status.DRAFT)

    response = staff_client("funding.change_fundingrecord").patch(
        f"{API}/funding/edited/", b'{"amount": 60000000.000}', content_type="application/json"
    )

    assert response.status_code == 200, response.content  # as when the number was read as a float
    record.refresh_from_db()
    assert record.amount == Decimal("60000000")


def test_a_webhook_body_keeps_every_digit_through_the_database(django_user_model):
    owner = django_user_model.objects.create_user("owner", is_staff=True)
    subscription = Subscription.objects.create(
        owner=owner, target_url="https://example.org/hook", name="Mirror", events=[], record_types=[]
    )
    delivery = Delivery.objects.create(
        subscription=subscription,
        event_type="updated",
        record_type="funding",
        record_id="x",
        payload={"record": {"amount": LARGEST, "share": Decimal("0.10"), "count": 3}},
    )

    stored = Delivery.objects.get(pk=delivery.pk).payload

    assert stored["record"]["amount"] == LARGEST
    assert body_of(stored) == '{"record":{"amount":99999999999999.99,"count":3,"share":0.10}}'


def test_the_renderer_escapes_line_separators_and_indents_when_asked():
    renderer = DecimalJSONRenderer()
    data = {"text": "a\u2028b\u2029c", "amount": Decimal("1.50")}

    assert renderer.render(data) == b'{"text":"a\\u2028b\\u2029c","amount":1.50}'
    assert renderer.render(data, "application/json; indent=4") == (
        b'{\n  "text": "a\\u2028b\\u2029c",\n  "amount": 1.50\n}'
    )
    assert renderer.render(None) == b""
    with pytest.raises(TypeError):  # orjson's error for a value it cannot write
        renderer.render({"amount": Decimal("NaN")})


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (b'{"amount": NaN}', "utf-8"),
        (b'{"amount": Infinity}', "utf-8"),
        (b'{"amount": 1', "utf-8"),
        (b"\xff", "utf-8"),
        (b'{"amount": 1}', "bz2_codec"),  # a codec Python has, but not one for text
    ],
)
def test_the_parser_refuses_what_is_not_json(text, encoding):
    with pytest.raises(ParseError):
        DecimalJSONParser().parse(BytesIO(text), parser_context={"encoding": encoding})


def test_everything_but_decimals_is_written_as_drfs_renderer_wrote_it():
    """What API answers hold besides decimals, through both renderers: the same bytes."""
    moment = datetime.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=datetime.UTC)
    data = ReturnDict(
        {
            "text": "Türkiye \u2028 «quoted» \x07 / \\",
            "lazy": gettext_lazy("Published"),
            "choice": Status.PUBLISHED,
            "when": moment,
            "local": moment.astimezone(datetime.timezone(datetime.timedelta(hours=2))),
            "day": datetime.date(2024, 5, 1),
            "time": datetime.time(9, 5, 7, 250000),
            "duration": datetime.timedelta(days=1, seconds=3),
            "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "numbers": [0, -1, 2**53 + 1, True, None],
            "nested": ReturnList([{"a": [], "b": {}}, ()], serializer=None),
            "errors": [ErrorDetail("Not valid.", code="invalid")],
            7: "a key that is no string",
        },
        serializer=None,
    )
    for media_type in (None, "application/json; indent=2"):
        assert DecimalJSONRenderer().render(data, media_type) == JSONRenderer().render(data, media_type)
