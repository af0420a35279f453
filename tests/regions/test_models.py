import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.factories import CountryFactory, PopulationFigureFactory, RegionFactory

pytestmark = pytest.mark.django_db


def test_iso_code_is_unique_and_two_capital_letters():
    CountryFactory(iso_code="BY")
    with pytest.raises(IntegrityError), transaction.atomic():
        CountryFactory(iso_code="BY")
    with pytest.raises(IntegrityError), transaction.atomic():
        CountryFactory(iso_code="by")


def test_unknown_shape_of_country_code_gets_a_field_error():
    country = CountryFactory.build(iso_code="BLR", source=CountryFactory().source, region=None)
    with pytest.raises(ValidationError) as excinfo:
        country.full_clean()
    assert "iso_code" in excinfo.value.message_dict


def test_only_a_member_can_withdraw_from_the_eastern_partnership():
    with pytest.raises(IntegrityError), transaction.atomic():
        CountryFactory(
            eastern_partnership_left=datetime.date(2021, 6, 1), eastern_partnership_left_precision="month"
        )


def test_belarus_withdrawal_and_suspension_render_as_the_seed_says():
    belarus = CountryFactory(
        name="Belarus",
        iso_code="BY",
        eastern_partnership_member=True,
        eastern_partnership_left=datetime.date(2021, 6, 1),
        eastern_partnership_left_precision="month",
        cooperation_status="suspended",
        cooperation_suspended_since=datetime.date(2020, 1, 1),
        cooperation_suspended_since_precision="year",
    )
    belarus.full_clean()
    assert str(belarus.partial_date("eastern_partnership_left")) == "June 2021"
    assert str(belarus.partial_date("cooperation_suspended_since")) == "2020"
    assert not belarus.is_eastern_partnership_participant
    assert belarus.get_absolute_url() == "/countries/by/"


def test_suspension_date_requires_suspended_status():
    country = CountryFactory()
    country.cooperation_suspended_since = datetime.date(2020, 1, 1)
    country.cooperation_suspended_since_precision = "year"
    with pytest.raises(ValidationError) as excinfo:
        country.full_clean()
    assert "cooperation_suspended_since" in excinfo.value.message_dict


def test_region_cannot_be_inside_itself():
    parent = RegionFactory()
    child = RegionFactory(parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError):
        parent.full_clean()


def test_population_figure_renders_with_qualifier():
    figure = PopulationFigureFactory(
        value=3_100_000, qualifier="about", wording="around", group="refugees from Syria"
    )
    assert str(figure.quantity) == "around 3.1\u00a0million"


def test_negative_population_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        PopulationFigureFactory(value=-1)
